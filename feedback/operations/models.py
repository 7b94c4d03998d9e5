"""Operations has no tables of its own: its facts are optional columns of `interaction`
(offered_at, answered_at, wait/talk/hold/wrap seconds, abandoned, transfers, resolved,
contact_reason, first_response_seconds) and the customer's "was it resolved?" on `response`,
both in `surveys.models`, so ingest writes one row per contact and reports read one table.

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
# Async channels answer in writing: first response time instead of ASA.
ASYNC_CHANNELS = ("chat", "email", "ticket")

# Bands for "operations x satisfaction" (lower bound inclusive, seconds; last band open).
AHT_BANDS = ((0, "< 4 min"), (240, "4–8 min"), (480, "8–12 min"), (720, "12 min +"))
WAIT_BANDS = ((0, "< 30 s"), (30, "30 s – 2 min"), (120, "2–5 min"), (300, "5 min +"))
TRANSFER_BANDS = ((0, "0"), (1, "1"), (2, "2+"))
BREAKDOWNS = ("team", "agent", "queue", "channel", "contact_reason")
