"""The decide stage on generated data, next to the DuckDB floor; and `vsb explain` for one person.

    .venv/bin/python benchmarks/decide.py --members 7000000
    .venv/bin/python benchmarks/decide.py --members 7000000 --step   # ingest + decide only, in this process

In one fresh process: ingest (every feed of the night; the valid rows of the decide feeds kept),
then decide (timed on its own); the peak RSS is that of the whole process. Then
`explain` for a person with a right, in a fresh process, with and without Prefect's start. `--step`
runs the ingest and decide in this very process and prints its figures (to time the whole process
from outside, e.g. with /usr/bin/time -v). Targets at 7M (issue 12): ingest + decide <= 12 s and
<= 1.8 GiB; explain < 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from common import ROOT, floor, landing_for, measure, vm_hwm_gib

DECIDE_CODE = """
import datetime as dt, time
from pathlib import Path
from flows.context import start
from flows.decide import DECIDE_FEEDS, run_decisions
from flows.ingest import ingest
t0 = time.perf_counter()
ctx = start("nightly", dt.date.fromisoformat({as_of!r}), Path({landing!r}), Path("out"), Path("state"))
got = ingest(ctx, keep=set(DECIDE_FEEDS))
t1 = time.perf_counter()
decided = run_decisions(ctx, got)
t2 = time.perf_counter()
person = decided.periods.filter(decided.periods["entitled"])["insz"][0]
result = {{"ingest_seconds": round(t1 - t0, 2), "decide_seconds": round(t2 - t1, 2),
           "period_rows": decided.periods.height, "months_entitled": decided.months_entitled(),
           "persons_with_a_right": decided.periods["insz"].n_unique(),
           "worklist_rows": decided.worklist.height, "absence_rows": decided.absences.height,
           "person": person}}
"""

EXPLAIN_CODE = """
import datetime as dt, time
from pathlib import Path
from flows.runtime import configure_environment
configure_environment()
from flows.explain import explain, explain_person
as_of = dt.date.fromisoformat({as_of!r})
t0 = time.perf_counter()
record = explain_person({person!r}, Path({landing!r}), as_of)
t1 = time.perf_counter()
text = explain({person!r}, as_of, Path({landing!r}), prefect=True)
t2 = time.perf_counter()
result = {{"explain_seconds_without_prefect": round(t1 - t0, 2), "explain_seconds_with_prefect": round(t2 - t1, 2),
           "months": sum(len(v) for v in record["budgets"].values())}}
"""


def step(members: int, as_of: dt.date) -> None:
    """Ingest and decide in this process (no benchmark around it): for timing the whole process."""
    scope = {}
    exec(DECIDE_CODE.format(landing=str(landing_for(members)), as_of=as_of.isoformat()), scope)
    result = scope["result"]
    result.pop("person")
    print(json.dumps(result | {"peak_rss_gib": round(vm_hwm_gib(), 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[7_000_000])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--step", action="store_true", help="ingest + decide only, in this process")
    args = parser.parse_args()
    if args.step:
        for members in args.members:
            step(members, args.as_of)
        return
    results = []
    for members in args.members:
        landing = landing_for(members)
        base = floor(landing, args.as_of)
        run = measure(DECIDE_CODE.format(landing=str(landing), as_of=args.as_of.isoformat()))
        person = run.pop("person")
        explained = measure(EXPLAIN_CODE.format(landing=str(landing), as_of=args.as_of.isoformat(), person=person))
        row = {
            "members": members,
            **run,
            "seconds": run.pop("seconds"),
            "peak_rss_gib": run.pop("peak_rss_gib"),
            "floor_seconds": base["seconds"],
            "decide_to_floor": round(run["decide_seconds"] / base["seconds"], 1),
            "explain_seconds_without_prefect": explained["explain_seconds_without_prefect"],
            "explain_seconds_with_prefect": explained["explain_seconds_with_prefect"],
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "decide.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
