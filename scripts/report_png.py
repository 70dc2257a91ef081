"""Renders the report of a real sample run to docs/report.png in headless Chromium.

    .venv/bin/python scripts/report_png.py [--night 2026-11-26] [--height 2400] [--html docs/report.html]

Runs `vsb backfill` on the sample landing zone (data/sample/landing) from 2026-10-26, the payment night of
the month before, to the chosen night, in a temporary folder (so the report has a month of trends), and
takes a screenshot of that night's `_report.html`. The November deliveries stop more grants than
S-MASS-CHANGE allows: the backfill accepts it, and the report shows the guard accepted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402

FIRST = dt.date(2026, 10, 26)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", type=dt.date.fromisoformat, default=dt.date(2026, 11, 26))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--html", type=Path, help="also keep the page here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsb-report-") as folder:
        work = Path(folder)
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
        command = [sys.executable, "-m", "flows.cli", "backfill", "--from", FIRST.isoformat(), "--to",
                   args.night.isoformat(), "--landing", str(ROOT / "data" / "sample" / "landing"),
                   "--outbox", str(work / "out"), "--state", str(work / "state.duckdb"), "--quiet",
                   "--accept-mass-change"]  # fmt: skip
        subprocess.run(command, check=True, cwd=ROOT, env=env)
        page = work / "out" / "nightly" / args.night.isoformat() / "_report.html"
        if args.html:
            shutil.copy(page, args.html)
        messages = browser.screenshot(page, args.out, args.width, args.height)
    if messages:
        sys.exit(f"console messages: {messages}")
    print(f"{args.out} ({args.width}x{args.height})")


if __name__ == "__main__":
    main()
