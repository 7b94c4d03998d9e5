"""The dispatcher fixture of the outreach tests, reused for the pipeline health tests."""

from tests.outreach.conftest import make_dispatcher  # noqa: F401
