"""Shared by the benchmarks: a cached generated landing zone, and measuring a step in a fresh process.

Each measured step runs in its own Python process and reports that process's own peak RSS: `VmHWM`
of /proc/self/status, read at its end. (`ru_maxrss` would not do: it survives exec, so a child of a
parent that grew to N GiB reports at least N GiB; docs/stack-notes.md "Measuring memory".) For the same
reason a missing landing zone is generated in a process of its own, never in the benchmark's.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the benchmarks import the engine's constants (e.g. a run's feeds)
CACHE = ROOT / "benchmarks" / "cache"
AS_OF_GENERATED = dt.date(2026, 11, 1)

GENERATE_CODE = """
import datetime as dt
from pathlib import Path
from flows.reference import REFERENCE_DIR
from synthdata.landing import write_landing, zorgkas_codes
write_landing(Path({folder!r}), {members}, {seed}, dt.date.fromisoformat({as_of!r}), zorgkas_codes(REFERENCE_DIR))
result = {{}}
"""


def landing_for(members: int, seed: int = 1) -> Path:
    """The generated landing zone for `members`, made once (in a process of its own) and kept in
    benchmarks/cache/."""
    from schemas.feeds import FEEDS

    folder = CACHE / f"landing-{members}-seed{seed}"
    done = folder / ".complete"
    if not done.exists() or not all((folder / feed).is_dir() for feed in FEEDS):  # (made before a feed existed)
        print(f"generating {members:,} members into {folder} …", flush=True)
        code = GENERATE_CODE.format(folder=str(folder), members=members, seed=seed, as_of=AS_OF_GENERATED.isoformat())
        made = measure(code)
        done.write_text(json.dumps({"seconds": made["seconds"], "peak_rss_gib": made["peak_rss_gib"]}))
    return folder


def vm_hwm_gib() -> float:
    """This process's peak resident set size (VmHWM), in GiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status")


WRAPPER = """
import json, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {benchmarks!r})
from common import vm_hwm_gib
_bench_started = time.perf_counter()  # (a name the measured code does not use)
{code}
result['seconds'] = round(time.perf_counter() - _bench_started, 2)
result['peak_rss_gib'] = round(vm_hwm_gib(), 2)
print(json.dumps(result))
"""


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's finished children (and the children they waited for)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(code: str) -> dict:
    """Run `code` in a fresh process; it sets `result` (a dict). Adds its wall seconds, its own peak RSS and the
    CPU seconds of the whole process (`cpu_seconds`: user + system, its start and imports included, every thread and
    every child it waited for: the figure that does not depend on what else the machine runs)."""
    wrapper = WRAPPER.format(root=str(ROOT), benchmarks=str(ROOT / "benchmarks"), code=code)
    started = time.perf_counter()
    cpu = children_cpu_seconds()
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the measured step failed (exit {out.returncode}):\n{out.stderr}")
    last = out.stdout.strip().splitlines()[-1]
    result = json.loads(last[last.index("{") :])  # (after a progress bar a library may have drawn on that line)
    result["process_seconds"] = round(time.perf_counter() - started, 2)  # its start and imports included
    result["cpu_seconds"] = round(children_cpu_seconds() - cpu, 2)
    return result


FLOOR_CODE = """
import glob, pyarrow.parquet as pq
from flows.state.store import connect
from flows.context import locate_deliveries
import datetime as dt
from pathlib import Path
landing = Path({landing!r})
deliveries = locate_deliveries(landing, dt.date.fromisoformat({as_of!r}), *{feeds!r})
con = connect()
con.execute("SET enable_progress_bar = false")  # its bar would share stdout with the result line
rows = 0
for d in deliveries.values():
    files = [str(f) for f in d.files]
    columns = pq.read_schema(files[0]).names
    counts = ", ".join(f'count("{{c}}")' for c in columns)
    rows += con.execute(f"select count(*), {{counts}} from read_parquet({{files!r}})").fetchone()[0]
result = {{"rows": rows}}
"""


def floor(landing: Path, as_of: dt.date, feeds: tuple[str, ...] | None = None) -> dict:
    """The floor: DuckDB reading every column of every input file of the run once (of `feeds` only
    when given: a run that reads some of the feeds)."""
    return measure(FLOOR_CODE.format(landing=str(landing), as_of=as_of.isoformat(), feeds=(feeds,) if feeds else ()))
