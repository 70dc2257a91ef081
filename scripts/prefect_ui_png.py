"""A screenshot of a nightly flow run in the Prefect UI, for docs/operators.md: docs/prefect-run.png.

    .venv/bin/python scripts/prefect_ui_png.py [--out docs/prefect-run.png]

Starts a real Prefect server with its UI on loopback (tests/helpers/prefect_server.py), runs `vsb nightly` on the
sample landing zone against it (the payment night of 2026-10-26, then the night shown, 2026-11-26), finds
the flow run `nightly-2026-11-26` (its new deliveries stop more grants than S-MASS-CHANGE allows: accepted)
through the Prefect client, and lets headless Chromium render its page
(the UI is a script application: Chromium is given virtual time to load and draw it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402
from prefect_server import real_server  # noqa: E402

NIGHTS = ("2026-10-26", "2026-11-26")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "prefect-run.png")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--wait-ms", type=int, default=20000, help="virtual time Chromium gives the UI to draw")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsb-ui-") as folder, real_server(Path(folder), ui=True) as env:
        work = Path(folder)
        for night in NIGHTS:
            command = [sys.executable, "-m", "flows.cli", "nightly", "--as-of", night, "--outbox", str(work / "out"),
                       "--state", str(work / "state.duckdb"), "--quiet", "--accept-mass-change"]  # fmt: skip
            subprocess.run(command, check=True, cwd=ROOT, env=env)
        os.environ["PREFECT_API_URL"] = env["PREFECT_API_URL"]
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

        with get_client(sync_client=True) as client:
            name = FlowRunFilterName(any_=[f"nightly-{NIGHTS[-1]}"])
            run = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=name))[0]
        page = f"{env['url']}/runs/flow-run/{run.id}"
        browser.run_url(page, f"--screenshot={args.out.resolve()}", f"--window-size={args.width},{args.height}",
                        f"--virtual-time-budget={args.wait_ms}")  # fmt: skip
    print(f"{args.out} ({args.width}x{args.height}) of {page}")


if __name__ == "__main__":
    main()
