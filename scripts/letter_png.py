"""Renders the first page of a Dutch decision letter of a real sample run to docs/letter-decision-nl.png.

    .venv/bin/python scripts/letter_png.py [--night 2026-10-26] [--scenario S01] [--dpi 80]

Runs `vsb nightly` on the sample landing zone (data/sample/landing) for the chosen night, in a temporary
folder, picks the L-DECISION letter of a scenario person of synthdata/scenarios.py (default S01: a BelRAI
Screener right, entitled from June 2025, whose letter is tests/e2e/golden/letters/decision-nl.txt), finds its file
and first page in its zorgkas's letters.parquet and renders that page with poppler's `pdftoppm`. The person
is made up (synthetic data).
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

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from synthdata.scenarios import scenario_insz  # noqa: E402


def decision_letter(run: Path, insz: str) -> tuple[Path, int]:
    """The PDF file and first page of the one Dutch L-DECISION letter of `insz` in the run folder `run`."""
    rows = pl.concat(
        [pl.read_parquet(p).with_columns(folder=pl.lit(str(p.parent))) for p in run.glob("*/letters.parquet")]
    )
    rows = rows.filter((pl.col("insz") == insz) & (pl.col("kind") == "L-DECISION") & (pl.col("language") == "NL"))
    if rows.height != 1:
        sys.exit(f"expected one Dutch decision letter of that person in {run.name}, found {rows.height}")
    row = rows.row(0, named=True)
    return Path(row["folder"]) / row["file"], row["first_page"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", type=dt.date.fromisoformat, default=dt.date(2026, 10, 26))
    parser.add_argument("--scenario", default="S01", help="a scenario person of synthdata/scenarios.py")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "letter-decision-nl.png")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        sys.exit("pdftoppm is not installed (Debian: apt-get install -y poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="vsb-letter-") as folder:
        work = Path(folder)
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
        command = [sys.executable, "-m", "flows.cli", "nightly", "--as-of", args.night.isoformat(), "--landing",
                   str(ROOT / "data" / "sample" / "landing"), "--outbox", str(work / "out"), "--state",
                   str(work / "state.duckdb"), "--quiet", "--accept-mass-change"]  # fmt: skip
        subprocess.run(command, check=True, cwd=ROOT, env=env)
        pdf, page = decision_letter(work / "out" / "nightly" / args.night.isoformat(), scenario_insz()[args.scenario])
        stem = work / "page"
        render = [pdftoppm, "-png", "-r", str(args.dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf)]
        subprocess.run([*render, str(stem)], check=True)
        shutil.copy(stem.with_suffix(".png"), args.out)
    print(f"{args.out} ({pdf.name}, page {page}, {args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
