"""Shared seeding of the report benchmarks: a year of synthetic contacts, surveys and answers
loaded server-side with `INSERT … SELECT generate_series` (no round trip per row).

`reports_bench.py` and `operations_bench.py` load the same shapes; each picks how many
interactions get a survey and how many surveys are answered. As in a real contact centre,
each of the 200 agents and 15 queues belongs to one of the 5 teams; channels, survey kinds and
contact reasons cut across teams. (A leading underscore: CI does not run this file.)
"""

from __future__ import annotations

import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
YEAR_START = "2025-11-20 00:00:00+00"

CUSTOMERS = """
    INSERT INTO customer (id, external_id, locale, created_at, updated_at)
    SELECT g, 'C-' || g, 'en', now(), now() FROM generate_series(1, :customers) g"""

# 7 % abandoned (a third of them within 5 s), talk/hold/wrap spread per agent, 0-3 transfers,
# five reasons; customers repeat (n / 5 customers), so inferred FCR has work to do.
INTERACTIONS = """
    INSERT INTO interaction (id, external_id, customer_id, channel, agent, team, queue,
                             occurred_at, created_at, updated_at, wait_seconds, talk_seconds,
                             hold_seconds, wrap_seconds, abandoned, transfers, resolved,
                             contact_reason, first_response_seconds)
    SELECT g, 'I-' || g, 1 + (g::bigint * 7919) % :customers,
           (ARRAY['phone','phone','chat','email'])[1 + g % 4],
           'agent-' || (g % 5) || '-' || ((g / 7) % 40),
           (ARRAY['Billing','Support','Sales','Retention','Tech'])[1 + g % 5],
           'q' || (g % 5) || '-' || ((g / 5) % 3), t, now(), now(),
           CASE WHEN g % 4 < 3 THEN CASE WHEN g % 100 < 3 THEN 1 + g % 5 ELSE (g * 37) % 600 END END,
           CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN 60 + (g * 13) % 600 END,
           CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN (g * 17) % 120 END,
           CASE WHEN g % 4 < 3 AND g % 100 >= 7 THEN 10 + (g * 19) % 90 END,
           CASE WHEN g % 4 < 3 THEN g % 100 < 7 END,
           CASE WHEN g % 100 >= 7 THEN (ARRAY[0,0,0,0,0,0,1,1,2,3])[1 + (g * 3) % 10] END,
           CASE WHEN g % 100 >= 7 THEN (g * 11) % 10 < 7 END,
           (ARRAY['billing','delivery','account','technical','cancellation'])[1 + (g * 5) % 5],
           CASE WHEN g % 4 = 3 THEN (g * 23) % 7200 END
    FROM (SELECT g, CAST(:start AS timestamptz)
                    + interval '1 second' * (g::float8 * 31536000 / :interactions) AS t
          FROM generate_series(1, :interactions) g) s"""

# A survey for every `surveyed`-th interaction, answered when id % 7 < `answered_of_7`.
INVITATIONS = """
    INSERT INTO invitation (id, token, purpose, customer_id, interaction_id, survey_id, channel,
                            locale, status, send_at, expires_at, attempts, sent_at, answered_at,
                            created_at, updated_at)
    SELECT i.id, md5(i.id::text), 'survey', i.customer_id, i.id,
           (SELECT id FROM survey_definition WHERE kind = (ARRAY['nps','csat','ces'])[1 + i.id % 3]
            ORDER BY id LIMIT 1),
           'email', 'en', CASE WHEN i.id % 7 < :answered_of_7 THEN 'answered' ELSE 'sent' END,
           i.occurred_at, i.occurred_at + interval '7 days', 1,
           i.occurred_at + interval '30 minutes',
           CASE WHEN i.id % 7 < :answered_of_7 THEN i.occurred_at + interval '2 hours' END,
           now(), now()
    FROM interaction i WHERE i.id % :surveyed = 0"""

# One answer per answered invitation: a score per kind, a comment on every third, the
# customer's "was it resolved?" on four in five.
RESPONSES = """
    INSERT INTO response (id, invitation_id, customer_id, interaction_id, survey_id, kind, score,
                          classification, comment, source, locale, team, agent, channel, queue,
                          purpose, resolved, submitted_at)
    SELECT row_number() OVER (ORDER BY v.id), v.id, v.customer_id, v.id, v.survey_id, d.kind, sc,
           CASE d.kind
             WHEN 'nps' THEN CASE WHEN sc >= 9 THEN 'promoter' WHEN sc >= 7 THEN 'passive' ELSE 'detractor' END
             WHEN 'csat' THEN CASE WHEN sc >= 4 THEN 'satisfied' WHEN sc = 3 THEN 'neutral' ELSE 'dissatisfied' END
             ELSE CASE WHEN sc >= 5 THEN 'easy' WHEN sc = 4 THEN 'neutral' ELSE 'difficult' END END,
           CASE WHEN v.id % 3 = 0 THEN 'comment number ' || v.id END, 'web', 'en',
           i.team, i.agent, i.channel, i.queue, 'survey',
           CASE WHEN v.id % 5 <> 0 THEN (v.id * 7) % 10 < 6 END, v.answered_at
    FROM invitation v JOIN interaction i ON i.id = v.interaction_id
    JOIN survey_definition d ON d.id = v.survey_id,
    LATERAL (SELECT CASE d.kind WHEN 'nps' THEN (v.id * 7) % 11 WHEN 'csat' THEN 1 + (v.id * 3) % 5
                    ELSE 1 + (v.id * 5) % 7 END AS sc) s
    WHERE v.answered_at IS NOT NULL"""


def load(engine: sa.Engine, statements: list[str], params: dict[str, object],
         tables: tuple[str, ...]) -> dict[str, int]:
    """Run the statements in one transaction, move the id sequences past the loaded rows (so
    the app can insert after them), analyse, and return the row count of each table."""
    with engine.begin() as conn:
        for stmt in statements:
            conn.execute(sa.text(stmt), {k: v for k, v in params.items() if f":{k}" in stmt})
        for table in tables:
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in tables}


def percentiles(times: list[float]) -> tuple[float, float]:
    """(p50, p95) of timings."""
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
