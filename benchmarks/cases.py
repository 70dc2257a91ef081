"""What the case_decisions feed costs (issue 21, docs/spec/rules.md §10): ingest + decide and the steady payment
night, with the feed (this checkout) and without it (`--baseline`: a checkout of the code before the feed), on the
same generated landing zone (about 43 case rows per 1,000 members: 300,000 at 7M).

    git -C /work/main archive <commit before case_decisions> | tar -x -C /tmp/vsb-base
    .venv/bin/python benchmarks/cases.py --members 7000000 --baseline /tmp/vsb-base --repeats 3

The code before the feed does not read the landing's case_decisions folder. Every step runs in a fresh process
(common.measure: wall seconds, the process's own peak RSS `VmHWM`, and `cpu_seconds`: user + system of the whole
process, the figure that holds whatever else the machine runs). The variants run in turn (A B A B ...):
- ingest + decide (benchmarks/decide.py's step: every feed of the night, then decide), `--repeats` times each
  (`--empty-feed`: also this code on a copy of the landing whose case_decisions deliveries are empty);
- the go-live payment night on an empty state (2026-10-26) once each, then the steady payment night of the month
  after (2026-11-26) `--repeats` times each, each from a copy of the state its own go-live night left.
The medians and the ratio with/without are written to benchmarks/results/cases.json. Target at 7M: at most 5% more
CPU with the feed, ingest + decide and steady night alike.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from common import ROOT, landing_for, measure

DECIDE_CODE = """
import sys
sys.path.insert(0, {root!r})  # the code to measure: this checkout, or the baseline without the feed
import datetime as dt, time
from pathlib import Path
import flows
from flows.context import start
from flows.decide import DECIDE_FEEDS, run_decisions
from flows.ingest import ingest
t0 = time.perf_counter()
ctx = start("nightly", dt.date.fromisoformat({as_of!r}), Path({landing!r}), Path("out"), Path("state"))
got = ingest(ctx, keep=set(DECIDE_FEEDS))
t1 = time.perf_counter()
decided = run_decisions(ctx, got)
t2 = time.perf_counter()
result = {{"code": str(Path(flows.__file__).parent.parent), "feeds": sorted(DECIDE_FEEDS),
           "ingest_seconds": round(t1 - t0, 2), "decide_seconds": round(t2 - t1, 2),
           "months_entitled": decided.months_entitled(), "worklist_rows": decided.worklist.height}}
"""

NIGHT_CODE = """
import sys
sys.path.insert(0, {root!r})  # the code to measure: this checkout, or the baseline without the feed
from flows.cli import main
code = main(["nightly", "--as-of", {as_of!r}, "--landing", {landing!r}, "--outbox", {outbox!r},
             "--state", {state!r}, "--quiet", "--accept-mass-change"])
