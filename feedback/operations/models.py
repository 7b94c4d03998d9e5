"""Operations' facts are optional columns of `interaction` (offered_at, answered_at,
wait/talk/hold/wrap seconds, abandoned, transfers, resolved, contact_reason,
first_response_seconds) and the customer's "was it resolved?" on `response`, both in
`surveys.models`, so ingest writes one row per contact. Its own tables are daily rollups of
those facts (`rollup_models`), which the report reads for settled days.

This module names the conventions every operations figure shares.
"""

from __future__ import annotations

from datetime import timedelta

from surveys.models import Interaction

ITX = Interaction.__table__  # type: ignore[attr-defined]

# An abandon within this many seconds is a misdial or a change of mind, not a customer the
# centre failed: the industry formulas leave it out of abandonment and AHT alike.
SHORT_ABANDON_SECONDS = 5
# Inferred FCR: a contact counts as resolved when the same customer does not come back on the
# same reason within this window (elapsed time; a daylight-saving change neither adds nor
# removes an hour).
DEFAULT_REPEAT_WINDOW = timedelta(days=7)
MAX_REPEAT_WINDOW_DAYS = 90
# Customer-reported FCR: the survey's own yes/no extra question with this id ("Was your issue
# resolved?", answered on the page or by SMS), else the page's built-in one (`response.resolved`).
RESOLVED_QUESTION = "resolved"
# Async channels answer in writing: first response time instead of ASA.
ASYNC_CHANNELS = ("chat", "email", "ticket")

# Bands for "operations x satisfaction" (lower bound inclusive, seconds; last band open).
AHT_BANDS = ((0, "< 4 min"), (240, "4–8 min"), (480, "8–12 min"), (720, "12 min +"))
WAIT_BANDS = ((0, "< 30 s"), (30, "30 s – 2 min"), (120, "2–5 min"), (300, "5 min +"))
TRANSFER_BANDS = ((0, "0"), (1, "1"), (2, "2+"))
BREAKDOWNS = ("team", "agent", "queue", "channel", "contact_reason")

# The sufficient statistics of a set of contacts, as rollup columns: `QueueCounts`' fields,
# then the FCR views of `repository.fcr_views` (same order as the SELECTs that fill them).
QUEUE_MEASURES = ("contacts", "offered", "handled", "abandoned", "short_abandons", "wait_n",
                  "wait_sum", "wait_sumsq", "handle_n", "handle_sum", "handle_sumsq",
                  "transfers_n", "transfers_sum", "transferred", "resolved_n", "resolved_yes",
                  "frt_n", "frt_sum", "frt_sumsq", "blocked")
FCR_MEASURES = ("agent_n", "agent_yes", "customer_n", "customer_yes", "inferred_n",
                "inferred_yes", "agent_yes_customer_no", "agent_no_customer_yes",
                "agent_customer_n", "agent_yes_inferred_no", "agent_no_inferred_yes",
                "agent_inferred_n")
SATISFACTION_MEASURES = ("n", "positive", "negative", "score_sum", "score_sumsq")
