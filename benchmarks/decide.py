"""The decide stage on generated data, next to the DuckDB floor; and `vsb explain` for one person.

    .venv/bin/python benchmarks/decide.py --members 7000000

In one fresh process: ingest (as the nightly run), then decide (timed on its own); the peak
RSS is that of the whole process. Then `explain` for a person with a right, in a fresh
process, with and without Prefect's start. Targets at 7M: decide <= 15 s, <= 4 GiB;
explain < 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from common import ROOT, floor, landing_for, measure

DECIDE_CODE = """
import datetime as dt, time
from pathlib import Path
from flows.ingest import ingest
from flows.decide import run_decisions
from flows.reference import load_reference
reference = load_reference()
as_of = dt.date.fromisoformat({as_of!r})
t0 = time.perf_counter()
from flows.decide import DECIDE_FEEDS
got = ingest(Path({landing!r}), as_of, reference, keep=set(DECIDE_FEEDS))
t1 = time.perf_counter()
decided = run_decisions(got, reference, as_of)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[7_000_000])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    args = parser.parse_args()
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
            "process_seconds": run.pop("seconds"),
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
