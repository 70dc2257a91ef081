"""Kill the payment night with SIGKILL at many points, run the next night, and check that nothing is lost or paid twice.

    .venv/bin/python scripts/kill_test.py [--landing DIR] [--kills 20] [--work DIR]

Not part of the test suite (about 6 minutes for 20 kills at 100k members). On a generated landing
(default: benchmarks/common.py `landing_for(100_000)`, read in place, never written):

1. the go-live night 2026-10-26 on an empty state: the base state and outbox of every trial;
2. two uninterrupted references from copies of the base: A, the payment night 2026-11-26 then the
   night 2026-11-27 (timing the payment night: T); B, the night 2026-11-27 alone (what the next
   night must give when the killed night never committed);
3. each trial, on a fresh copy of the base (the DuckDB file and the outbox): `vsb nightly --as-of
   2026-11-26` in its own process group, killed with SIGKILL (the whole group: Prefect's server too)
   at a point of its run: at elapsed times spread over T, and at the named steps around the state
   commit (VSB_CRASH_AT=<step>:kill: the process kills itself there); then the NEXT night,
   `vsb nightly --as-of 2026-11-27`, run directly (no rerun of 2026-11-26 by hand; if it refuses and
   names a rerun, the script does that rerun and counts it);
4. checks: every payment_ledger month (insz, budget, month) is in exactly one published
   payments.parquet (lost: in none; duplicated: in more than one), no `.staging-*` folder is left,
   no run is committed but unpublished, and the outbox and ledger equal reference A when the killed
   night had committed, reference B when it had not.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VSB = ROOT / ".venv" / "bin" / "vsb"
GO_LIVE, PAYMENT_NIGHT, NEXT_NIGHT = "2026-10-26", "2026-11-26", "2026-11-27"
STEPS = ["before-commit", "after-commit", "before-rename", "after-rename"]  # VSB_CRASH_AT points, killed there


def vsb_command(day: str, work: Path, landing: Path) -> list[str]:
    return [
        str(VSB),
        "nightly",
        "--as-of",
        day,
        "--landing",
        str(landing),
        "--outbox",
        str(work / "out"),
        "--state",
        str(work / "state" / "vsb.duckdb"),
        "--accept-mass-change",
        "--allow-future-date",  # the probe's fixed dates, whatever the machine's clock
        "--quiet",
    ]


def environment(prefect_home: Path, crash_at: str | None = None) -> dict:
    env = {**os.environ, "PREFECT_HOME": str(prefect_home)}
    env.pop("VSB_CRASH_AT", None)
    if crash_at:
        env["VSB_CRASH_AT"] = crash_at
    return env


def run(day: str, work: Path, landing: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(vsb_command(day, work, landing), capture_output=True, text=True, env=env)


def killed_run(day: str, work: Path, landing: Path, env: dict, after: float | None) -> str:
    """Start the night in its own process group; SIGKILL the group after `after` seconds (None: the run kills
    itself at its VSB_CRASH_AT step). Returns how it ended."""
    process = subprocess.Popen(
        vsb_command(day, work, landing),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        process.wait(timeout=after if after is not None else 600)
        ended = "finished before the kill" if process.returncode == 0 else f"died ({process.returncode})"
    except subprocess.TimeoutExpired:
        ended = "killed"
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the run, and Prefect's temporary server it started
    except ProcessLookupError:
        pass
    process.wait()
    if after is None and process.returncode == -signal.SIGKILL:
        ended = "killed"
    return ended


def fingerprint(out: Path) -> dict[str, str]:
    """sha256 of every published file, without `_report.json` (it holds timings)."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "_report.json" and not any(part.startswith(".staging-") for part in p.parts)
    }


def state_rows(work: Path) -> tuple[list, list, list]:
    """The payment ledger, the nightly runs (key, published) and the runs left unpublished."""
    from flows.state.store import connect

    with connect(str(work / "state" / "vsb.duckdb"), read_only=True) as con:
        ledger = con.sql("SELECT insz, budget, month, amount, run_key, paid_on FROM payment_ledger ORDER BY ALL")
        runs = con.sql("SELECT run_key FROM runs WHERE kind = 'nightly' ORDER BY run_key").fetchall()
        pending = con.sql("SELECT kind, run_key FROM runs WHERE NOT published").fetchall()
        return ledger.fetchall(), [r[0] for r in runs], pending


def payment_counts(work: Path, ledger: list) -> tuple[int, int]:
    """(ledger months in no published payments.parquet, months in more than one published payments row)."""
    import polars as pl

    files = [p for p in (work / "out" / "nightly").glob("*/*/payments.parquet") if not p.parts[-3].startswith(".")]
    paid = pl.concat([pl.read_parquet(f).select("insz", "budget", "month") for f in files])
    counts = paid.group_by("insz", "budget", "month").len()
    published = {(i, b, m) for i, b, m, _ in counts.iter_rows()}
    lost = sum((i, b, m) not in published for i, b, m, *_ in ledger)
    duplicated = counts.filter(pl.col("len") > 1).height
    return lost, duplicated


