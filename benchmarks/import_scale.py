"""A large CSV history import through the real command, timed, with its memory watched (issue #11:
1M rows on PostgreSQL in under 10 minutes with flat memory).

Writes a CSV of `--rows` interactions (two per customer, each customer with a phone and an
e-mail of their own, recent enough that every interaction gets a survey scheduled: the heavy
case), then runs `feedback import interactions FILE` as a child process on a scratch
PostgreSQL database (benchmarks/_pgdb.py) or on `--url`. Prints the time, rows/s, the child's
peak RSS (from the kernel's rusage) and its RSS sampled along the way — flat memory means the
samples stay level however far the import has gone — and the load average at start and end
(this machine is shared: a figure means little without it).

    .venv/bin/python benchmarks/import_scale.py                  # 1,000,000 rows, PostgreSQL
    .venv/bin/python benchmarks/import_scale.py --rows 100000    # a quicker look
    .venv/bin/python benchmarks/import_scale.py --smoke          # 2,000 rows (CI)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._pgdb import scratch_database  # noqa: E402

HEADER = ("external_id,channel,occurred_at,agent,team,customer_external_id,customer_name,"
          "customer_phone,customer_email\n")


def write_csv(path: Path, rows: int) -> None:
    """The rows of benchmarks/write_paths.py, but every customer's phone its own (a real
    history names many people: no phone-check cache to lean on)."""
    at = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for first in range(0, rows, 10_000):
            out.write("".join(
                f"BIG-{i},phone,{at},agent{i % 40},team{i % 5},BIGC-{i // 2},Ana Lima,"
                f"+1415{2_000_000 + i // 2:07d},c{i // 2}@example.com\n"
                for i in range(first, min(rows, first + 10_000))))


def rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run(url: str, csv_path: Path, rows: int) -> None:
    env = {**os.environ, "FEEDBACK_DATABASE_URL": url, "FEEDBACK_SECRET_KEY": "bench" * 8,
           "FEEDBACK_AUTO_MIGRATE": "true"}
    load_before = os.getloadavg()
    with tempfile.TemporaryFile(mode="w+") as log:  # a file: a full pipe would stall the child
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "feedback", "import", "interactions",
                                  str(csv_path)], cwd=ROOT, env=env, stdout=log, stderr=log)
        samples: list[tuple[float, int]] = []
        while True:  # reaped here, not by Popen: wait4 gives the child's own peak RSS
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if (kib := rss_kib(child.pid)) is not None:
                samples.append((time.perf_counter() - started, kib))
            time.sleep(1.0)
        took = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if status:
        raise SystemExit(f"import failed (status {status}): {output[-2000:]}")
    print(output.strip().splitlines()[-1] if output.strip() else "(no output)")
    print(f"{rows} rows in {took:.0f} s: {rows / took:.0f} rows/s; load average "
          f"{load_before[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (1-minute)")
    if samples:
        marks = [samples[min(len(samples) - 1, int(len(samples) * q))]
                 for q in (0.1, 0.25, 0.5, 0.75, 0.99)]
        print("RSS along the way: " + ", ".join(f"{t:.0f} s {k / 1024:.0f} MiB" for t, k in marks))
    print(f"peak RSS (rusage): {usage.ru_maxrss / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--smoke", action="store_true", help="2,000 rows: the script still works (CI)")
    ap.add_argument("--url", help="a database to import into (default: a scratch PostgreSQL one)")
    args = ap.parse_args()
    if args.smoke:
        args.rows = 2000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "history.csv")
        write_csv(path, args.rows)
        print(f"{path.stat().st_size / 1e6:.0f} MB CSV, {args.rows} rows", flush=True)
        if args.url:
            run(args.url, path, args.rows)
            return
        with scratch_database() as url:
            if url:
                run(url, path, args.rows)


if __name__ == "__main__":
    main()
