"""Property-based fuzzing of the whole JSON API (issue #10) with schemathesis, on both engines.

The app's own document (/schema/openapi.json) drives it: for every operation, cases that fit
the schema and cases that do not are sent with the admin key, in-process, over a database
holding one of each kind of row (so `1` is a real id). Every response must be no 5xx, carry a
documented status and content type, and match the documented schema. Bounded and reproducible:
fixed seed, a fixed number of examples per operation and mode, no deadline, no example
database — about half a minute per engine. Raise FUZZ_EXAMPLES locally for a deeper run.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_invitation

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SEED = 20261201
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
ADMIN = {"Authorization": "Bearer test-admin-key"}


def _seed_rows(session: Any, settings: Any, clock: Any, engine: Any) -> None:
    from feedback.insights.models import Theme
    from feedback.responses import record_response
    from tests.support.followups import run_followups

    inv = make_invitation(session, settings, clock.now)
    record_response(session, inv, score=2, comment="waited an hour", source="web",
                    now=clock.now, settings=settings)  # a detractor: recovery task 1
    session.add(Theme(name="Waiting", keywords=["wait"]))
    session.commit()
    run_followups(engine, settings, clock)


@pytest.mark.slow
def test_the_api_never_answers_5xx_or_off_schema(app: Any, session: Any, settings: Any,
                                                 clock: Any, engine: Any) -> None:
    _seed_rows(session, settings, clock, engine)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    problems: list[str] = []

    def record(case: Any) -> None:
        try:
            case.call_and_validate(headers=ADMIN, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # collected, reported together below
            first = str(exc).strip().splitlines()[:6]
            problems.append(f"{case.method} {case.formatted_path} {case.query or ''}: "
                            + " | ".join(first))

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                                 phases=[Phase.generate], derandomize=False,
                                 suppress_health_check=list(HealthCheck))
            @hypothesis.seed(SEED)
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                record(case)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # Nothing of this operation can be made invalid (no parameters, any body).
                assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    # One line per problem, so a failure lists every operation that misbehaved at once.
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(sorted(set(problems))[:60])
