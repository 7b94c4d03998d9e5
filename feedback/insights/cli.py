"""`feedback themes train|classify|discover`: the stable file-in, file-out contract.

CSV files are UTF-8 with a header and a `text` column; training files also have `themes`
(`|`-separated `theme` or `theme:sentiment`, empty for none) and may have `classification`
(promoter, detractor, …) to bootstrap sentiment when no mention carries one. Every other column
passes through to the output. A bad file stops with one line naming the file and the problem,
and exit status 2.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Annotated

import typer

from surveys.errors import DomainError, ValidationFailed

themes_app = typer.Typer(help="Train, apply and discover comment themes.", no_args_is_help=True)
EXIT_BAD_INPUT = 2


class BadFile(DomainError):
    status_code = 422
    code = "bad_file"


def read_rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV file that has the required columns and data."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadFile(f"{path}: cannot read ({exc.strerror})") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadFile(f"{path}: not UTF-8 text (bad byte 0x{raw[exc.start]:02x} at offset "
                      f"{exc.start}); save the file as UTF-8 CSV") from None
    if not content.strip():
        raise BadFile(f"{path}: the file is empty; expected a header with a `text` column")
    try:
        reader = csv.DictReader(io.StringIO(content, newline=""))
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [{k: v or "" for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as exc:
        raise BadFile(f"{path}: not a valid CSV file ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise BadFile(f"{path}: missing column {', '.join(repr(c) for c in missing)} "
                      f"(found: {', '.join(header) or 'none'})")
    if not rows:
        raise BadFile(f"{path}: the file has a header but no rows")
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise BadFile(f"{path}: cannot write ({exc.strerror})") from None


def _fail(exc: DomainError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _with_column(header: list[str], name: str) -> list[str]:
    return header if name in header else [*header, name]


@themes_app.command("train")
def train_cmd(
    input: Annotated[Path, typer.Option("--input", help="Labelled CSV: text, themes.")],
    model: Annotated[Path, typer.Option("--model", help="Where to write the model file.")],
    embeddings: Annotated[bool, typer.Option(
        "--embeddings", help="Add sentence embeddings to the theme features (needs "
        "pip install 'feedback[embeddings]'; slower, see the theme benchmark).")] = False,
) -> None:
    """Train a theme (+ sentiment) model from labelled comments."""
    from feedback.insights.training import Example, parse_labels, train

    try:
        _, rows = read_rows(input, ("text", "themes"))
        examples = [Example(row["text"], parse_labels(row["themes"], where=f"{input} row {n}"),
                            row.get("classification") or None)
                    for n, row in enumerate(rows, start=2)]
        trained = train(examples, embeddings=embeddings)
        trained.save(model)
    except DomainError as exc:
        _fail(exc)
        return
    ev = trained.evaluation
    figures = f", held-out micro-F1 {ev['micro_f1']}" if "micro_f1" in ev else ""
    typer.echo(f"trained {len(trained.themes)} themes on {len(examples)} comments{figures}; "
               f"wrote {model}", err=True)


@themes_app.command("classify")
def classify_cmd(
    model: Annotated[Path, typer.Option("--model", help="A model file from `themes train`.")],
    input: Annotated[Path, typer.Option("--input", help="CSV with a text column.")],
    output: Annotated[Path, typer.Option("--output", help="CSV to write (adds `themes`).")],
) -> None:
    """Tag each comment with its themes (and per-theme sentiment when the model has it)."""
    from feedback.insights.model import ThemeModel
    from feedback.insights.training import format_labels

    try:
        loaded = ThemeModel.load(model)
        header, rows = read_rows(input, ("text",))
        predicted = loaded.predict([row["text"] for row in rows])
        for row, mentions in zip(rows, predicted, strict=True):
            row["themes"] = format_labels([(m.theme, m.sentiment) for m in mentions])
        write_rows(output, _with_column(header, "themes"), rows)
    except DomainError as exc:
        _fail(exc)


@themes_app.command("discover")
def discover_cmd(
    input: Annotated[Path, typer.Option("--input", help="CSV with a text column.")],
    output: Annotated[Path, typer.Option("--output", help="CSV to write (adds `theme`).")],
    k: Annotated[int | None, typer.Option("--k", min=2, help="Number of themes (default: automatic).")] = None,
    embeddings: Annotated[bool, typer.Option(
        "--embeddings", help="Cluster on sentence embeddings beside the words (needs "
        "pip install 'feedback[embeddings]'; tens of comments/s to encode).")] = False,
) -> None:
    """Propose themes from unlabelled comments: one readable theme label per row."""
    from feedback.insights.discovery import discover

    try:
        header, rows = read_rows(input, ("text",))
        embed = None
        if embeddings:
            from feedback.insights import embeddings as emb

            if not emb.available():
                raise ValidationFailed("sentence embeddings need the optional package: "
                                    "pip install 'feedback[embeddings]'", field="embeddings")
            embed = emb.encode
        found = discover([row["text"] for row in rows], k=k, embed=embed)
        for row, label in zip(rows, found.row_labels(), strict=True):
            row["theme"] = label
        write_rows(output, _with_column(header, "theme"), rows)
    except DomainError as exc:
        _fail(exc)
    summary = ", ".join(f"{c.label} ({c.size})" for c in found.clusters[:10])
    typer.echo(f"{len(found.clusters)} themes: {summary}", err=True)
