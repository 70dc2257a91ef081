"""Rendering letters (docs/spec/rules.md §9) on generated data: invoice letters, then decision letters.

    .venv/bin/python benchmarks/letters.py --invoices 500000 --decisions 20000 --workers 2

Builds N synthetic premium invoices (premium.INVOICE_COLUMNS) and members with names, languages
(60% NL, 40% FR) and addresses, turns them into letters (content.invoice_letters) and renders them
with flows.io.letters.render_letters, every core busy (`--workers`, default the CPU count). The same
for decision letters (NEW events with three paid months and two motivation items each).

The letter rows are built in one child process and written to Parquet, then rendered in another
(docs/stack-notes.md "Measuring memory": a process's peak includes whatever it did before).
Reported per kind: letters, files, pages, wall seconds, letters/s in all and per worker, letters per
CPU second of the workers (the per-core rate whatever else the machine runs), the load average, the
seconds to build the letter rows, the peak RSS (VmHWM) of the parent and of the largest worker
(each file is compiled in a fresh worker process, so a worker's VmHWM is that file's peak), the
peak of everything at once (parent + workers x largest worker: an upper bound), the PDF size, and
the time extrapolated to 4.6M invoices (an invoice run at 7M members issues about 4.65M).
Target of the issue: >= 400 letters/s per core with both cores busy, <= 2 GiB, on >= 500,000 invoices.

The nights with and without letters (results in benchmarks/results/letters_nights.json):

    git archive <commit before letters> | tar -x -C /tmp/vsb-base
    .venv/bin/python benchmarks/letters.py --nights 7000000 --baseline /tmp/vsb-base --repeats 3

`vsb nightly` in fresh processes on the generated landing (benchmarks/cache, generated with the members'
language and address columns): the go-live payment night on an empty state (every grant NEW: a letter each),
then the steady payment night of the month after, each variant from a copy of its own go-live state, in
turn; reported: seconds, peak RSS, letters per kind, the letters' own timings, the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))
from flows.io.letters import LETTERS_PER_FILE, RenderedFile, render_letters  # noqa: E402
from flows.reference import load_reference  # noqa: E402
from pipelines.emit.letters import content  # noqa: E402
from pipelines.emit.letters.appeal import appeal_terms  # noqa: E402
from pipelines.premium.invoices import INVOICE_COLUMNS, structured_reference  # noqa: E402
from pipelines.settle.grants import EVENT_COLUMNS, EVENT_ORDER  # noqa: E402

FIRST = ["Jan", "Marie", "Pieter", "Sophie", "Luc", "Anne", "Ahmed", "Fatima", "Wim", "Isabelle", "Koen", "Nathalie"]
LAST = ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes", "Vermeulen", "El Amrani", "Wouters", "Dupont"]
STREETS = ["Kerkstraat", "Stationsstraat", "Rue de la Station", "Dorpsstraat", "Chaussée de Louvain", "Molenstraat"]
CITIES = ["Gent", "Antwerpen", "Brussel", "Leuven", "Hasselt", "Brugge", "Mechelen", "Aalst"]
ZORGKASSEN = ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]
TARGET_PER_CORE = 400
TARGET_GIB = 2.0
FULL_RUN_INVOICES = 4_600_000


def _pick(values: list[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values)).get(index % len(values))


def members_frame(n: int) -> pl.DataFrame:
    """N members: insz 11 digits, a name, 60% NL / 40% FR, a Belgian address (1% without a street)."""
    i = pl.int_range(0, n, dtype=pl.Int64)
    return pl.select(
        (pl.lit(10_000_000_000, pl.Int64) + i * 7).cast(pl.String).alias("insz"),
        pl.format("{} {}", _pick(FIRST, i), _pick(LAST, i // 12)).alias("name"),
        pl.when(i % 5 < 3).then(pl.lit("NL")).otherwise(pl.lit("FR")).alias("language"),
        pl.when(i % 100 == 0)
        .then(pl.lit(None, pl.String))
        .otherwise(pl.format("{} {}", _pick(STREETS, i), (i % 180 + 1).cast(pl.String)))
        .alias("street"),
        (1000 + (i * 37) % 9000).cast(pl.String).alias("postal_code"),
        _pick(CITIES, i // 7).alias("city"),
    )


def invoices_frame(members: pl.DataFrame, invoice_date: dt.date) -> pl.DataFrame:
    """One 2027 premium invoice per member: 20% reduced (35.00), else 100.00; numbered per zorgkas."""
    i = pl.int_range(0, pl.len(), dtype=pl.Int64)
    frame = members.select(
        "insz",
        _pick(ZORGKASSEN, i).alias("zorgkas"),
        pl.lit(2027, pl.Int32).alias("premium_year"),
        (i % 5 == 0).alias("reduced"),
    ).with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("zorgkas").alias("reference_base"))
    return frame.select(
        pl.format("{}-2027-{}", "zorgkas", pl.col("reference_base").cast(pl.String).str.zfill(10)).alias("invoice_id"),
        "insz",
        "zorgkas",
        "premium_year",
        pl.when("reduced")
        .then(pl.lit(Decimal("35.00"), pl.Decimal(12, 2)))
        .otherwise(pl.lit(Decimal("100.00"), pl.Decimal(12, 2)))
        .alias("amount"),
        "reduced",
        pl.when("reduced")
        .then(pl.lit(["P-LIABLE", "P-REDUCED"], pl.List(pl.String)))
        .otherwise(pl.lit(["P-LIABLE"], pl.List(pl.String)))
        .alias("grounds"),
        structured_reference(),
        pl.lit(dt.date(2027, 4, 30)).alias("due_date"),
        pl.lit(invoice_date).alias("invoice_date"),
    ).select([pl.col(c).cast(t) for c, t in INVOICE_COLUMNS.items()])


def decision_inputs(members: pl.DataFrame, run_date: dt.date) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """NEW ZZB events from August, three paid months each, and two motivation rows (G-BELRAI, ZZB-START)."""
    first = dt.date(run_date.year, run_date.month - 3, 1)
    i = pl.int_range(0, pl.len(), dtype=pl.Int64)
    events = members.select(
        "insz",
        _pick(ZORGKASSEN, i).alias("zorgkas"),
        pl.lit("ZZB").alias("budget"),
        pl.lit("NEW").alias("event"),
        pl.lit(first).alias("first_month"),
        pl.lit(None, pl.Date).alias("last_month"),
        pl.lit(Decimal("140.00"), pl.Decimal(12, 2)).alias("monthly_amount"),
        pl.lit(["G-BELRAI"], pl.List(pl.String)).alias("grounds"),
        pl.lit([], pl.List(pl.String)).alias("evidence"),
        pl.lit(run_date).alias("decided_on"),
    ).select([pl.col(c).cast(EVENT_COLUMNS[c]) for c in EVENT_ORDER])
    months = pl.date_range(first, run_date.replace(day=1), "1mo", eager=True).to_list()[1:]
    payments = (
        events.select("insz", "budget", pl.lit(months, pl.List(pl.Date)).alias("month"))
        .explode("month")
        .with_columns(pl.lit(Decimal("140.00"), pl.Decimal(12, 2)).alias("amount"))
    )
    screener = dt.date(first.year, first.month - 3, 12)
    base = events.select(
        "insz",
        "budget",
        "first_month",
        pl.lit("belrai_screeners").alias("feed"),
        pl.format("BS{}", pl.col("insz").str.slice(5)).alias("record_id"),
        pl.lit(screener).alias("record_date"),
        pl.lit(None, pl.Date).alias("record_end_date"),
    )
    motivation = pl.concat(
        [
            base.with_columns(
                pl.lit("G-BELRAI").alias("code"),
                pl.lit("HOLDS").alias("outcome"),
                (13 + (pl.int_range(0, pl.len()) % 10) / 2).cast(pl.Float64).alias("score"),
                pl.lit("GEZINSZORG").alias("record_kind"),
            ),
            base.with_columns(
                pl.lit("ZZB-START").alias("code"),
                pl.lit("HOLDS").alias("outcome"),
                pl.lit(None, pl.Float64).alias("score"),
                pl.lit(None, pl.String).alias("record_kind"),
            ),
        ]
    ).select([pl.col(c).cast(t) for c, t in content.MOTIVATION_COLUMNS.items()])
    return events, payments, motivation


def _vm_hwm_gib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return 0.0


RUN_DATE = dt.date(2026, 11, 26)


def build(kind: str, n: int) -> pl.DataFrame:
    """The letter rows of `n` synthetic invoices or decisions (content.LETTER_COLUMNS)."""
    members = members_frame(n)
    if kind == "invoice":
        return content.invoice_letters(invoices_frame(members, dt.date(2027, 1, 2)), members)
    events, payments, motivation = decision_inputs(members, RUN_DATE)
    terms = appeal_terms(RUN_DATE, 90, 5, Decimal("75.00"), Decimal("37.50"))
    allowance = members.filter(pl.col("insz").str.slice(9, 1) == "1").select("insz")
    return content.decision_letters(events, payments, motivation, members, terms, allowance)


def build_step(kind: str, n: int, target: Path) -> dict:
    """Child process: build the letters and write them to `target` (Parquet)."""
    started = time.perf_counter()
    letters = build(kind, n)
    seconds = time.perf_counter() - started
    letters.write_parquet(target)
    return {"build_seconds": round(seconds, 2), "peak_rss_build_gib": round(_vm_hwm_gib(), 2)}


def render_step(source: Path, workers: int, letters_per_file: int) -> dict:
    """Child process: read the letters and render them, as the letters step of a run would."""
    load_before = round(os.getloadavg()[0], 2)
    letters = pl.read_parquet(source)
    files: list[RenderedFile] = []
    out = Path(tempfile.mkdtemp(prefix="vsb-bench-letters-"))
    try:
        started = time.perf_counter()
        rows = render_letters(
            letters,
            out,
            load_reference().zorgkassen,
            letters_per_file=letters_per_file,
            workers=workers,
            on_file=files.append,
        )
        seconds = time.perf_counter() - started
        pdf_bytes = sum(f.stat().st_size for f in out.glob("*.pdf"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    n = rows.height
    worker_peak = max(f.peak_rss_kib for f in files) / 2**20
    parent_peak = _vm_hwm_gib()
    return {
        "letters": n,
        "files": len(files),
        "letters_per_file": letters_per_file,
        "pages": int(rows["pages"].sum()),
        "workers": workers,
        "cpus": os.cpu_count(),
        "render_seconds": round(seconds, 2),
        "letters_per_second": round(n / seconds, 1),
        "letters_per_second_per_core": round(n / seconds / workers, 1),
        "file_seconds_mean": round(sum(f.seconds for f in files) / len(files), 2),
        # CPU time of the workers (every thread): what a core does when it is ours alone, whatever else runs
        "letters_per_cpu_second": round(n / sum(f.cpu_seconds for f in files), 1),
        "worker_cpu_seconds": round(sum(f.cpu_seconds for f in files), 1),
        "peak_rss_parent_gib": round(parent_peak, 2),
        "peak_rss_worker_gib": round(worker_peak, 2),
        # an upper bound: the parent and every worker at its peak at the same time
        "peak_rss_all_gib": round(parent_peak + workers * worker_peak, 2),
        "pdf_mib": round(pdf_bytes / 2**20, 1),
        "load_average_before": load_before,
        "load_average_after": round(os.getloadavg()[0], 2),
    }


def _child(*arguments: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *arguments], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(kind: str, n: int, workers: int, letters_per_file: int) -> dict:
    """Build in one process, render in another: each step's peak memory is its own (docs/stack-notes.md)."""
    folder = Path(tempfile.mkdtemp(prefix="vsb-bench-letters-rows-"))
    try:
        rows = folder / "letters.parquet"
        built = _child("--step", "build", "--kind", kind, "--n", str(n), "--rows", str(rows))
        rendered = _child(
            "--step",
            "render",
            "--rows",
            str(rows),
            "--workers",
            str(workers),
            "--letters-per-file",
            str(letters_per_file),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    row = {"kind": kind, **built, **rendered}
    if kind == "invoice":
        rate = row["letters_per_second"]
        row["extrapolated_seconds_4_6m"] = round(FULL_RUN_INVOICES / rate)
        row["extrapolated_seconds_4_6m_from_cpu"] = round(FULL_RUN_INVOICES / (row["letters_per_cpu_second"] * workers))
        row["target_met"] = (
            row["letters_per_second_per_core"] >= TARGET_PER_CORE and row["peak_rss_all_gib"] <= TARGET_GIB
        )
    print(json.dumps(row), flush=True)
    return row


# --- the nights with and without letters ----------------------------------------------------------------

NIGHT_CODE = """
import sys
sys.path.insert(0, {root!r})  # the code to measure: this checkout, or the baseline without letters
from flows.cli import main
code = main(["nightly", "--as-of", {as_of!r}, "--landing", {landing!r}, "--outbox", {outbox!r},
             "--state", {state!r}, "--quiet", "--accept-mass-change"])
assert code == 0
import json, os, pathlib
report = json.loads((pathlib.Path({outbox!r}) / "nightly" / {as_of!r} / "_report.json").read_text())
timings = report["timings_seconds"]
letters = report.get("letters", {{}})
result = {{"events": report["events"], "payments": report["payments"]["rows"],
           "letters": letters.get("total", 0), "letters_by_kind": letters.get("by_kind", {{}}),
           "letters_seconds": timings.get("letters"), "letters_render_seconds": timings.get("letters render"),
           "load_average_after": round(os.getloadavg()[0], 2)}}
"""
GO_LIVE, STEADY = "2026-10-26", "2026-11-26"


def night(root: Path, landing: Path, work: Path, as_of: str, state: Path) -> dict:
    """One `vsb nightly` of the code at `root`, in a fresh process (common.measure: seconds and peak RSS)."""
    from common import measure

    code = NIGHT_CODE.format(
        root=str(root), as_of=as_of, landing=str(landing), outbox=str(work / "out"), state=str(state)
    )
    return measure(code) | {"load_average_before": round(os.getloadavg()[0], 2)}


def nights(members: int, baseline: Path, repeats: int, keep: Path | None = None) -> dict:
    """The go-live payment night on an empty state, then the steady payment night of the month after, with
    letters (this checkout) and without (`baseline`: the code before letters, e.g. `git archive` of it): the
    go-live night once each, the steady night `repeats` times each, in turn, each from a copy of the state
    its go-live night left. `keep`: a folder to work in and keep (the go-live states, for other measurements)."""
    from common import landing_for

    landing = landing_for(members)
    work = keep or Path(tempfile.mkdtemp(prefix="vsb-bench-letters-nights-"))
    variants = {"with_letters": ROOT, "without_letters": baseline}
    found: dict = {"members": members, "cpus": os.cpu_count(), "go_live": {}, "steady": {v: [] for v in variants}}
    try:
        for name, root in variants.items():
            found["go_live"][name] = night(root, landing, work / name, GO_LIVE, work / name / "go-live.duckdb")
            print(json.dumps({name: found["go_live"][name]}), flush=True)
        for _ in range(repeats):
            for name, root in variants.items():
                state = work / name / "steady.duckdb"
                shutil.copyfile(work / name / "go-live.duckdb", state)
                shutil.rmtree(work / name / "out" / "nightly" / STEADY, ignore_errors=True)
                found["steady"][name].append(night(root, landing, work / name, STEADY, state))
                print(json.dumps({name: found["steady"][name][-1]}), flush=True)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    median = {v: sorted(r["seconds"] for r in runs)[len(runs) // 2] for v, runs in found["steady"].items()}
    found["steady_median_seconds"] = median
    found["letters_add_seconds"] = round(median["with_letters"] - median["without_letters"], 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=500_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--letters-per-file", type=int, default=LETTERS_PER_FILE)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "letters.json")
    parser.add_argument("--step", choices=["build", "render"], help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--nights", type=int, metavar="MEMBERS", help="measure nights with and without letters")
    parser.add_argument("--baseline", type=Path, help="--nights: a checkout of the code without letters")
    parser.add_argument("--repeats", type=int, default=3, help="--nights: steady nights of each variant")
    parser.add_argument("--keep", type=Path, help="--nights: work in this folder and keep it")
    args = parser.parse_args()
    if args.nights:
        found = nights(args.nights, args.baseline, args.repeats, args.keep)
        (ROOT / "benchmarks" / "results" / "letters_nights.json").write_text(json.dumps(found, indent=2) + "\n")
        return
    if args.step == "build":
        print(json.dumps(build_step(args.kind, args.n, args.rows)))
        return
    if args.step == "render":
        print(json.dumps(render_step(args.rows, args.workers, args.letters_per_file)))
        return
    results = []
    for kind, n in (("invoice", args.invoices), ("decision", args.decisions)):
        if n:
            results.append(measure(kind, n, args.workers, args.letters_per_file))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
