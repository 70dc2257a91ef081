"""Shared by the benchmarks: a cached generated landing zone, and measuring a step in a fresh process.

Each measured step runs in its own Python process, so that its peak RSS is its own.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the benchmarks import the engine's constants (e.g. a run's feeds)
CACHE = ROOT / "benchmarks" / "cache"
AS_OF_GENERATED = dt.date(2026, 11, 1)


def landing_for(members: int, seed: int = 1) -> Path:
    """The generated landing zone for `members`, made once and kept in benchmarks/cache/."""
    folder = CACHE / f"landing-{members}-seed{seed}"
    done = folder / ".complete"
    if not done.exists():
        from flows.reference import REFERENCE_DIR
        from synthdata.landing import write_landing, zorgkas_codes

        start = time.perf_counter()
        print(f"generating {members:,} members into {folder} …", flush=True)
        write_landing(folder, members, seed, AS_OF_GENERATED, zorgkas_codes(REFERENCE_DIR))
        done.write_text(json.dumps({"seconds": round(time.perf_counter() - start, 1)}))
    return folder


def measure(code: str) -> dict:
    """Run `code` in a fresh process; it prints one JSON line. Adds the process's peak RSS."""
    wrapper = (
        "import json, resource, sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "start = time.perf_counter()\n"
        f"{code}\n"
        "result['seconds'] = round(time.perf_counter() - start, 2)\n"
        "result['peak_rss_gib'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


FLOOR_CODE = """
import duckdb, glob, pyarrow.parquet as pq
from flows.context import locate_deliveries
import datetime as dt
from pathlib import Path
landing = Path({landing!r})
deliveries = locate_deliveries(landing, dt.date.fromisoformat({as_of!r}), *{feeds!r})
con = duckdb.connect()
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
