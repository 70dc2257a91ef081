"""Renders the sample run report (tests/report_sample.json) to docs/report.png in headless Chromium.

    .venv/bin/python scripts/report_png.py [--height 2000] [--html docs/report.html]

The report dict is the sample run of 2026-11-26 with made-up trends and guard figures (see the
"_note" in the JSON); the page is pipelines/emit/report.py `report_html` of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402
import polars as pl  # noqa: E402

from pipelines.emit.report import report_html  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--html", type=Path, help="also keep the page here")
    args = parser.parse_args()
    sample = json.loads((ROOT / "tests" / "report_sample.json").read_text())
    trends = pl.DataFrame(sample["trends"]).with_columns(pl.col("run_date").str.to_date())
    page = report_html(sample["report"], trends)
    with tempfile.TemporaryDirectory() as folder:
        html = args.html or Path(folder) / "_report.html"
        html.write_text(page, encoding="utf-8")
        messages = browser.screenshot(html, args.out, args.width, args.height)
    if messages:
        sys.exit(f"console messages: {messages}")
    print(f"{args.out} ({args.width}x{args.height})")


if __name__ == "__main__":
    main()
