"""The premium invoice run on generated data, next to the DuckDB floor of the feeds it reads.

    .venv/bin/python benchmarks/invoices.py --members 7000000

Each measured run is the invoice run's own work without Prefect (flows/premium.py `invoice_run`):
ingest of members, residence_periods and increased_allowance (row rules, quarantine, pandera), the
invoices (P-LIABLE .. P-REFERENCE) against the ledger, the files per zorgkas (Parquet, CSV,
manifests, pandera validation), the ledger commit in the DuckDB state and the publication. In
fresh processes, on one state: year 2026 on an empty state (every member invoiced), the same run
again (an identical rerun: the ledger read back, nothing issued), then year 2024 (amounts 62 / 31:
the reference bases continue the 2026 sequence). Targets at 7M members: <= 30 s, <= 4 GiB.
The runs pass --replace, so that a rerun whose code changed in between still measures the same work
("replaced" instead of "identical").
The generated deliveries are of 2026-10-01 and 2026-11-01, so the run date is 2026-11-26.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path

from common import ROOT, floor, landing_for, measure

from flows.premium import INVOICE_FEEDS

RUN_CODE = """
from pathlib import Path
import datetime as dt
from flows.context import Options
from flows.premium import invoice_context, invoice_run
from flows.progress import Steps
from flows.state.state import State
steps = Steps(quiet=True)
ctx = invoice_context({year}, dt.date.fromisoformat({as_of!r}), Path({landing!r}), Path({work!r}) / "out",
                      Path({work!r}) / "vsb.duckdb", Options(replace=True))
with State.open(ctx.state, "invoices", str({year})) as state:
    done = invoice_run(ctx, state, steps)
result = {{"status": done["status"], "issued": done["issued"], "steps": steps.timings}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[7_000_000])
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    args = parser.parse_args()
    results = []
    for members in args.members:
        landing = landing_for(members)
        base = floor(landing, args.as_of, INVOICE_FEEDS)
        work = Path(tempfile.mkdtemp(prefix="vsb-bench-invoices-"))
        try:
            for label, year in (("2026", 2026), ("2026 rerun", 2026), ("2024", 2024)):
                code = RUN_CODE.format(year=year, as_of=args.as_of.isoformat(), landing=str(landing), work=str(work))
                run = measure(code)
                state_mib = round((work / "vsb.duckdb").stat().st_size / 2**20)
                outbox_mib = round(sum(f.stat().st_size for f in (work / "out").rglob("*") if f.is_file()) / 2**20)
                row = {
                    "members": members,
                    "run": label,
                    "as_of": args.as_of.isoformat(),
                    "status": run["status"],
                    "issued": run["issued"],
                    "seconds": run["seconds"],
                    "peak_rss_gib": run["peak_rss_gib"],
                    "steps_seconds": run["steps"],
                    "floor_seconds": base["seconds"],
                    "floor_peak_rss_gib": base["peak_rss_gib"],
                    "to_floor": round(run["seconds"] / base["seconds"], 1),
                    "state_mib": state_mib,
                    "outbox_mib": outbox_mib,
                }
                results.append(row)
                print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "invoices.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
