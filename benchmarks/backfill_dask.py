"""The parallel backfill (issue 15): N consecutive nights serial vs `--dask-address` on a local 2-worker cluster.

    .venv/bin/python benchmarks/backfill_dask.py --members 1000000 --nights 10
    .venv/bin/python benchmarks/backfill_dask.py --members 1000000 --nights 1 --serial-only   # one night, to size N

`vsb backfill` D1..D1+N-1 from an empty state in a fresh process (Prefect's temporary server included), first
serially, then with --dask-address on a local cluster (`dask scheduler` + 2 x `dask worker --nthreads 1` on
loopback, from this .venv: simulate.local_cluster); both must give the same folders (sha256, without timings).

Reported per variant: wall seconds, the driver's CPU seconds and peak RSS (/usr/bin/time -v), the CPU seconds of
every process of the variant (getrusage(RUSAGE_CHILDREN) of this process around it: the driver, and for Dask the
scheduler and the workers, reaped when the cluster stops), and the 1-minute load average before and after; then
the speed-up (serial wall / Dask wall; target >= 1.6) and the throughput: nights per hour in all and per worker
(a cluster of W such workers backfills about W x that many nights an hour while the driver keeps up).
Results: benchmarks/results/backfill_dask.json (every run appended).

`--code DIR`: run another checkout of the engine (e.g. `git archive <commit> | tar -x -C DIR`): PYTHONPATH=DIR for
the driver, the scheduler and the workers alike (they all compare their code version).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import tempfile
from pathlib import Path

from common import ROOT, landing_for
from simulate import load, local_cluster, outputs, timed_backfill

WORKERS = 2
OUT = ROOT / "benchmarks" / "results" / "backfill_dask.json"


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def night_timings(out: Path) -> dict:
    """Each night's own step timings (its _report.json), by date."""
    found = {}
    for report in sorted(out.glob("nightly/*/_report.json")):
        found[report.parent.name] = json.loads(report.read_text()).get("timings_seconds", {})
    return found


def serial(landing: Path, first: dt.date, last: dt.date, work: Path) -> dict:
    (work / "serial").mkdir()
    cpu = children_cpu()
    row = timed_backfill(landing, first, last, work / "serial")
    row |= {"cpu_seconds_all": round(children_cpu() - cpu, 1)}
    return row | {"night_timings_seconds": night_timings(work / "serial" / "out")}


def on_cluster(landing: Path, first: dt.date, last: dt.date, work: Path) -> dict:
    (work / "dask").mkdir()
    cpu = children_cpu()
    with local_cluster(workers=WORKERS, threads=1) as address:
        row = timed_backfill(landing, first, last, work / "dask", "--dask-address", address)
    # the workers and the scheduler are reaped when the cluster stops: their CPU is in the delta now
    row |= {"cpu_seconds_all": round(children_cpu() - cpu, 1), "workers": WORKERS, "threads_per_worker": 1}
    return row | {"night_timings_seconds": night_timings(work / "dask" / "out")}


def per_hour(nights: int, seconds: float, workers: int = 1) -> float:
    return round(nights / (seconds / 3600) / workers, 1)


def bench(members: int, first: dt.date, nights: int, serial_only: bool) -> dict:
    landing = landing_for(members)
    last = first + dt.timedelta(days=nights - 1)
    work = Path(tempfile.mkdtemp(prefix="vsb-bench-backfill-dask-"))
    row: dict = {"members": members, "nights": nights, "first": first.isoformat(), "last": last.isoformat()}
    row |= {"cores": os.cpu_count(), "load_start": load()}
    try:
        row["serial"] = serial(landing, first, last, work)
        print(json.dumps(row), flush=True)
        row["serial_nights_per_hour"] = per_hour(nights, row["serial"]["seconds"])
        if not serial_only:
            try:
                row["dask_2_workers"] = on_cluster(landing, first, last, work)
            except RuntimeError as failed:  # the serial figures are kept, and vsb's error line
                said = [line for line in str(failed).splitlines() if "error" in line.lower()] or ["(no error line)"]
                row["dask_2_workers"] = {"error": said[0].strip()[:500]}
                row["target_met"] = False
                row["load_end"] = load()
                return row
            row["same_outputs"] = outputs(work / "serial" / "out") == outputs(work / "dask" / "out")
            dask_seconds = row["dask_2_workers"]["seconds"]
            row["speed_up"] = round(row["serial"]["seconds"] / dask_seconds, 2)
            row["speed_up_target"] = 1.6
            row["target_met"] = row["speed_up"] >= 1.6
            row["dask_nights_per_hour"] = per_hour(nights, dask_seconds)
            row["dask_nights_per_hour_per_worker"] = per_hour(nights, dask_seconds, WORKERS)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    row["load_end"] = load()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--serial-only", action="store_true", help="only the serial backfill (to size --nights)")
    parser.add_argument("--code", type=Path, help="the engine checkout to run (default: this one)")
    parser.add_argument("--code-commit", help="--code: its commit, recorded with the results")
    args = parser.parse_args()
    if args.code:
        os.environ["PYTHONPATH"] = str(args.code.resolve())  # inherited by vsb, the scheduler and the workers
    row = bench(args.members, args.first, args.nights, args.serial_only)
    print(json.dumps(row, indent=2), flush=True)
    found = json.loads(OUT.read_text()) if OUT.exists() else []
    row |= {"serial_only": args.serial_only, "code": args.code_commit or ("checkout " + str(args.code or ROOT))}
    found.append(row | {"measured_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")})  # every run kept
    OUT.write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
