"""Emit a run's files into its staging folder: per zorgkas only its own members, each file checked
against its model (schemas/outputs.py), the manifests last.

    nightly/<D>/quarantine/<feed>.parquet, _decisions/, <zorgkas>/grants, worklist, payments (+ SEPA),
        recoveries, letters/NNNN.pdf and letters.parquet, manifest.json; _report.json
    invoices/<Y>/<D>/<zorgkas>/invoices.parquet, .csv, manifest.json; _report.json
    fines/<F>/<zorgkas>/fines.parquet, .csv, manifest.json; _report.json
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import polars as pl
import pyarrow.parquet as pq

from flows.context import RunContext
from flows.decide import Decided
from flows.ingest import Ingested
from flows.io.landing import file_digests
from flows.io.outbox import FileLog
from flows.letters import emit_letters
from flows.runtime import code_version
from flows.settle import ForSettlement, Settled
from pipelines.emit.files import canonical, zorgkas_slices
from pipelines.emit.sepa import credit_transfer_xml, summary, validate_pain001
from pipelines.settle.payments import payment_rows
from schemas.outputs import DecidedPeriods, Grants, OutputError, Payments, Quarantine, Recoveries, Worklist, check

ZORGKAS_FRAMES = ("grants", "worklist", "payments", "recoveries")
NO_LETTERS = {"letters": 0, "by_kind": {}}


def money_text(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def counts_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    return dict(sorted(frame.group_by(column).len().iter_rows()))


def feed_manifest(ctx: RunContext) -> dict:
    """For each feed, the delivery used: its date, files with rows and sha256."""
    digests = file_digests([f for d in ctx.deliveries.values() for f in d.files])
    return {
        feed: {
            "delivery_date": d.delivery_date.isoformat(),
            "rows": d.rows,
            "files": [
                {
                    "path": f.relative_to(ctx.landing).as_posix(),
                    "rows": pq.ParquetFile(f).metadata.num_rows,
                    "sha256": digests[f],
                }
                for f in d.files
            ],
        }
        for feed, d in ctx.deliveries.items()
    }


def run_manifest(ctx: RunContext, info: dict, files: FileLog, zorgkassen: dict) -> dict:
    """_manifest.json: the run, code and parameter versions, the deliveries used, the run's own files and
    the per-zorgkas manifests. No clock time."""
    manifest = {
        "run": info,
        "code_version": code_version(),
        "parameters_sha256": ctx.reference.parameters_sha256,
        "feeds": feed_manifest(ctx),
    }
    own = [e for k, e in sorted(files.entries.items()) if k.split("/")[0] not in zorgkassen]
    if own:
        manifest["files"] = own
    manifest["zorgkassen"] = zorgkassen
    return manifest


def zorgkas_manifest(files: FileLog, info: dict, code: str, totals: dict) -> dict:
    """<zorgkas>/manifest.json: the zorgkas's files with rows and sha256, and its totals."""
    manifest = {"run": info, "zorgkas": code, "files": files.under(code), "totals": totals}
    files.run.write_json(f"{code}/manifest.json", manifest)
    return manifest


# --- the nightly run ----------------------------------------------------------------------------------


def emit_night(
    ctx: RunContext,
    files: FileLog,
    run_key: str,
    ingested: Ingested,
    decided: Decided,
    kept: ForSettlement,
    settled: Settled,
    timings: dict,
) -> dict:
    """Every file of a night in its staging folder; returns the run manifest (written last, on publication)."""
    settlement = settled.settlement
    info = ctx.info | {"payment_run": settled.payment_run}
    for feed, staged in ingested.feeds.items():
        files.parquet(f"quarantine/{feed}.parquet", check(Quarantine, staged.quarantine))
    files.parquet("_decisions/periods.parquet", check(DecidedPeriods, decided.periods))
    files.parquet("_decisions/absences.parquet", decided.absences)
    frames = (settlement.events, settlement.worklist, settlement.payments, settlement.recoveries)
    slices = {
        name: zorgkas_slices(f, ctx.reference.zorgkas_codes) for name, f in zip(ZORGKAS_FRAMES, frames, strict=True)
    }
    started = time.perf_counter()
    letters = emit_letters(ctx, files, settled.letters.letters_of)  # every zorgkas's letters, in parallel
    timings["letters render"] = round(time.perf_counter() - started, 3)
    timings["letters"] = round(settled.letters.seconds + timings["letters render"], 3)
    zorgkassen = {}
    for code in ctx.reference.zorgkas_codes:
        mine = {name: slices[name][code] for name in ZORGKAS_FRAMES}
        totals = emit_zorgkas_night(ctx, files, code, run_key, mine, kept.accounts, settled.payment_run)
        totals["letters"] = letters.get(code, NO_LETTERS)
        zorgkassen[code] = zorgkas_manifest(files, info, code, totals)
    report = night_report(info, ingested, decided, settlement, timings)
    files.run.write_json("_report.json", report | {"letters": letter_counts(letters)})
    return run_manifest(ctx, info, files, zorgkassen)


def emit_zorgkas_night(
    ctx: RunContext,
    files: FileLog,
    code: str,
    run_key: str,
    mine: dict[str, pl.DataFrame],
    accounts: pl.DataFrame,
    payment_run: bool,
) -> dict:
    """One zorgkas's files of a night; returns its totals."""
    files.parquet(f"{code}/grants.parquet", check(Grants, mine["grants"]))
    files.parquet(f"{code}/worklist.parquet", check(Worklist, mine["worklist"]))
    files.csv(f"{code}/worklist.csv", mine["worklist"])
    totals = {"grants": counts_by(mine["grants"], "event"), "worklist": counts_by(mine["worklist"], "code")}
    if payment_run:
        totals["payments"] = payment_files(ctx, files, code, run_key, payment_rows(mine["payments"], accounts))
        recoveries = check(Recoveries, mine["recoveries"])
        if recoveries.height:
            files.parquet(f"{code}/recoveries.parquet", recoveries)
            totals["recoveries"] = {"rows": recoveries.height, "amount": money_text(recoveries["amount"].sum())}
    return totals


