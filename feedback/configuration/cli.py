"""`feedback config export [--out FILE]` and `feedback config import FILE`: the rules and
surveys edited in the product, as a file teams can keep in git."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

config_app = typer.Typer(help="Rules and surveys as a file (configuration as code).",
                         no_args_is_help=True)


def _setup():  # type: ignore[no-untyped-def]
    from feedback.cli import prepared  # here: feedback.cli imports this module

    return prepared()


@config_app.command("export")
def export_cmd(
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Write the distribution rules and every edited survey as one JSON document."""
    from feedback.configuration import transfer
    from feedback.db import transaction
    from surveys.types import utcnow

    settings, engine = _setup()
    with transaction(engine, write=False) as session:
        doc = transfer.export(session, settings, utcnow())
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


@config_app.command("import")
def import_cmd(
    file: Path,
    actor: Annotated[str, typer.Option(help="Who is importing (recorded with each version).")] = "feedback config import",
) -> None:
    """Make the database's rules and surveys say what FILE says (all or nothing)."""
    from feedback.configuration import transfer
    from feedback.db import transaction
    from surveys.errors import DomainError
    from surveys.types import utcnow

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        sys.stderr.write(f"{file}: {exc}\n")
        raise typer.Exit(2) from None
    settings, engine = _setup()
    try:
        with transaction(engine) as session:
            report = transfer.import_document(session, doc, by=actor, now=utcnow(),
                                              settings=settings)
    except DomainError as exc:
        sys.stderr.write(f"{file}: {exc.message}\n")
        raise typer.Exit(1) from None
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