assert code == 0
import json, pathlib
report = json.loads((pathlib.Path({outbox!r}) / "nightly" / {as_of!r} / "_report.json").read_text())
timings = report["timings_seconds"]
result = {{"events": report["events"], "payments": report["payments"], "timings": timings}}
"""
GO_LIVE, STEADY = "2026-10-26", "2026-11-26"


def _median(values: list[float]) -> float:
    values = sorted(values)
    half = len(values) // 2
    return values[half] if len(values) % 2 else round((values[half - 1] + values[half]) / 2, 2)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _summary(runs: dict[str, list[dict]]) -> dict:
    """Medians of cpu_seconds, seconds and peak RSS per variant, and with/without."""
    keys = ("cpu_seconds", "seconds", "peak_rss_gib")
    figures = {v: {k: _median([r[k] for r in rs]) for k in keys} for v, rs in runs.items()}
    ratio = {k: round(figures["with_feed"][k] / figures["without_feed"][k], 3) for k in figures["with_feed"]}
    found = {"median": figures, "with_to_without": ratio}
    if "empty_feed" in figures:
        found["empty_feed_to_without"] = {
            k: round(figures["empty_feed"][k] / figures["without_feed"][k], 3) for k in figures["with_feed"]
        }
    return found


def without_cases(landing: Path) -> Path:
    """A copy of `landing` (hard links) whose case_decisions deliveries are empty but typed: the code with the feed,
    none of its rows (what the feature costs by itself, apart from the months the rows grant)."""
    import polars as pl

    from schemas.feeds import FEEDS

    folder = landing.with_name(landing.name + "-empty-cases")
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        for source in landing.rglob("*.parquet"):
            target = folder / source.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.parts[-3] == "case_decisions":
                pl.DataFrame(schema=FEEDS["case_decisions"].columns).write_parquet(target)
            else:
                os.link(source, target)
        (folder / ".complete").write_text("{}")
    return folder


def decide_steps(variants: dict[str, Path], landing: Path, repeats: int, empty: Path | None = None) -> dict:
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    if empty is not None:
        runs["empty_feed"] = []
    for _ in range(repeats):
        for name in runs:
            root, folder = (ROOT, empty) if name == "empty_feed" else (variants[name], landing)
            load = _load()
            code = DECIDE_CODE.format(root=str(root), as_of=STEADY, landing=str(folder))
            runs[name].append(measure(code) | {"load_before": load, "load_after": _load()})
            print(json.dumps({"ingest+decide": name, **runs[name][-1]}), flush=True)
    return {"runs": runs, **_summary(runs)}


def night(root: Path, landing: Path, work: Path, as_of: str, state: Path) -> dict:
    load = _load()
    code = NIGHT_CODE.format(
        root=str(root), as_of=as_of, landing=str(landing), outbox=str(work / "out"), state=str(state)
    )
    return measure(code) | {"load_before": load, "load_after": _load()}


def nights(variants: dict[str, Path], landing: Path, repeats: int, work: Path) -> dict:
    """The go-live night once per variant, then the steady payment night `repeats` times each, in turn."""
    go_live = {}
    for name, root in variants.items():
        go_live[name] = night(root, landing, work / name, GO_LIVE, work / name / "go-live.duckdb")
        print(json.dumps({"go-live": name, **go_live[name]}), flush=True)
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(repeats):
        for name, root in variants.items():
            state = work / name / "steady.duckdb"
            shutil.copyfile(work / name / "go-live.duckdb", state)
            shutil.rmtree(work / name / "out" / "nightly" / STEADY, ignore_errors=True)
            runs[name].append(night(root, landing, work / name, STEADY, state))
            print(json.dumps({"steady": name, **runs[name][-1]}), flush=True)
    return {"go_live": go_live, "steady": {"runs": runs, **_summary(runs)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=7_000_000)
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code before case_decisions")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-nights", action="store_true", help="ingest + decide only")
    parser.add_argument(
        "--empty-feed", action="store_true", help="ingest + decide also with this code on an empty case_decisions feed"
    )
    args = parser.parse_args()
    landing = landing_for(args.members)
    newest = sorted((landing / "case_decisions").glob("delivery_date=*"))[-1:]
    cases = sum(pq.read_metadata(f).num_rows for d in newest for f in d.glob("*.parquet"))
    variants = {"with_feed": ROOT, "without_feed": args.baseline.resolve()}
    found: dict = {"members": args.members, "cpus": os.cpu_count(), "case_rows": cases, "load_before": _load()}
    out = ROOT / "benchmarks" / "results" / "cases.json"
    out.parent.mkdir(exist_ok=True)
    empty = without_cases(landing) if args.empty_feed else None
    found["ingest_decide"] = decide_steps(variants, landing, args.repeats, empty)
    out.write_text(json.dumps(found, indent=2) + "\n")  # (kept should a night fail)
    if not args.no_nights:
        work = Path(tempfile.mkdtemp(prefix="vsb-bench-cases-"))
        try:
            found |= nights(variants, landing, args.repeats, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    found["load_after"] = _load()
    out.write_text(json.dumps(found, indent=2) + "\n")
    steps = [k for k in ("ingest_decide", "steady") if k in found]
    medians = {k: {m: found[k][m] for m in ("median", "with_to_without")} for k in steps}
    print(json.dumps({"members": args.members, "case_rows": cases, **medians}, indent=2))


if __name__ == "__main__":
    main()
