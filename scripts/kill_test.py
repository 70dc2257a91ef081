"""Kill a run with SIGKILL at many points, run the next command, and check that nothing is lost, doubled or left.

    .venv/bin/python scripts/kill_test.py [--kind nightly] [--landing DIR | --members N] [--kills 20] [--work DIR]

A probe, not a unit test: tests/flows/test_kill_probe.py runs every kind at 2,000 members and 2 kills (slow
marker, CI); the 100k run (the default landing: benchmarks/common.py `landing_for(100_000)`, read in place, never
written; about 6 minutes for 20 nightly kills) stays a benchmark. `--members N` uses `landing_for(N)`.

1. the go-live night 2026-10-26 on an empty state, then what the kind needs (withdraw and rebuild-state: the
   payment night 2026-11-26; rebuild-state: the state file then removed): the base of every trial;
2. uninterrupted references from copies of the base: the killed command run whole, then the same next command;
3. each trial, on a fresh copy of the base: the kind's command in its own session, its MAIN process
   killed with SIGKILL (alone: its helpers must die with it, issue 20 point 8) at elapsed times spread over the
   reference's time, at the named steps (VSB_CRASH_AT=<step>:kill) and, for `letters` and `rebuild-state`, when
   the night's first letter scratch folder (the `<state>.rebuilding` file) appears and at times after it (a
   simulation's staging folder lives a few ms: too short to poll for; tests/flows/test_undo.py leaves one);
   then the next command, run directly;
4. checks: no process of the run left 5 s after the kill; no `.staging-*`, `.scratch-*` or `*.rebuilding` left;
   no run committed but unpublished; each payment month, invoice and fine in exactly one published file (lost:
   in none; duplicated: in more); the outcome (published files and state rows) equals the reference's.

Kinds (the killed command; the next command):
- nightly: the payment night 2026-11-26; the night 2026-11-27 (when it names a rerun of 2026-11-26, the script
  does that rerun and counts it). Its reference: the payment night then 2026-11-27 when the killed night had
  committed, 2026-11-27 alone when not.
- letters: the same, killed while the payment night renders its letters.
- invoices: `vsb invoices --year 2026 --as-of 2026-11-27`; the same again.
- fines: `vsb fines --year 2026`; the same again.
- simulate: `vsb simulate --as-of 2026-11-26 --reform data/reforms/adl-iadl-6.yaml`; the same again (it must
  publish the same folder).
- withdraw: `vsb withdraw --as-of 2026-11-26 --kind nightly`; the same again (completing it, or refusing when
  it was done), then the payment night again (a rerun gives the withdrawn bytes).
- rebuild-state: `vsb rebuild-state`; a killed rebuild leaves no state file or a whole one; the same again when
  none is there, then the night 2026-11-27 (equal to the lost state's next night).
"""

from __future__ import annotations

import argparse
import hashlib
import json
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
REFORM = ROOT / "data" / "reforms" / "adl-iadl-6.yaml"
GO_LIVE, PAYMENT_NIGHT, NEXT_NIGHT = "2026-10-26", "2026-11-26", "2026-11-27"
STEPS = ["before-commit", "after-commit", "before-rename", "after-rename"]  # VSB_CRASH_AT points, killed there
WITHDRAW_STEPS = ["withdraw-intent", "withdraw-commit", "withdraw-move", "withdraw-mark"]
# kind: (a file pattern in the trial's folder: its step has started, seconds between the kills after it appears)
TRIGGERS = {
    "letters": (".scratch-letters-*", 0.3),
    "rebuild-state": ("*.rebuilding", 0.1),
}
LOSE_STATE = "lose-state"  # not a command: the base's state file removed (rebuild-state)
# kind: (commands after the go-live night for the base, the killed command, the next commands, VSB_CRASH_AT steps)
KINDS = {
    "nightly": ([], PAYMENT_NIGHT, [NEXT_NIGHT], STEPS),
    "letters": ([], PAYMENT_NIGHT, [NEXT_NIGHT], []),
    "invoices": ([], "invoices", ["invoices"], STEPS),
    "fines": ([], "fines", ["fines"], STEPS),
    "simulate": ([], "simulate", ["simulate"], []),
    "withdraw": ([PAYMENT_NIGHT], "withdraw", ["withdraw", PAYMENT_NIGHT], WITHDRAW_STEPS),
    "rebuild-state": ([PAYMENT_NIGHT, LOSE_STATE], "rebuild-state", ["rebuild-state", NEXT_NIGHT], []),
}
# what must be in exactly one published file: (state table, its key columns, the published files, their columns)
COUNTED = [
    ("payment_ledger", "insz, budget, month", "nightly/*/*/payments.parquet", ["insz", "budget", "month"]),
    ("premium_invoices", "insz, premium_year", "invoices/*/*/*/invoices.parquet", ["insz", "premium_year"]),
    ("premium_fines", "insz, fine_year", "fines/*/*/fines.parquet", ["insz", "fine_year"]),
]
LEFTOVERS = [".staging-*", ".scratch-*", "*.rebuilding"]


