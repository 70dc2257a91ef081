"""What the operators' and staff's outputs add to a steady payment night: the six overview.xlsx, _report.html
and the two Prefect artifacts, measured on a real night.

    .venv/bin/python benchmarks/emit.py --members 7000000 [--night /tmp/bench]

The night is the payment day of D on a state that paid the month before (a steady payment night: at 7M
about 410,000 payment rows, 325,000 grant events and 42,000 work-list rows over six zorgkassen). With
`--night` it reads the outbox and state that `benchmarks/nightly.py --keep` left; otherwise it runs the two
nights first (`vsb nightly`, as nightly.py). Then, each in a fresh process: every zorgkas's overview.xlsx
built again from its published Parquet files (pipelines/emit/overview.py), the page of its _report.json
with the trends of the state (pipelines/emit/report.py), and the artifacts' Markdown and table
(pipelines/emit/summary.py) and their two calls to a Prefect server (a temporary one, its start not
counted). Target at 7M: all of it within 3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from common import ROOT, landing_for, measure
from nightly import RUN_CODE

XLSX_CODE = """
import datetime as dt, json, time
from pathlib import Path
import polars as pl
from flows.codes import load_codes
from pipelines.emit.overview import overview_xlsx
night = Path({night!r})
codes = load_codes().frame()
manifest = json.loads((night / "_manifest.json").read_text())
seconds, cells, size, rows = 0.0, 0, 0, {{}}
for code, zorgkas in manifest["zorgkassen"].items():
    names = [e["name"] for e in zorgkas["files"] if e["name"].endswith(".parquet")]
    order = ["grants", "worklist", "payments", "recoveries", "quarantine", "letters"]
    names.sort(key=lambda n: order.index(n[:-8]) if n[:-8] in order else len(order))
    sheets = {{n[:-8]: pl.read_parquet(night / code / n) for n in names}}
    t0 = time.perf_counter()
    data = overview_xlsx(sheets, codes, created=dt.date(2026, 11, 26), title=code)
    seconds += time.perf_counter() - t0
    cells += sum(f.height * f.width for f in sheets.values())
    size += len(data)
    for name, frame in sheets.items():
        rows[name] = rows.get(name, 0) + frame.height
result = {{"xlsx_seconds": round(seconds, 2), "cells": cells, "us_per_cell": round(seconds / max(cells, 1) * 1e6, 3),
          "xlsx_mib": round(size / 2**20, 1), "rows": rows}}
"""

REPORT_CODE = """
import json, time
from pathlib import Path
import polars as pl
from flows.state.store import connect
from flows.codes import load_codes
from flows.state.trends import earlier_trends
from pipelines.emit.report import report_html
from pipelines.emit.summary import summary_markdown, zorgkas_table
night, state = Path({night!r}), {state!r}
report = json.loads((night / "_report.json").read_text())
t0 = time.perf_counter()
con = connect(state, read_only=True)
trends = earlier_trends(con, "nightly", "-", __import__("datetime").date.fromisoformat(report["run"]["date"]))
con.close()
page = report_html(report, trends, load_codes().frame())
t1 = time.perf_counter()
markdown, table = summary_markdown(report, "published", "file:///_report.html"), zorgkas_table(report)
t2 = time.perf_counter()
result = {{"report_seconds": round(t1 - t0, 3), "report_kib": round(len(page) / 1024, 1),
          "artifact_texts_seconds": round(t2 - t1, 4), "trend_points": trends.height}}
"""

ARTIFACTS_CODE = """
import time
from prefect import flow
from flows.report import announce

@flow(name="vsb-benchmark-artifacts")
def artifacts(folder: str) -> float:
    t0 = time.perf_counter()
    announce("nightly", folder, "published")
    return time.perf_counter() - t0

result = {{"artifacts_seconds": round(artifacts({night!r}), 3)}}
"""


def steady_night(members: int, as_of: dt.date, work: Path) -> Path:
    """Run the payment night of the month before and the one of `as_of` (as benchmarks/nightly.py)."""
    landing = landing_for(members)
    month_before = (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=as_of.day)
    for day in (month_before, as_of):
        code = RUN_CODE.format(as_of=day.isoformat(), landing=str(landing), outbox=f"{work}/out",
                               state=f"{work}/state/vsb.duckdb")  # fmt: skip
        measure(code)
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=7_000_000)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--night", type=Path, help="the outbox and state that benchmarks/nightly.py --keep left")
    args = parser.parse_args()
    work = args.night or Path(tempfile.mkdtemp(prefix="vsb-bench-emit-"))
    try:
        if args.night is None:
            steady_night(args.members, args.as_of, work)
        night, state = work / "out" / "nightly" / args.as_of.isoformat(), work / "state" / "vsb.duckdb"
        row = {"members": args.members, "night": args.as_of.isoformat()}
        row |= {"overview": measure(XLSX_CODE.format(night=str(night)))}
        row |= {"report": measure(REPORT_CODE.format(night=str(night), state=str(state)))}
        row |= {"artifacts": measure(ARTIFACTS_CODE.format(night=str(night)))}
        report = row["report"]
        parts = (row["overview"]["xlsx_seconds"], report["report_seconds"], report["artifact_texts_seconds"])
        row["added_seconds"] = round(sum(parts) + row["artifacts"]["artifacts_seconds"], 2)
    finally:
        if args.night is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(row), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "emit.json").write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
