"""`feedback customers export ID` and `feedback customers erase ID --reason …`: data requests
from the command line (the operator running them is the admin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

customers_app = typer.Typer(help="Data requests: export or erase one customer.",
                            no_args_is_help=True)


def _setup():  # type: ignore[no-untyped-def]
    from feedback.cli import prepared  # here: feedback.cli imports this module

    return prepared()


@customers_app.command("export")
def export_cmd(
    customer_id: int,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Everything held about one customer, as one JSON document."""
    from feedback.db import transaction
    from feedback.privacy import service
    from surveys.types import utcnow

    _, engine = _setup()
    with transaction(engine, write=False) as session:
        doc = service.export(session, customer_id, utcnow())
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=str)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")


@customers_app.command("erase")
def erase_cmd(
    customer_id: int,
    reason: Annotated[str, typer.Option(help="The request's reference, e.g. a ticket number.")],
    actor: Annotated[str, typer.Option(help="Who asked for it (recorded).")] = "cli",
) -> None:
    """Erase one customer's personal data; scores stay counted. Safe to run again."""
    from feedback.db import transaction
    from feedback.privacy import service
    from surveys.types import utcnow

    settings, engine = _setup()
    with transaction(engine) as session:
        result = service.erase(session, customer_id, reason=reason, actor=actor, now=utcnow(),
                               key=settings.secret_key)
    sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
