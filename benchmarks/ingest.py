"""Ingest and validation on generated data, next to the DuckDB floor (issue: foundation).

    .venv/bin/python benchmarks/ingest.py --members 1000000 7000000

Generates the landing zones once (benchmarks/cache/, git-ignored), then measures, each in a
fresh process: the floor (DuckDB reads every column of every input file once) and the ingest
(locate, read, row rules, quarantine, pandera validation of the valid rows, counts).
Targets at 7M members: ingest <= 20 s and <= 4 GiB peak RSS.

    .venv/bin/python benchmarks/ingest.py --members 1000000 --step

`--step` runs the ingest in this very process and prints its figures, to time the whole process from outside
(CPU seconds and peak RSS, e.g. with /usr/bin/time -v), A/B against another checkout of the code in turn:
benchmarks/results/ingest_cpu.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from common import ROOT, floor, landing_for, measure, vm_hwm_gib

INGEST_CODE = """
import datetime as dt
from pathlib import Path
from flows.context import start
from flows.decide import DECIDE_FEEDS
from flows.ingest import ingest
ctx = start("nightly", dt.date.fromisoformat({as_of!r}), Path({landing!r}), Path("out"), Path("state"))
got = ingest(ctx, keep=set(DECIDE_FEEDS))
result = {{"rows": sum(s.rows_read for s in got.feeds.values()),
           "quarantined": sum(s.quarantine.height for s in got.feeds.values())}}
"""


def step(members: int, as_of: dt.date) -> None:
    """The ingest in this process (no benchmark around it): for timing the whole process."""
    scope: dict = {}
    exec(INGEST_CODE.format(landing=str(landing_for(members)), as_of=as_of.isoformat()), scope)
    print(json.dumps(scope["result"] | {"peak_rss_gib": round(vm_hwm_gib(), 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[1_000_000, 7_000_000])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    parser.add_argument("--step", action="store_true", help="the ingest only, in this process")
    args = parser.parse_args()
    if args.step:
        for members in args.members:
            step(members, args.as_of)
        return
    results = []
    for members in args.members:
        landing = landing_for(members)
        base = floor(landing, args.as_of)
        run = measure(INGEST_CODE.format(landing=str(landing), as_of=args.as_of.isoformat()))
        row = {
            "members": members,
            "feed_rows": run["rows"],
            "quarantined": run["quarantined"],
            "ingest_seconds": run["seconds"],
            "ingest_peak_rss_gib": run["peak_rss_gib"],
            "floor_seconds": base["seconds"],
            "floor_peak_rss_gib": base["peak_rss_gib"],
            "ratio": round(run["seconds"] / base["seconds"], 1),
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