def reference(name: str, base: Path, tmp: Path, landing: Path, env: dict, days: list[str]) -> tuple[Path, float]:
    work = tmp / name
    shutil.copytree(base, work)
    seconds = 0.0
    for day in days:
        start = time.perf_counter()
        done = run(day, work, landing, env)
        if done.returncode:
            sys.exit(f"reference {name}: {day} failed: {done.stderr.strip()}")
        if day == PAYMENT_NIGHT:
            seconds = time.perf_counter() - start
    return work, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, default=None, help="default: benchmarks/common.py landing_for(100_000)")
    parser.add_argument("--kills", type=int, default=20, help="trials (the last four at the named steps)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()
    if args.landing is None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from common import landing_for

        args.landing = landing_for(100_000)
    landing = args.landing.resolve()
    tmp = Path(args.work or tempfile.mkdtemp(prefix="vsb-kill-")).resolve()
    tmp.mkdir(parents=True, exist_ok=True)
    env = environment(tmp / "prefect-home")
    try:
        base = tmp / "base"
        print(f"landing {landing}; work {tmp}", flush=True)
        if run(GO_LIVE, base, landing, env).returncode:
            sys.exit("the go-live night failed")
        ref_a, seconds = reference("reference-a", base, tmp, landing, env, [PAYMENT_NIGHT, NEXT_NIGHT])
        ref_b, _ = reference("reference-b", base, tmp, landing, env, [NEXT_NIGHT])
        expected = {
            True: (fingerprint(ref_a / "out"), state_rows(ref_a)[0]),
            False: (fingerprint(ref_b / "out"), state_rows(ref_b)[0]),
        }
        print(f"uninterrupted payment night: {seconds:.1f} s (process start to exit)", flush=True)

        steps = STEPS[: min(len(STEPS), args.kills)]
        timed = args.kills - len(steps)
        points = [(f"{seconds * (i + 0.5) / timed:5.1f} s", seconds * (i + 0.5) / timed, None) for i in range(timed)]
        points += [(step, None, f"{step}:kill") for step in steps]
        totals = {"kills": 0, "lost": 0, "duplicated": 0, "staging left": 0, "unpublished": 0}
        totals |= {"differ from uninterrupted": 0, "reruns needed": 0, "next night failed": 0}
        for number, (label, after, crash_at) in enumerate(points, 1):
            work = tmp / f"trial-{number:02d}"
            shutil.rmtree(work, ignore_errors=True)
            shutil.copytree(base, work)
            ended = killed_run(PAYMENT_NIGHT, work, landing, environment(tmp / "prefect-home", crash_at), after)
            totals["kills"] += ended == "killed"
            committed = PAYMENT_NIGHT in state_rows(work)[1]
            writing = (work / "out" / "nightly" / f".staging-{PAYMENT_NIGHT}").is_dir()
            published = (work / "out" / "nightly" / PAYMENT_NIGHT).is_dir()
            phase = "before its files" if not (committed or writing) else "writing its files" if not committed else ""
            phase = phase or ("published" if published else "committed, not published")
            totals[f"killed {phase}"] = totals.get(f"killed {phase}", 0) + 1
            nxt = run(NEXT_NIGHT, work, landing, env)
            rerun = ""
            if nxt.returncode and f"--as-of {PAYMENT_NIGHT}" in nxt.stderr:  # named the night to rerun
                totals["reruns needed"] += 1
                rerun = "; rerun " + ("ok" if run(PAYMENT_NIGHT, work, landing, env).returncode == 0 else "FAILED")
                nxt = run(NEXT_NIGHT, work, landing, env)
            totals["next night failed"] += nxt.returncode != 0
            ledger, runs, pending = state_rows(work)
            lost, duplicated = payment_counts(work, ledger)
            staging = [p.relative_to(work).as_posix() for p in (work / "out").rglob(".staging-*")]
            files, paid = expected[PAYMENT_NIGHT in runs]
            same = fingerprint(work / "out") == files and ledger == paid
            totals["lost"] += lost
            totals["duplicated"] += duplicated
            totals["staging left"] += len(staging)
            totals["unpublished"] += len(pending)
            totals["differ from uninterrupted"] += not same
            print(
                f"{number:2d} kill at {label:>13}: {ended} ({phase})"
                f"{rerun}; next night {'ok' if nxt.returncode == 0 else 'FAILED: ' + nxt.stderr.strip()}; "
                f"lost {lost}, duplicated {duplicated}, staging left {len(staging)}, unpublished {len(pending)}, "
                f"{'same as uninterrupted' if same else 'DIFFERS from uninterrupted'}",
                flush=True,
            )
            shutil.rmtree(work)
        print("summary: " + ", ".join(f"{k} {v}" for k, v in totals.items()), flush=True)
        bad = ("lost", "duplicated", "staging left", "unpublished", "differ from uninterrupted", "next night failed")
        return 1 if any(totals[k] for k in bad) else 0
    finally:
        if args.work is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
