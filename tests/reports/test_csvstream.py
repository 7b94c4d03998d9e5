from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from feedback.reports.csvstream import BOM, format_cell, iter_csv, neutralise


def parse(chunks: Iterator[bytes]) -> list[list[str]]:
    text = b"".join(chunks).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    "evil",
    [
        '=HYPERLINK("http://x","y")',
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",
        "\uff1d1+1",
        "-",
        "- a bullet from a comment",
    ],
)
def test_formula_cells_are_neutralised(evil: str) -> None:
    assert neutralise(evil) == "'" + evil
    [_, row] = parse(iter_csv(["comment"], [[evil]]))
    assert row == ["'" + evil]


@pytest.mark.parametrize("safe", ["-40", "+3", "-0.5", "1e-3", " -12 ", "Anna", "", "a=b"])
def test_plain_text_and_numeric_strings_untouched(safe: str) -> None:
    assert neutralise(safe) == safe


def test_numbers_none_dates_and_enums() -> None:
    class Kind(StrEnum):
        NPS = "nps"

    when = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    row = [-40, -2.5, None, when, date(2024, 3, 1), True, Decimal("-1.50"), float("nan"), Kind.NPS]
    [_, out] = parse(iter_csv(list("abcdefghi"), [row]))
    assert out == [
        "-40",
        "-2.5",
        "",
        "2024-03-01T09:30:00+00:00",
        "2024-03-01",
        "true",
        "-1.50",
        "",
        "nps",
    ]
    assert format_cell(0) == "0"


def test_quoting_of_commas_quotes_and_newlines() -> None:
    tricky = 'He said "no", then\nleft; café ☕'
    [header, row] = parse(iter_csv(["name", "comment"], [["Zoë", tricky]]))
    assert header == ["name", "comment"] and row == ["Zoë", tricky]


def test_header_is_neutralised_too() -> None:
    [header] = parse(iter_csv(["=cmd()"], []))
    assert header == ["'=cmd()"]


def test_bom_only_when_asked_and_only_once() -> None:
    chunks = list(iter_csv(["a"], ([i] for i in range(5)), bom=True, rows_per_chunk=2))
    assert chunks[0].startswith(BOM)
    assert not any(c.startswith(BOM) for c in chunks[1:])
    assert not b"".join(iter_csv(["a"], [[1]])).startswith(BOM)
    # A header-only export still carries the BOM.
    assert list(iter_csv(["a"], [], bom=True)) == [BOM + b"a\r\n"]


def test_chunking_batches_rows_and_uses_crlf() -> None:
    chunks = list(iter_csv(["n"], ([i] for i in range(25)), rows_per_chunk=10))
    # Header rides with the first batch: [header + 10], [10], [5].
    assert [c.count(b"\r\n") for c in chunks] == [11, 10, 5]
    assert all(isinstance(c, bytes) for c in chunks)
    assert parse(iter(chunks))[1:] == [[str(i)] for i in range(25)]
    with pytest.raises(ValueError):
        list(iter_csv(["n"], [], rows_per_chunk=0))


def test_million_rows_stream_lazily() -> None:
    consumed = 0

    def rows() -> Iterator[tuple[int, str]]:
        nonlocal consumed
        for i in range(1_000_000):
            consumed += 1
            yield i, "-5"

    stream = iter_csv(["id", "score"], rows(), rows_per_chunk=500)
    assert inspect.isgenerator(stream)
    assert consumed == 0  # nothing is read before the first chunk is asked for
    first, second, third = next(stream), next(stream), next(stream)
    assert first.startswith(b"id,score\r\n0,-5\r\n")
    assert len(second) > 0 and len(third) > 0
    # At most one batch of read-ahead: the million rows were never materialised.
    assert consumed <= 3 * 500 + 1
    stream.close()
