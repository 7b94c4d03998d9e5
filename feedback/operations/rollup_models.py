"""Daily rollups of the operations report, per local day of the report time zone.

A day is rolled up once it has ended (local time); only today is read live. Every measure of a
past day is final then except inferred FCR, which needs the repeat window (7 days) after each
contact: a day younger than that is *provisional*. Its rows count the contacts that already
came back (a repeat is known the moment it arrives: the new contact marks the window before
it for recomputation) but no contact as resolved yet; the reader adds the contacts whose
window has closed since from raw rows, at most a day of them (see `repository.grouped`). Once
the window after its last contact has passed, the job recomputes the day and it is *settled*.

Three grains, because one key with every dimension would hold about a row per contact (an agent
has a dozen contacts a day, spread over channels, queues and reasons) and save nothing:

- `ops_daily` (day, team, channel, queue, contact_reason): KPIs and FCR views; serves every
  breakdown but agent, with team / channel / queue filters. A few hundred rows a day.
- `ops_agent_daily` (day, team, agent): the same measures per agent (breakdown by agent, the
  scorecard, an agent filter). One row per agent a day.
- `ops_satisfaction_daily` (day, kind, team, dimension, value): survey answers about the day's
  contacts per band of each operational lever (dimension aht, wait, transfers, fcr_agent,
  fcr_customer) and per agent (dimension agent), for "operations x satisfaction".

A request whose filters a grain does not hold (say, channel and agent at once) reads live rows.
Rows are never updated: the job deletes and re-inserts whole days, readers always SUM. Once a
calendar month is rolled up, each table also holds its month rows (`span` "m"): a request
reads them for the whole months of its period and day rows only for the days at either end.

`ops_rollup_state` says how far the rollups reach and which interaction / response ids they
have seen (as `report_rollup_state` does for the dashboard). `ops_rollup_dirty` takes what ids
cannot reveal: an existing interaction re-sent with other facts or another time, a corrected
score. Each change is its own row (no unique key, so concurrent writers never wait on each
other); the job recomputes the days around `at` and deletes exactly the rows it read.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from feedback.operations.models import FCR_MEASURES, QUEUE_MEASURES, SATISFACTION_MEASURES
from surveys.types import UTCDateTime

META = SQLModel.metadata


def _dims(*names: str) -> list[sa.Column]:
    widths = {"team": 200, "agent": 200, "channel": 20, "queue": 200, "contact_reason": 200,
              "kind": 10, "dimension": 20, "value": 200}
    return [sa.Column(n, sa.String(widths[n]), nullable=True) for n in names]


def _measures(names: tuple[str, ...]) -> list[sa.Column]:
    # BigInteger: a sum of squared seconds over a busy day overflows 32 bits.
    return [sa.Column(n, sa.BigInteger, nullable=False, server_default="0") for n in names]


DAY, MONTH = "d", "m"


def _table(name: str, dims: tuple[str, ...], measures: tuple[str, ...]) -> sa.Table:
    return sa.Table(
        name, META,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False, index=True),
        # "d": the row covers `day`; "m": the whole calendar month starting at `day` (the sum
        # of its day rows, kept once the month is rolled up, so a year reads 12 rows per key
        # instead of 365).
        sa.Column("span", sa.String(1), nullable=False, server_default=DAY),
        *_dims(*dims), *_measures(measures),
        sa.Index(f"ix_{name}_span_day", "span", "day"))


OPS_DIMS = ("team", "channel", "queue", "contact_reason")
AGENT_DIMS = ("team", "agent")
SAT_DIMS = ("kind", "team", "dimension", "value")

OPS_DAILY = _table("ops_daily", OPS_DIMS, QUEUE_MEASURES + FCR_MEASURES)
OPS_AGENT_DAILY = _table("ops_agent_daily", AGENT_DIMS, QUEUE_MEASURES + FCR_MEASURES)
OPS_SATISFACTION_DAILY = _table("ops_satisfaction_daily", SAT_DIMS, SATISFACTION_MEASURES)
ROLLUPS = (OPS_DAILY, OPS_AGENT_DAILY, OPS_SATISFACTION_DAILY)

OPS_ROLLUP_STATE = sa.Table(
    "ops_rollup_state", META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("time_zone", sa.String(64), nullable=False),
    # Every local day before it is in the rollups.
    sa.Column("rolled_through", sa.Date, nullable=True),
    # Rolled-up days before it are settled (inferred FCR final); from it on they are
    # provisional: no contact without a repeat counted as resolved yet.
    sa.Column("settled_through", sa.Date, nullable=True),
    # Highest ids seen by the last run; rows above them are read live from their day on.
    sa.Column("interaction_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("response_id", sa.BigInteger, nullable=False, server_default="0"),
    # Ids below which every transaction had committed (rescanned from here, see the job).
    sa.Column("safe_interaction_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("safe_response_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending_interaction_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending_response_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=True),
)

OPS_ROLLUP_DIRTY = sa.Table(
    "ops_rollup_dirty", META,
    sa.Column("id", sa.Integer, primary_key=True),
    # When the changed contact happened (UTC): its day and the repeat window before it change.
    sa.Column("at", UTCDateTime(), nullable=False, index=True),
)