def state_file(work: Path) -> Path:
    return work / "state" / "vsb.duckdb"


def vsb_command(what: str, work: Path, landing: Path) -> list[str]:
    """The command `what`: a date (the nightly run of that date) or a kind's command."""
    folders = ["--landing", str(landing), "--outbox", str(work / "out"), "--state", str(state_file(work))]
    future = ["--allow-future-date", "--quiet"]  # the probe's fixed dates, whatever the machine's clock
    commands = {
        "invoices": ["invoices", "--year", "2026", "--as-of", NEXT_NIGHT, *folders, *future],
        "fines": ["fines", "--year", "2026", *folders, *future],
        "simulate": ["simulate", "--as-of", PAYMENT_NIGHT, "--reform", str(REFORM), *folders, "--quiet"],
        "withdraw": ["withdraw", "--as-of", PAYMENT_NIGHT, "--kind", "nightly", "--reason", "kill probe", *folders],
        "rebuild-state": ["rebuild-state", *folders],
    }
    night = ["nightly", "--as-of", what, *folders, "--accept-mass-change", *future]
    return [str(VSB), *commands.get(what, night)]


def environment(prefect_home: Path, crash_at: str | None = None) -> dict:
    """The run's environment: a PREFECT_API_URL already set (the tests' server) is kept, so no command starts a
    temporary server of its own."""
    env = {**os.environ, "PREFECT_HOME": str(prefect_home)}
    env.pop("VSB_CRASH_AT", None)
    if crash_at:
        env["VSB_CRASH_AT"] = crash_at
    return env


def run(what: str, work: Path, landing: Path, env: dict) -> subprocess.CompletedProcess:
    if what == LOSE_STATE:
        for path in state_file(work).parent.glob("vsb.duckdb*"):  # the file, its WAL and its lock
            path.unlink()
        return subprocess.CompletedProcess([what], 0, "", "")
    return subprocess.run(vsb_command(what, work, landing), capture_output=True, text=True, env=env)


def session_left(sid: int) -> list[int]:
    """The living processes of the session `sid` (a killed run's: its pid), zombies left out."""
    left = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split() if stat else []
        if fields and fields[0] != "Z" and int(fields[3]) == sid:
            left.append(int(entry.name))
    return left


