"""Theme benchmark: quality on two labelled sets, speed on one core.

    python benchmarks/themes_bench.py [--smoke]

Sets: the NHS Friends-and-Family-Test comments (read from ../shared/datasets/, skipped with a
message when absent; 80/20 split, seed 42; sentiment 1–2 → positive, 3 → neutral, 4–5 →
negative) and the generated multi-industry set in benchmarks/data (with Chinese and Persian).
Reports micro/macro-F1 of theme detection, comment sentiment accuracy, discovery NMI against
the first label, training time, classification comments/s on one core, discovery time and
peak memory. --smoke runs small sizes in well under a minute.
"""

from __future__ import annotations

import os

# One core: BLAS and OpenMP threads off before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import normalized_mutual_info_score  # noqa: E402

from benchmarks.data.survey_comments import generate  # noqa: E402
from feedback.insights.discovery import discover  # noqa: E402
from feedback.insights.training import Example, evaluate, train  # noqa: E402

NHS = Path(__file__).resolve().parents[1] / "../shared/datasets/nhs_fft_patient_feedback/v6framework_230831.csv"
NHS_SENTIMENT = {"1": "positive", "2": "positive", "3": "neutral", "4": "negative", "5": "negative"}


def load_nhs(path: Path) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    themes = [t for t in header[header.index("Not assigned"):] if t != "Labelling not possible"]
    out = []
    for r in rows:
        text = r["FFT answer"].strip()
        labels = [t for t in themes if r[t].strip() == "1"]
        if not text or text == "Did not answer" or not labels:
            continue
        sentiment = NHS_SENTIMENT.get(r["Comment sentiment"].strip())
        out.append(Example(text, [(t, sentiment) for t in labels]))
    return out


def own_set(n: int) -> list[Example]:
    return [Example(r.text, list(r.themes), r.classification) for r in generate(n, seed=7)]


def run_set(name: str, data: list[Example], k: int | None) -> None:
    random.Random(42).shuffle(data)
    n_test = len(data) // 5
    test, fit = data[:n_test], data[n_test:]
    t0 = time.perf_counter()
    model = train(fit)
    train_s = time.perf_counter() - t0
    ev = evaluate(model, test)
    t0 = time.perf_counter()
    found = discover([ex.text for ex in data], k=k)
    disc_s = time.perf_counter() - t0
    first = [ex.themes[0][0] if ex.themes else "" for ex in data]
    nmi = normalized_mutual_info_score(first, found.assignment)
    print(f"[{name}] train {len(fit)} / test {len(test)} comments, {len(model.themes)} themes")
    print(f"  micro-F1 {ev['micro_f1']:.3f}  macro-F1 {ev['macro_f1']:.3f}  "
          f"sentiment accuracy {ev.get('sentiment_accuracy', float('nan')):.3f}")
    print(f"  training {train_s:.1f} s (incl. held-out split, 3-fold threshold tuning, refit)")
    print(f"  discovery on {len(data)}: k={len(found.clusters)} NMI {nmi:.3f} in {disc_s:.1f} s; "
          f"largest: {', '.join(c.label for c in found.clusters[:4])}")


def speed(n_classify: int, n_discover: int) -> None:
    data = own_set(3000)
    model = train(data)
    texts = [r.text for r in generate(n_classify, seed=99)]
    rates = []
    for _ in range(2):  # first pass: cold token cache; second: a long-running worker's state
        t0 = time.perf_counter()
        for i in range(0, len(texts), 10_000):
            model.predict(texts[i:i + 10_000])
        rates.append(len(texts) / (time.perf_counter() - t0))
    print(f"[speed] classify {len(texts)} comments (themes + per-mention sentiment) on one "
          f"core: {rates[0]:,.0f}/s cold, {rates[1]:,.0f}/s warm")
    many = [r.text for r in generate(n_discover, seed=5)]
    t0 = time.perf_counter()
    found = discover(many)
    print(f"[speed] discovery on {len(many)} comments (k chosen automatically: "
          f"{len(found.clusters)}): {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    args = parser.parse_args()
    if NHS.exists():
        data = load_nhs(NHS)
        run_set("NHS FFT v6", data[:1500] if args.smoke else data, k=None)
    else:
        print(f"[NHS FFT v6] skipped: {NHS.resolve()} not found")
    run_set("generated multi-industry", own_set(600 if args.smoke else 3000), k=None)
    speed(5_000 if args.smoke else 100_000, 5_000 if args.smoke else 50_000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
