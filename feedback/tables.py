"""Imports every module that defines tables, so `SQLModel.metadata` is complete.

Alembic's autogenerate and the schema-drift test read the metadata through this module.
"""

from __future__ import annotations

from sqlmodel import SQLModel


def metadata() -> object:
    import feedback.auth.models  # noqa: F401
    import surveys.models  # noqa: F401

    for optional in (
        "outreach.models",
        "feedback.recovery.models",
        "feedback.insights.models",
        "feedback.reports.models",
        "feedback.inbound.models",
        "feedback.health.models",
        "feedback.privacy.models",
        "feedback.integrations.models",
        "feedback.operations.rollup_models",
        "feedback.configuration.models",
    ):
        try:
            __import__(optional)
        except ModuleNotFoundError as exc:  # a domain that has no tables yet
            if exc.name != optional:
                raise
    return SQLModel.metadata
