"""The sample night as an operator runs it: `vsb nightly --as-of 2026-11-26` on data/sample/landing.

    .venv/bin/python benchmarks/sample.py --runs 5

Each run is the whole command in a fresh process (Python's start, the imports, Prefect's temporary
server, the flow) on a fresh state and outbox. The first run gets a fresh PREFECT_HOME: Prefect's
first-time database setup (migrations) included; the others reuse it, as every later night does.
Reported: wall seconds and peak RSS of the command's own process (os.wait4: the process is started
by this small one, so its peak is its own). Target (issue 12): <= 5 s wall after the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VSB = ROOT / ".venv" / "bin" / "vsb"


def run_once(work: Path, prefect_home: Path) -> dict:
    """One `vsb nightly` on a fresh state and outbox under `work`; its wall seconds and peak RSS."""
    shutil.rmtree(work / "night", ignore_errors=True)
    command = [str(VSB), "nightly", "--as-of", "2026-11-26", "--landing", str(ROOT / "data" / "sample" / "landing")]
    command += ["--outbox", str(work / "night" / "out"), "--state", str(work / "night" / "state" / "vsb.duckdb")]
    command += ["--quiet"]
    env = {**os.environ, "PREFECT_HOME": str(prefect_home)}
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"vsb nightly failed: {child.stderr.read().decode()}")
    return {"seconds": round(seconds, 2), "peak_rss_gib": round(usage.ru_maxrss / 2**20, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs after the first (fresh PREFECT_HOME) one")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vsb-bench-sample-"))
    try:
        first = run_once(work, work / "prefect-home")
        later = [run_once(work, work / "prefect-home") for _ in range(args.runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    row = {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "first_run_fresh_prefect_home": first,
        "later_runs_seconds": [r["seconds"] for r in later],
        "later_runs_median_seconds": statistics.median(r["seconds"] for r in later),
        "peak_rss_gib": max(r["peak_rss_gib"] for r in later),
    }
    print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "sample.json").write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
