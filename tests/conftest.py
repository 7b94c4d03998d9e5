"""Root fixtures. Support plugins live in tests/support and are registered here."""

pytest_plugins = [
    "tests.support.prism",
    "tests.support.smtp",
]
