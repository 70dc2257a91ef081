"""`vsb simulate` and the parallel backfill on generated data.

    .venv/bin/python benchmarks/simulate.py simulate --members 7000000      # simulate vs ingest + decide
    .venv/bin/python benchmarks/simulate.py backfill --members 1000000      # 30 nights: serial vs Dask
    .venv/bin/python benchmarks/simulate.py step NAME ...                    # one step (what the above run)

Every step runs in a fresh process and reports its own peak memory (VmHWM of /proc/self/status: ru_maxrss
would carry a parent's peak); the load average of the machine is recorded before and after each step, and
the core count: on a shared machine the figures move with the load.

simulate (one process per row, as-of 2027-12-26 by default: with the generated deliveries of 2026-11-01, the
window 2026-01..2027-12, so that the ZZB amount of 2027 changes too):
- reference: the decide stage as the nightly run does it: ingest and validate every feed, then decide once
  (flows/ingest.py ingest, flows/decide.py run_decisions; benchmarks/decide.py's measure);
- reference_decide_feeds: the same with only the six feeds decide reads (what a simulation reads);
- simulate_1 / simulate_4: the simulation of 1 and 4 reforms here (flows/simulate.py: read once, decide the
  baseline and each reform, compare, write the three files), without Prefect's start;
- simulate_4_dask (--dask): the same on a local cluster of two workers (`dask scheduler`, `dask worker`),
  each reading the landing zone itself.

backfill: the nightly runs D1..D1+29 from an empty state (a payment night on the 26th), with `vsb backfill`
in a fresh process (Prefect's temporary server included): serial, then with --dask-address on a local cluster
of two single-threaded workers. Both must give the same folders (compared by sha256, without timings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, landing_for

REFORMS = ROOT / "data" / "reforms"
ALL_REFORMS = ["adl-iadl-6", "zzb-150-2027", "bob-delay-4", "residence-3-years"]
DASK = Path(sys.executable).with_name("dask")
VSB = Path(sys.executable).with_name("vsb")


def vm_hwm_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 2**20, 2)
    return float("nan")


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# --- the steps, each run in its own process -----------------------------------------------------------


def step_reference(landing: Path, as_of: dt.date, feeds: str) -> dict:
    from flows.context import Options, start
    from flows.decide import DECIDE_FEEDS, run_decisions
    from flows.ingest import ingest
    from schemas.feeds import FEEDS

    wanted = tuple(FEEDS) if feeds == "all" else tuple(DECIDE_FEEDS)
    t0 = time.perf_counter()
    ctx = start("nightly", as_of, landing, Path("."), Path("."), Options(accept_shrink=frozenset(FEEDS)), wanted)
    ingested = ingest(ctx, keep=set(DECIDE_FEEDS))
    t1 = time.perf_counter()
    decided = run_decisions(ctx, ingested)
    t2 = time.perf_counter()
    return {"ingest_seconds": round(t1 - t0, 2), "decide_seconds": round(t2 - t1, 2), "periods": decided.periods.height}


def step_simulate(landing: Path, as_of: dt.date, reforms: list[str], dask_address: str | None) -> dict:
    from flows.context import Options
    from flows.progress import Steps
    from flows.reference import load_reference
    from flows.scenarios import scenarios_of, simulation_name
    from flows.simulate import compare_scenarios, decide_here, decide_on_cluster, publish_simulation, simulation_context
    from schemas.feeds import FEEDS

    steps = Steps(quiet=True)
    t0 = time.perf_counter()
    baseline = load_reference()
    scenarios = scenarios_of([REFORMS / f"{r}.yaml" for r in reforms], baseline, as_of)
    name = simulation_name(scenarios, None)
    outbox = Path(tempfile.mkdtemp(prefix="vsb-bench-sim-"))
    ctx = simulation_context(landing, outbox, as_of, Options(accept_shrink=frozenset(FEEDS), quiet=True), baseline)
    if dask_address:
        decided = decide_on_cluster(dask_address, ctx, scenarios, steps)
    else:
        decided = decide_here(ctx, scenarios, steps)  # outside a flow run: the steps are plain functions
    t1 = time.perf_counter()
    summary, changed = compare_scenarios(ctx, name, scenarios, decided)
    t2 = time.perf_counter()
    result = publish_simulation(outbox, name, as_of, summary, changed)
    t3 = time.perf_counter()
    digest = hashlib.sha256((Path(result["path"]) / "summary.json").read_bytes()).hexdigest()
    shutil.rmtree(outbox)
    return {
        "read_and_decide_seconds": round(t1 - t0, 2),
        "compare_seconds": round(t2 - t1, 2),
        "write_seconds": round(t3 - t2, 2),
        "steps": steps.timings,
        "changes": changed.height,
        "summary_sha256": digest,
    }


def run_step(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="simulate.py step")
    parser.add_argument("name", choices=["reference", "simulate"])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--feeds", default="all")
    parser.add_argument("--reforms", nargs="*", default=[])
    parser.add_argument("--dask-address")
    args = parser.parse_args(argv)
    before = load()
    start = time.perf_counter()
    if args.name == "reference":
        result = step_reference(args.landing, args.as_of, args.feeds)
    else:
        result = step_simulate(args.landing, args.as_of, args.reforms, args.dask_address)
    result |= {"seconds": round(time.perf_counter() - start, 2), "peak_gib": vm_hwm_gib()}
    result |= {"load_before": before, "load_after": load()}
    print(json.dumps(result), flush=True)


def fresh(*args: str) -> dict:
    """One step in a fresh process."""
    command = [sys.executable, __file__, "step", *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- a local Dask cluster -----------------------------------------------------------------------------


@contextmanager
def local_cluster(workers: int = 2, threads: int = 1):
    """`dask scheduler` and `workers` x `dask worker` on loopback; stopped at the end."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tempfile.gettempdir()}
    scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"]
    processes = [subprocess.Popen(scheduler, **quiet)]
    worker = [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", str(threads), "--no-dashboard"]
    processes += [subprocess.Popen([*worker, "--name", f"w{i}"], **quiet) for i in range(workers)]
    try:
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(workers, timeout=120)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the two benchmarks -------------------------------------------------------------------------------


def bench_simulate(members: int, as_of: dt.date, dask: bool) -> dict:
    landing = str(landing_for(members))
    common = ["--landing", landing, "--as-of", as_of.isoformat()]
    rows = {
        "reference": fresh("reference", *common, "--feeds", "all"),
        "reference_decide_feeds": fresh("reference", *common, "--feeds", "decide"),
        "simulate_1": fresh("simulate", *common, "--reforms", ALL_REFORMS[0]),
        "simulate_4": fresh("simulate", *common, "--reforms", *ALL_REFORMS),
    }
    if dask:
        with local_cluster() as address:
            rows["simulate_4_dask"] = fresh("simulate", *common, "--reforms", *ALL_REFORMS, "--dask-address", address)
    reference = rows["reference"]["seconds"]
    ratios = {f"{k}_to_reference": round(rows[k]["seconds"] / reference, 2) for k in rows if k.startswith("simulate")}
    return {"members": members, "as_of": as_of.isoformat(), "cores": os.cpu_count(), **rows, **ratios}


def outputs(outbox: Path) -> dict[str, str]:
    found = {}
    for path in sorted(outbox.rglob("*")):
        if path.is_file() and path.name != "_report.html":
            data = path.read_bytes()
            if path.name == "_report.json":
                report = json.loads(data)
                report.pop("timings_seconds", None)
                data = json.dumps(report, sort_keys=True).encode()
            found[path.relative_to(outbox).as_posix()] = hashlib.sha256(data).hexdigest()
    return found


def timed_backfill(landing: Path, first: dt.date, last: dt.date, work: Path, *extra: str) -> dict:
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect")}
    command = [str(VSB), "backfill", "--from", first.isoformat(), "--to", last.isoformat(), "--landing", str(landing)]
    command += ["--outbox", str(work / "out"), "--state", str(work / "state.duckdb"), "--quiet", *extra]
    command += ["--accept-mass-change"]
    before, start = load(), time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env, cwd=work)
    seconds = round(time.perf_counter() - start, 1)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    peak = next(int(line.split()[-1]) for line in done.stderr.splitlines() if "Maximum resident" in line)
    cpu = sum(float(line.split()[-1]) for line in done.stderr.splitlines() if "time (seconds)" in line)
    return {"seconds": seconds, "driver_cpu_seconds": round(cpu, 1), "driver_peak_gib": round(peak / 2**20, 2),
            "load_before": before, "load_after": load(), "line": done.stdout.strip()}  # fmt: skip


