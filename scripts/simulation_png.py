"""Renders the report.html of a simulation of the example reforms on the sample to docs/simulation.png.

    .venv/bin/python scripts/simulation_png.py [--as-of 2027-12-26] [--height 1500]

Runs `vsb simulate` on data/sample/landing with every reform of data/reforms/ (in a temporary outbox), then
takes a screenshot of its report.html in headless Chromium (tests/helpers/browser.py): the top 1,500 pixels (the
overview and the first reform) keep the picture under 300 KB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2027-12-26")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "simulation.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    reforms = [a for path in sorted((ROOT / "data" / "reforms").glob("*.yaml")) for a in ("--reform", str(path))]
    with tempfile.TemporaryDirectory() as outbox:
        command = [str(ROOT / ".venv" / "bin" / "vsb"), "simulate", "--as-of", args.as_of, *reforms]
        command += ["--name", "examples", "--landing", str(ROOT / "data" / "sample" / "landing"), "--outbox", outbox]
        subprocess.run([*command, "--quiet"], check=True, cwd=ROOT)
        page = Path(outbox) / "simulations" / "examples" / args.as_of / "report.html"
        messages = browser.screenshot(page, args.out, args.width, args.height)
    if messages:
        raise SystemExit(f"the page logged: {messages}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
