"""Renders the first page of a letter of a real sample run to a PNG in docs/ (default: a Dutch decision letter).

    .venv/bin/python scripts/letter_png.py [--night 2026-10-26] [--scenario S01] [--dpi 80]
    .venv/bin/python scripts/letter_png.py --before 2026-10-26 --night 2026-11-06 --scenario S14 \
        --out docs/letter-heirs-fr.png                      # to the heirs of a member who died (L-ADDRESSEE)
    .venv/bin/python scripts/letter_png.py --before 2026-10-26 --before 2026-11-06 --night 2026-11-26 \
        --insz 22090176748 --kind L-RECOVERY --out docs/letter-recovery-nl.png   # a recovery, how to pay it back

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


def letter(run: Path, insz: str, kind: str = "L-DECISION") -> tuple[Path, int]:
    """The PDF file and first page of the one letter of `kind` of `insz` in the run folder `run`."""
    rows = pl.concat(
        [pl.read_parquet(p).with_columns(folder=pl.lit(str(p.parent))) for p in run.glob("*/letters.parquet")]
    )
    rows = rows.filter((pl.col("insz") == insz) & (pl.col("kind") == kind))
    if rows.height != 1:
        sys.exit(f"expected one {kind} letter of that person in {run.name}, found {rows.height}")
    row = rows.row(0, named=True)
    return Path(row["folder"]) / row["file"], row["first_page"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--night", type=dt.date.fromisoformat, default=dt.date(2026, 10, 26))
    parser.add_argument("--before", type=dt.date.fromisoformat, action="append", default=[], help="nights run first")
    parser.add_argument("--scenario", default="S01", help="a scenario person of synthdata/scenarios.py")
    parser.add_argument("--insz", help="the person (instead of --scenario)")
    parser.add_argument("--kind", default="L-DECISION", help="L-DECISION, L-RECOVERY, L-REQUEST")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "letter-decision-nl.png")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args()
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        sys.exit("pdftoppm is not installed (Debian: apt-get install -y poppler-utils)")
    with tempfile.TemporaryDirectory(prefix="vsb-letter-") as folder:
        work = Path(folder)
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
        for night in [*args.before, args.night]:
            command = [sys.executable, "-m", "flows.cli", "nightly", "--as-of", night.isoformat(), "--landing",
                       str(ROOT / "data" / "sample" / "landing"), "--outbox", str(work / "out"), "--state",
                       str(work / "state.duckdb"), "--quiet", "--accept-mass-change"]  # fmt: skip
            subprocess.run(command, check=True, cwd=ROOT, env=env)
        insz = args.insz or scenario_insz()[args.scenario]
        pdf, page = letter(work / "out" / "nightly" / args.night.isoformat(), insz, args.kind)
        stem = work / "page"
        render = [pdftoppm, "-png", "-r", str(args.dpi), "-f", str(page), "-l", str(page), "-singlefile", str(pdf)]
        subprocess.run([*render, str(stem)], check=True)
        shutil.copy(stem.with_suffix(".png"), args.out)
    print(f"{args.out} ({pdf.name}, page {page}, {args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
