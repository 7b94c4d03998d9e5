"""The follow-ups of an answer: what the application does after a customer answers (theme
tagging, the `response.created` event, a recovery task), run after commit from the outbox.

See `feedback.followups.service` for the flow and the time bound.
"""
