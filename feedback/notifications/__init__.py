"""A durable notification outbox: rows first, sending later by a job, exactly once per key.

`enqueue(session, ...)` inserts in the caller's transaction (so a notification exists iff the
change that caused it committed); `delivery.deliver_due` claims due rows with a lease, sends
them and retries with backoff until delivered or out of attempts.
"""
