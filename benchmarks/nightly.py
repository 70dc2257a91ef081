"""The nightly run end to end on generated data: ingest -> decide -> settle -> every output file -> publish.

    .venv/bin/python benchmarks/nightly.py --members 7000000

Runs `vsb nightly` in fresh processes (Prefect's local mode, its start included), one after
the other on one state: the payment day of the month before on an empty state (go-live: it
pays every entitled month of the window, 24 months of arrears); the payment day of D (a
steady payment night: the month, a SEPA file per zorgkas); the night after (no payments).
Next to the DuckDB floor. Each run reports `seconds` (the command, from its first line),
`process_seconds` (the whole process: Python's start and the imports too) and its own peak RSS.
Targets at 7M (issue 12): steady payment night <= 20 s and <= 2 GiB; go-live <= 30 s and <= 2.5 GiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from common import ROOT, floor, landing_for, measure

RUN_CODE = """
from flows.cli import main
code = main(["nightly", "--as-of", {as_of!r}, "--landing", {landing!r}, "--outbox", {outbox!r},
             "--state", {state!r}, "--quiet"])
assert code == 0
import json, pathlib
report = json.loads((pathlib.Path({outbox!r}) / "nightly" / {as_of!r} / "_report.json").read_text())
result = {{"payments": report["payments"], "events": report["events"], "timings": report["timings_seconds"]}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[7_000_000])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--keep", type=Path, help="keep outbox and state here (for benchmarks/emit.py --night)")
    args = parser.parse_args()
    results = []
    for members in args.members:
        landing = landing_for(members)
        base = floor(landing, args.as_of)
        work = str(args.keep) if args.keep else tempfile.mkdtemp(prefix="vsb-bench-")
        try:
            runs = {}
            month_before = (args.as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=args.as_of.day)
            for day in (month_before, args.as_of, args.as_of + dt.timedelta(days=1)):
                runs[day.isoformat()] = measure(
                    RUN_CODE.format(
                        as_of=day.isoformat(),
                        landing=str(landing),
                        outbox=f"{work}/out",
                        state=f"{work}/state/vsb.duckdb",
                    )
                )
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        row = {"members": members, "floor_seconds": base["seconds"], "runs": runs}
        results.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "nightly.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
