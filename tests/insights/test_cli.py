"""`feedback themes train|classify|discover`: the file contract and every bad-file case."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.data.survey_comments import generate, write_csv
from feedback.insights.cli import themes_app

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(themes_app, [str(a) for a in args])
    return result.exit_code, result.output


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    write_csv(str(folder / "train.csv"), generate(1200, seed=11))
    code, out = run("train", "--input", folder / "train.csv", "--model", folder / "model.npz")
    assert code == 0, out
    assert "held-out micro-F1" in out
    return folder / "model.npz"


def test_classify_round_trip_passes_other_columns(trained: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,text,channel\n1,\"The agent was rude, and charged twice this month\",sms\n"
                   "2,n/a,email\n3,快递太慢了,web\n", encoding="utf-8")
    code, out = run("classify", "--model", trained, "--input", src, "--output", tmp_path / "o.csv")
    assert code == 0, out
    rows = read(tmp_path / "o.csv")
    assert list(rows[0]) == ["id", "text", "channel", "themes"]
    assert rows[0]["themes"].split("|") == ["billing:negative", "staff_attitude:negative"]
    assert rows[1] == {"id": "2", "text": "n/a", "channel": "email", "themes": ""}
    assert rows[2]["themes"] == "delivery:negative"


def test_discover_writes_one_theme_per_row(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    write_csv(str(src), generate(400, seed=2))
    code, out = run("discover", "--input", src, "--output", tmp_path / "d.csv", "--k", "6")
    assert code == 0, out
    rows = read(tmp_path / "d.csv")
    assert len(rows) == 400 and list(rows[0])[-1] == "theme"
    assert len({r["theme"] for r in rows if r["theme"]}) == 6
    assert "6 themes:" in out


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"   \n", "the file is empty"),
    (b"comment,score\nhello,3\n", "missing column 'text' (found: comment, score)"),
    (b"text\n", "has a header but no rows"),
    ("text\ncaf\u00e9 tr\u00e8s lent\n".encode("latin-1"), "not UTF-8 text (bad byte 0xe9"),
])
@pytest.mark.parametrize("command", ["classify", "discover"])
def test_bad_input_files(command: str, content: bytes, message: str, trained: Path,
                         tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(content)
    args = ["--input", src, "--output", tmp_path / "o.csv"]
    if command == "classify":
        args = ["--model", trained, *args]
    code, out = run(command, *args)
    assert code == 2
    assert message in out and str(src) in out
    assert not (tmp_path / "o.csv").exists()


def test_missing_input_file(trained: Path, tmp_path: Path) -> None:
    code, out = run("classify", "--model", trained, "--input", tmp_path / "nope.csv",
                    "--output", tmp_path / "o.csv")
    assert code == 2 and "cannot read" in out


@pytest.mark.parametrize("content, message", [
    (b"text\nhello\n", "missing column 'themes'"),
    (b"text,themes\nhello,billing:furious\n", "row 2: sentiment 'furious'"),
    (b"text,themes\nhello,\nworld,\n", "no example carries a theme label"),
])
def test_bad_training_files(content: bytes, message: str, tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    src.write_bytes(content)
    code, out = run("train", "--input", src, "--model", tmp_path / "m.npz")
    assert code == 2 and message in out
    assert not (tmp_path / "m.npz").exists()


def test_unwritable_model_path(tmp_path: Path) -> None:
    src = tmp_path / "train.csv"
    write_csv(str(src), generate(100, seed=1))
    code, out = run("train", "--input", src, "--model", tmp_path / "missing-dir" / "m.npz")
    assert code == 2 and "cannot write model file" in out


def test_unreadable_model(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("text\nhello\n", encoding="utf-8")
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"\x80\x04 a pickle, not ours")
    code, out = run("classify", "--model", bad, "--input", src, "--output", tmp_path / "o.csv")
    assert code == 2 and "is not a theme model file" in out
    code, out = run("classify", "--model", tmp_path / "absent.npz", "--input", src,
                    "--output", tmp_path / "o.csv")
    assert code == 2 and "cannot read model file" in out


def test_discover_too_few_comments(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("text\nhello\n\n", encoding="utf-8")
    code, out = run("discover", "--input", src, "--output", tmp_path / "o.csv")
    assert code == 2 and "too few comments" in out


def test_discover_with_embeddings_needs_the_extra(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from feedback.insights import embeddings

    monkeypatch.setattr(embeddings, "available", lambda: False)
    src = tmp_path / "in.csv"
    write_csv(str(src), generate(50, seed=2))
    code, out = run("discover", "--input", src, "--output", tmp_path / "o.csv", "--embeddings")
    assert code == 2 and "pip install 'feedback[embeddings]'" in out
    assert not (tmp_path / "o.csv").exists()
