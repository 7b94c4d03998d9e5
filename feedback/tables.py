"""Imports every module that defines tables, so `SQLModel.metadata` is complete.

Alembic's autogenerate and the schema-drift test read the metadata through this module.
"""

from __future__ import annotations

from sqlmodel import SQLModel


def metadata() -> object:
    import feedback.auth.models  # noqa: F401
    import feedback.configuration.models  # noqa: F401
    import feedback.health.models  # noqa: F401
    import feedback.inbound.models  # noqa: F401
    import feedback.ingest.models  # noqa: F401
    import feedback.insights.models  # noqa: F401
    import feedback.integrations.models  # noqa: F401
    import feedback.operations.rollup_models  # noqa: F401
    import feedback.privacy.models  # noqa: F401
    import feedback.recovery.models  # noqa: F401
    import feedback.reports.models  # noqa: F401
    import outreach.models  # noqa: F401
    import surveys.models  # noqa: F401

    return SQLModel.metadata