def payment_files(ctx: RunContext, files: FileLog, code: str, run_key: str, paid: pl.DataFrame) -> dict:
    """payments.parquet and, when something is paid, payments.xml (SEPA pain.001.001.09, validated against
    the XSD, its count and control sum equal to the Parquet's); returns the totals."""
    files.parquet(f"{code}/payments.parquet", check(Payments, paid))
    transactions, control_sum = paid["end_to_end_id"].n_unique(), paid["amount"].sum()
    if paid.height:  # a credit transfer needs at least one transaction: none, no XML
        debtor = ctx.reference.zorgkassen.filter(pl.col("code") == code).row(0, named=True)
        xml = credit_transfer_xml(
            paid,
            debtor,
            message_id=f"VSB-{code}-{run_key}",
            creation=dt.datetime.combine(ctx.run_date, dt.time(2, 0)),
            execution_date=ctx.run_date + dt.timedelta(days=1),
        )
        errors = validate_pain001(xml)
        if errors:
            raise OutputError(f"payments.xml of {code} does not validate: {errors[0]}")
        if summary(xml) != (transactions, Decimal(control_sum)):
            raise OutputError(f"payments.xml of {code}: count or control sum differs from payments.parquet")
        files.bytes(f"{code}/payments.xml", xml, transactions)
    return {"transactions": transactions, "control_sum": money_text(control_sum)}


def night_report(info: dict, ingested: Ingested, decided: Decided, settlement, timings: dict) -> dict:
    """_report.json of a night: counts and codes only, never an insz, a name or an IBAN."""
    return {
        "run": info,
        "feeds": ingested.counts,
        "decisions": decision_counts(decided),
        "events": counts_by(settlement.events, "event"),
        "payments": {"rows": settlement.payments.height, "recoveries": settlement.recoveries.height},
        "holds": {"persons": settlement.held["insz"].n_unique(), "by_rule": counts_by(settlement.held, "rule")},
        "warnings": ingested.warnings,
        "timings_seconds": timings,
    }


def letter_counts(letters: dict[str, dict]) -> dict:
    """The run's letters per kind and per zorgkas (counts only: _report.json)."""
    by_kind: dict[str, int] = {}
    for totals in letters.values():
        for kind, n in totals["by_kind"].items():
            by_kind[kind] = by_kind.get(kind, 0) + n
    per_zorgkas = {code: totals["letters"] for code, totals in sorted(letters.items())}
    return {"total": sum(per_zorgkas.values()), "by_kind": dict(sorted(by_kind.items())), "per_zorgkas": per_zorgkas}


def decision_counts(decided: Decided) -> dict:
    """Counts per budget and status, and per work-list code: no insz."""
    periods = decided.periods.group_by("budget", "status").len().sort("budget", "status")
    return {
        "periods": {f"{b}:{s}": n for b, s, n in periods.iter_rows()},
        "months_entitled": decided.months_entitled(),
        "persons_with_a_right": decided.periods["insz"].n_unique(),
        "absence_budgets_due": int(decided.absences["due"].sum()),
        "worklist": counts_by(decided.worklist, "code"),
    }


# --- the premium runs ---------------------------------------------------------------------------------


def emit_premium(ctx: RunContext, files: FileLog, ingested: Ingested, planned, timings: dict) -> dict:
    """<zorgkas>/<file>.parquet, .csv and manifest.json of an invoice or fine run (only each zorgkas's own
    members, in the plan's order, checked with its model), and _report.json; returns the run manifest."""
    name, rows, model = ctx.kind, planned.rows, planned.model  # invoices, fines
    slices = zorgkas_slices(rows, ctx.reference.zorgkas_codes)
    if sum(s.height for s in slices.values()) != rows.height:
        raise OutputError(f"{name}: rows of a zorgkas outside the reference list")
    columns = list(model.to_schema().columns)
    started = time.perf_counter()
    letters = emit_letters(ctx, files, planned.letters_of) if planned.letters_of else {}  # L-INVOICE
    if planned.letters_of:
        timings["letters"] = round(time.perf_counter() - started, 3)
    zorgkassen = {}
    for code in ctx.reference.zorgkas_codes:
        mine = check(model, canonical(slices[code].sort(planned.order_by).select(columns)))
        files.parquet(f"{code}/{name}.parquet", mine)
        files.csv(f"{code}/{name}.csv", mine)
        totals = planned.totals(mine) | ({"letters": letters.get(code, NO_LETTERS)} if planned.letters_of else {})
        zorgkassen[code] = zorgkas_manifest(files, ctx.info, code, totals)
    per_zorgkas = {code: manifest["totals"] for code, manifest in zorgkassen.items()}
    report = {
        "run": ctx.info,
        "feeds": ingested.counts,
        name: planned.counts | {"per_zorgkas": per_zorgkas},
        **({"letters": letter_counts(letters)} if planned.letters_of else {}),
        "warnings": ingested.warnings,
        "timings_seconds": timings,
    }
    files.run.write_json("_report.json", report)
    return run_manifest(ctx, ctx.info, files, zorgkassen)


def invoice_totals(rows: pl.DataFrame) -> dict:
    return {"invoices": rows.height, "reduced": int(rows["reduced"].sum()), "amount": money_text(rows["amount"].sum())}


def fine_totals(rows: pl.DataFrame) -> dict:
    return {"fines": rows.height, "amount": money_text(rows["amount"].sum())}