def killed_run(what: str, work: Path, landing: Path, env: dict, after: float | None, trigger: str | None) -> dict:
    """Start `what` in its own session and SIGKILL its main process alone: `after` seconds after its start
    (after `trigger`, a file pattern in the trial's folder, appears, when given; None: the run kills itself at its
    VSB_CRASH_AT step). Then the processes of its session that outlived it by 5 s (they are killed then)."""
    process = subprocess.Popen(
        vsb_command(what, work, landing),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    start, deadline = time.monotonic(), time.monotonic() + 600
    while process.poll() is None and time.monotonic() < deadline:
        if trigger and next(work.rglob(trigger), None):
            start, trigger = time.monotonic(), None
        if after is not None and trigger is None and time.monotonic() - start >= after:
            process.kill()  # the main process alone: its helpers must die with it (issue 20 point 8)
            break
        time.sleep(0.02)
    process.wait()
    ended = {0: "finished before the kill", -signal.SIGKILL: "killed"}.get(process.returncode)
    ended = ended or f"died ({process.returncode})"
    left_by = time.monotonic() + 5
    while session_left(process.pid) and time.monotonic() < left_by:
        time.sleep(0.1)
    left = session_left(process.pid)
    for pid in left:  # the probe's own cleanup
        os.kill(pid, signal.SIGKILL)
    return {"ended": ended, "processes left": len(left)}


def timeless(path: Path) -> bytes:
    """The file's bytes; a withdrawn manifest without the withdraw's time (`withdrawn.withdrawn_at`)."""
    data = path.read_bytes()
    if path.name != "manifest.json" or "withdrawn" not in path.parts:
        return data
    manifest = json.loads(data)
    manifest.get("withdrawn", {}).pop("withdrawn_at", None)
    return json.dumps(manifest, sort_keys=True).encode()


def fingerprint(out: Path) -> dict[str, str]:
    """sha256 of every published file, without `_report.json` and `_report.html` (they hold timings),
    `_withdrawn.json` and the withdraw's time in a withdrawn manifest."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(timeless(p)).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
        and p.name not in ("_report.json", "_report.html", "_withdrawn.json")
        and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def state_rows(work: Path) -> tuple[dict, list, list]:
    """The money tables (payment ledger, invoices, fines), the committed runs (kind, key) and the runs left
    unpublished; all empty without a state file."""
    from flows.state.store import connect

    if not state_file(work).exists():
        return {}, [], []
    with connect(str(state_file(work)), read_only=True) as con:
        tables = {r[0] for r in con.sql("SELECT table_name FROM information_schema.tables").fetchall()}
        rows = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t, *_ in COUNTED if t in tables}
        runs = con.sql("SELECT kind, run_key FROM runs ORDER BY ALL").fetchall()
        pending = con.sql("SELECT kind, run_key FROM runs WHERE NOT published").fetchall()
        return rows, runs, pending


def lost_and_duplicated(work: Path) -> tuple[int, int]:
    """(state rows of the money tables in no published file, keys in more than one published row)."""
    import polars as pl

    from flows.state.store import connect

    lost = duplicated = 0
    for table, keys, pattern, columns in COUNTED:
        files = [p for p in (work / "out").glob(pattern) if not any(s.startswith(".") for s in p.parts[-4:])]
        published = [pl.read_parquet(f, columns=columns) for f in files]
        counts = pl.concat(published).group_by(columns).len() if published else None
        with connect(str(state_file(work)), read_only=True) as con:
            has = con.sql(f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{table}'").fetchall()
            held = con.sql(f"SELECT DISTINCT {keys} FROM {table}").pl() if has[0][0] else None
        if held is None or held.is_empty():
            continue
        if counts is None:
            lost += held.height
            continue
        held = held.cast({c: counts.schema[c] for c in columns})
        lost += held.join(counts, on=columns, how="anti").height
        duplicated += counts.filter(pl.col("len") > 1).height
    return lost, duplicated


def reference(name: str, base: Path, tmp: Path, landing: Path, env: dict, commands: list[str]) -> tuple[Path, float]:
    """The commands run whole on a copy of the base; the seconds of the first (process start to exit)."""
    work = tmp / name
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    seconds = None
    for what in commands:
        start = time.perf_counter()
        done = run(what, work, landing, env)
        refused = what in ("withdraw", "rebuild-state") and seconds is not None  # (done already: refused)
        if done.returncode and not refused:
            sys.exit(f"reference {name}: {what} failed: {done.stderr.strip()}")
        seconds = time.perf_counter() - start if seconds is None else seconds
    return work, seconds or 0.0


def outcome(work: Path) -> tuple[dict, dict]:
    return fingerprint(work / "out"), state_rows(work)[0]


def differences(got: tuple[dict, dict], expected: tuple[dict, dict]) -> str:
    """What differs from the uninterrupted outcome: the first files and the state tables."""
    files = sorted(k for k in got[0].keys() | expected[0].keys() if got[0].get(k) != expected[0].get(k))
    tables = sorted(t for t in got[1].keys() | expected[1].keys() if got[1].get(t) != expected[1].get(t))
    return f"files {files[:3]}{' …' if len(files) > 3 else ''}, tables {tables}"


def references(kind: str, base: Path, tmp: Path, landing: Path, env: dict) -> tuple[dict, float]:
    """What a trial must end with, by whether the killed night had committed (nightly, letters: the killed night
    then the next, or the next alone; the other kinds: the killed command whole, then the next commands)."""
    _, killed, following, _ = KINDS[kind]
    ref, seconds = reference(f"{kind}-reference", base, tmp, landing, env, [killed, *following])
    expected = {True: outcome(ref), False: outcome(ref)}
    if killed == PAYMENT_NIGHT:
        other, _ = reference(f"{kind}-reference-b", base, tmp, landing, env, following)
        expected[False] = outcome(other)
        shutil.rmtree(other)
    shutil.rmtree(ref)
    return expected, seconds


def kill_points(kind: str, kills: int, seconds: float) -> list[tuple]:
    """(label, seconds after the start or the trigger, VSB_CRASH_AT, trigger): the named steps (all four from 8
    kills, else half the kills, spread), the rest at times spread over the uninterrupted run; letters and
    rebuild-state: once their step's file appears (TRIGGERS), then every step seconds after it."""
    if kind in TRIGGERS:
        pattern, step = TRIGGERS[kind]
        return [(f"{pattern}+{step * i:.1f} s", step * i, None, pattern) for i in range(kills)]
    steps = KINDS[kind][3]
    n = len(steps) if kills >= 2 * len(steps) else kills // 2
    chosen = [steps[i * len(steps) // n + (len(steps) // n - 1) // 2] for i in range(n)]
    timed = kills - n
    points = [(f"{t:5.1f} s", t, None, None) for t in (seconds * (i + 0.5) / timed for i in range(timed))]
    return points + [(step, None, f"{step}:kill", None) for step in chosen]


def follow(following: list[str], work: Path, landing: Path, env: dict, result: dict) -> str:
    """The next commands, run directly; a rerun the next night names is done and counted; a withdraw refused
    because it was done, or a rebuild refused because the state is there, is the expected answer."""
    notes = []
    for what in following:
        done = run(what, work, landing, env)
        if done.returncode and what == NEXT_NIGHT and f"--as-of {PAYMENT_NIGHT}" in done.stderr:
            result["reruns needed"] += 1
            notes.append("rerun " + ("ok" if run(PAYMENT_NIGHT, work, landing, env).returncode == 0 else "FAILED"))
            done = run(what, work, landing, env)
        expected_refusal = (what == "withdraw" and "no published nightly run" in done.stderr) or (
            what == "rebuild-state" and state_file(work).exists()
        )
        if done.returncode and not expected_refusal:
            result["next failed"] += 1
            notes.append(f"{what} FAILED: {(done.stderr.strip().splitlines() or [''])[-1]}")
        else:
            notes.append(f"{what} {'ok' if done.returncode == 0 else 'refused (done)'}")
    return "; ".join(notes)


def half_state(work: Path) -> int:
    """1 when a killed rebuild left a state file that is not whole (it must leave none, or the whole one)."""
    if not state_file(work).exists():
        return 0
    try:
        runs = state_rows(work)[1]
    except Exception:  # noqa: BLE001 - any failure to read it is a half state
        return 1
    return int(not {("nightly", GO_LIVE), ("nightly", PAYMENT_NIGHT)} <= set(runs))


def trial(kind: str, number: int, point: tuple, base: Path, tmp: Path, landing: Path, expected: dict) -> dict:
    label, after, crash_at, trigger = point
    work = tmp / f"{kind}-trial-{number:02d}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    env = environment(tmp / "prefect-home")
    got = killed_run(KINDS[kind][1], work, landing, environment(tmp / "prefect-home", crash_at), after, trigger)
    result = dict.fromkeys(["kills", "reruns needed", "next failed", "half state"], 0)
    result |= {"kills": int(got["ended"] == "killed"), "processes left": got["processes left"]}
    result["half state"] = half_state(work) if kind == "rebuild-state" else 0
    committed = ("nightly", PAYMENT_NIGHT) in state_rows(work)[1]
    notes = follow(KINDS[kind][2], work, landing, env, result)
    _, _, pending = state_rows(work)
    lost, duplicated = lost_and_duplicated(work)
    left = [p.relative_to(work).as_posix() for pattern in LEFTOVERS for p in work.rglob(pattern)]
    got_outcome = outcome(work)
    same = got_outcome == expected[committed]
    verdict = (
        "same as uninterrupted"
        if same
        else f"DIFFERS from uninterrupted: {differences(got_outcome, expected[committed])}"
    )
    result |= {"lost": lost, "duplicated": duplicated, "leftovers": len(left), "unpublished": len(pending)}
    result["differ from uninterrupted"] = int(not same)
    print(
        f"{kind} {number:2d} kill at {label:>16}: {got['ended']}, processes left {got['processes left']}"
        f"{', HALF STATE' if result['half state'] else ''}; {notes}; lost {lost}, duplicated {duplicated}, "
        f"leftovers {left or 0}, unpublished {len(pending)}, "
        f"{verdict}",
        flush=True,
    )
    shutil.rmtree(work)
    return result


BAD = ["lost", "duplicated", "leftovers", "unpublished", "differ from uninterrupted", "next failed"]
BAD += ["processes left", "half state"]


def probe(kind: str, go_live: Path, tmp: Path, landing: Path, kills: int) -> dict:
    """Every trial of one kind; its totals (with its seconds)."""
    started = time.perf_counter()
    env = environment(tmp / "prefect-home")
    base = tmp / f"{kind}-base"
    shutil.rmtree(base, ignore_errors=True)
    shutil.copytree(go_live, base)
    for what in KINDS[kind][0]:
        if run(what, base, landing, env).returncode:
            sys.exit(f"{kind}: preparing the base ({what}) failed")
    expected, seconds = references(kind, base, tmp, landing, env)
    print(f"{kind}: uninterrupted {KINDS[kind][1]}: {seconds:.1f} s (process start to exit)", flush=True)
    totals: dict[str, float] = {}
    for number, point in enumerate(kill_points(kind, kills, seconds), 1):
        for key, value in trial(kind, number, point, base, tmp, landing, expected).items():
            totals[key] = totals.get(key, 0) + value
    shutil.rmtree(base)
    totals["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{kind} summary: " + ", ".join(f"{k} {v}" for k, v in totals.items()), flush=True)
    return totals


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", action="append", choices=[*KINDS, "all"], help="repeatable (default: nightly)")
    parser.add_argument("--landing", type=Path, default=None, help="default: benchmarks/common.py landing_for(...)")
    parser.add_argument("--members", type=int, default=100_000, help="the generated landing's size (no --landing)")
    parser.add_argument("--kills", type=int, default=20, help="trials per kind (from 8: all four named steps)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--report", type=Path, default=None, help="write the totals per kind here (JSON)")
    args = parser.parse_args()
    kinds = args.kind or ["nightly"]
    args.kind = list(KINDS) if "all" in kinds else list(dict.fromkeys(kinds))
    if args.landing is None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from common import landing_for

        args.landing = landing_for(args.members)
    return args


def main() -> int:
    args = arguments()
    landing = args.landing.resolve()
    tmp = Path(args.work or tempfile.mkdtemp(prefix="vsb-kill-")).resolve()
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        go_live = tmp / "go-live"
        print(f"landing {landing}; work {tmp}; kinds {', '.join(args.kind)}", flush=True)
        if run(GO_LIVE, go_live, landing, environment(tmp / "prefect-home")).returncode:
            sys.exit("the go-live night failed")
        report = {kind: probe(kind, go_live, tmp, landing, args.kills) for kind in args.kind}
        if args.report:
            args.report.write_text(json.dumps(report, indent=2) + "\n")
        return 1 if any(totals.get(k) for totals in report.values() for k in BAD) else 0
    finally:
        if args.work is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