def bench_backfill(members: int, first: dt.date, nights: int) -> dict:
    landing = landing_for(members)
    last = first + dt.timedelta(days=nights - 1)
    work = Path(tempfile.mkdtemp(prefix="vsb-bench-backfill-"))
    try:
        (work / "serial").mkdir()
        (work / "dask").mkdir()
        serial = timed_backfill(landing, first, last, work / "serial")
        with local_cluster() as address:
            parallel = timed_backfill(landing, first, last, work / "dask", "--dask-address", address)
        same = outputs(work / "serial" / "out") == outputs(work / "dask" / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "members": members,
        "nights": nights,
        "first": first.isoformat(),
        "cores": os.cpu_count(),
        "serial": serial,
        "dask_2_workers": parallel,
        "speed_up": round(serial["seconds"] / parallel["seconds"], 2),
        "same_outputs": same,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "step":
        run_step(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["simulate", "backfill"])
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2027, 12, 26))
    parser.add_argument("--dask", action="store_true", help="simulate: also on a local 2-worker cluster")
    parser.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--nights", type=int, default=30)
    args = parser.parse_args()
    if args.what == "simulate":
        row = bench_simulate(args.members or 7_000_000, args.as_of, args.dask)
    else:
        row = bench_backfill(args.members or 1_000_000, args.first, args.nights)
    print(json.dumps(row, indent=2), flush=True)
    out = ROOT / "benchmarks" / "results" / f"{args.what}.json"
    found = json.loads(out.read_text()) if out.exists() else []
    found = [r for r in found if r.get("members") != row["members"]] + [row]
    out.write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
