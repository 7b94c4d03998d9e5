"""Configuration has no scheduled jobs: a change takes effect through the counter row that
every process checks on read (see repository.py), not through a job that pushes it."""

JOBS: list[object] = []
