"""Emit a run's files into its staging folder: per zorgkas only its own members, each file checked
against its model (schemas/outputs.py), the manifests last.

    nightly/<D>/quarantine/<feed>.parquet, _decisions/, <zorgkas>/grants, worklist, payments (+ SEPA),
        recoveries, quarantine, letters/NNNN.pdf and letters.parquet, overview.xlsx, manifest.json;
        _report.json, _report.html
    invoices/<Y>/<D>/<zorgkas>/invoices.parquet, .csv, quarantine.parquet, letters/ and letters.parquet,
        overview.xlsx, manifest.json; _report.json, _report.html
    fines/<F>/<zorgkas>/fines.parquet, .csv, quarantine.parquet, overview.xlsx, manifest.json; _report.json,
        _report.html

Each zorgkas's overview.xlsx is written after its other files: one sheet per Parquet file of its folder,
in the order they were written (flows/io/overview.py).
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
from flows.io.overview import codes_frame, write_overview
from flows.letters import NightLetters, emit_letters
from flows.progress import log_counts
from flows.report import write_report_page
from flows.runtime import code_version
from flows.settle import ForSettlement, Settled
from flows.tasks import step
from pipelines.emit.files import canonical, member_quarantine, with_titles, zorgkas_slices
from pipelines.emit.report import mass_change_counts, per_zorgkas_counts, person_counts, threshold_warnings
from pipelines.emit.sepa import credit_transfer_xml, summary, validate_pain001
from pipelines.settle.payments import payment_rows
from schemas.outputs import (
    DecidedPeriods,
    Grants,
    MemberQuarantine,
    OutputError,
    Payments,
    Quarantine,
    Recoveries,
    Worklist,
    check,
)

write_report = step("report")(write_report_page)  # _report.html, as the run's step "report"
ZORGKAS_FRAMES = ("grants", "worklist", "payments", "recoveries", "quarantine")
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
    night_letters: NightLetters,
    timings: dict,
) -> dict:
    """Every file of a night in its staging folder; returns the run manifest (written last, on publication)."""
    settlement = settled.settlement
    info = ctx.info | {"payment_run": settled.payment_run}
    for feed, staged in ingested.feeds.items():
        files.parquet(f"quarantine/{feed}.parquet", check(Quarantine, staged.quarantine))
    files.parquet("_decisions/periods.parquet", check(DecidedPeriods, decided.periods))
    files.parquet("_decisions/absences.parquet", decided.absences)
    quarantined = night_quarantine(ingested, settlement.worklist)
    worklist = with_titles(settlement.worklist, codes_frame())
    frames = (settlement.events, worklist, settlement.payments, settlement.recoveries, quarantined)
    slices = {
        name: zorgkas_slices(f, ctx.reference.zorgkas_codes) for name, f in zip(ZORGKAS_FRAMES, frames, strict=True)
    }
    started = time.perf_counter()
    letters = emit_letters(ctx, files, night_letters.letters_of)  # every zorgkas's letters, in parallel
    timings["letters render"] = round(time.perf_counter() - started, 3)
    timings["letters"] = round(night_letters.seconds + timings["letters render"], 3)
    totals = {}
    for code in ctx.reference.zorgkas_codes:
        mine = {name: slices[name][code] for name in ZORGKAS_FRAMES}
        totals[code] = zorgkas_night_files(ctx, files, code, run_key, mine, kept.accounts, settled.payment_run)
        totals[code]["letters"] = letters.get(code, NO_LETTERS)
    zorgkassen = {code: zorgkas_manifest(files, info, code, totals[code]) for code in ctx.reference.zorgkas_codes}
    report = night_report(info, ingested, decided, settlement, timings)
    report["warnings"] = report["warnings"] + data_warnings(ctx, report)
    report |= night_counts(ctx, settled, quarantined, letters) | {"run": report_run(info, run_key)}
    files.run.write_json("_report.json", report | {"letters": letter_counts(letters)})
    return run_manifest(ctx, info, files, zorgkassen)


def night_quarantine(ingested: Ingested, worklist: pl.DataFrame) -> pl.DataFrame:
    """The quarantined rows of the night's held members (their W-HELD rows say which zorgkas), per zorgkas."""
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    held = worklist.filter(pl.col("code") == "W-HELD").select("insz", "zorgkas")
    return member_quarantine(quarantines, held)


@step("zorgkas-files", "files-{code}")
def zorgkas_night_files(
    ctx: RunContext,
    files: FileLog,
    code: str,
    run_key: str,
    mine: dict[str, pl.DataFrame],
    accounts: pl.DataFrame,
    payment_run: bool,
) -> dict:
    """One zorgkas's files of a night (`emit_zorgkas_night`), its members' quarantined rows and, last, its
    overview.xlsx; returns its totals."""
    totals = emit_zorgkas_night(ctx, files, code, run_key, mine, accounts, payment_run)
    member_files(files, code, mine["quarantine"])
    write_overview(ctx, files, code)  # last: a sheet per file written before it
    counts = {"grant events": sum(totals["grants"].values()), "work-list rows": sum(totals["worklist"].values())}
    if "payments" in totals:
        counts |= {"payment rows": mine["payments"].height, "transactions": totals["payments"]["transactions"]}
    counts |= {"recoveries": totals["recoveries"]["rows"]} if "recoveries" in totals else {}
    log_counts(f"files {code}", counts | {"quarantined rows": mine["quarantine"].height})  # inside its task
    return totals


def member_files(files: FileLog, code: str, quarantined: pl.DataFrame) -> None:
    """<zorgkas>/quarantine.parquet: its members' quarantined rows (the rows behind its W-HELD work)."""
    files.parquet(f"{code}/quarantine.parquet", check(MemberQuarantine, quarantined.drop("zorgkas")))


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


def data_warnings(ctx: RunContext, report: dict) -> list[str]:
    """The report's warnings about the night's data: quarantine per feed and held persons above their parameters
    (warn_quarantine_fraction, warn_held_fraction: data/reference/parameters.yaml)."""
    p = ctx.params
    members = report["feeds"].get("members", {}).get("rows_read", 0)
    return threshold_warnings(
        report["feeds"], report["holds"]["persons"], members, p.warn_quarantine_fraction, p.warn_held_fraction
    )


def report_run(info: dict, run_key: str) -> dict:
    """The report's `run`: the manifest's, with the folder it is published as (a .v2 replaces) and the code
    version. The report is written before the publication: it is published only with its folder."""
    folder = run_key.rsplit("/", 1)[-1]
    status = "replaced" if ".v" in folder else "published"
    return info | {"folder": folder, "status": status, "code_version": code_version()}


def night_counts(ctx: RunContext, settled: Settled, quarantined: pl.DataFrame, letters: dict[str, dict]) -> dict:
    """The report's `per_zorgkas` (events, payments, recoveries, work list per code, quarantined rows,
    letters: `letters` as emit_letters counts them) and `guards` (S-MASS-CHANGE figures, accepted shrinks)."""
    settlement, p = settled.settlement, ctx.params
    paid = settled.payment_run
    per_zorgkas = per_zorgkas_counts(
        settlement.events,
        settlement.worklist,
        payments=settlement.payments if paid else None,
        recoveries=settlement.recoveries if paid else None,
        quarantine=quarantined,
        zorgkassen=ctx.reference.zorgkas_codes,
    )
    mass = mass_change_counts(
        settlement.events,
        settlement.active_before,
        p.max_stop_fraction,
        p.max_new_fraction,
        accepted=ctx.options.accept_mass_change,
    )
    for code, entry in per_zorgkas.items():
        entry["letters"] = letters.get(code, NO_LETTERS)["letters"]
    active_after = settlement.grants.filter(pl.col("last_month").is_null()).height
    return {
        "grants": {"active_before": settlement.active_before, "active_after": active_after},
        "per_zorgkas": per_zorgkas,
        "guards": {"mass_change": mass, "shrink": shrink_counts(ctx)},
    }


def shrink_counts(ctx: RunContext) -> list[dict]:
    """The deliveries below min_rows_ratio of the previous one that the operator accepted (--accept-shrink):
    a refused one stops the run before anything is written."""
    ratio = ctx.params.min_rows_ratio
    return [
        {
            "feed": feed,
            "rows": d.rows,
            "previous_rows": d.previous_rows,
            "previous_date": d.previous_date.isoformat(),
            "min_rows_ratio": ratio,
            "accepted": feed in ctx.options.accept_shrink,
        }
        for feed, d in ctx.deliveries.items()
        if d.previous_rows is not None and d.rows < ratio * d.previous_rows
    ]


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
        **person_counts(decided.periods),
        "absence_budgets_due": int(decided.absences["due"].sum()),
        "worklist": counts_by(decided.worklist, "code"),
    }


# --- the premium runs ---------------------------------------------------------------------------------


def emit_premium(
    ctx: RunContext,
    files: FileLog,
    ingested: Ingested,
    planned,
    timings: dict,
    run_key: str | None = None,
    held: pl.DataFrame | None = None,
) -> dict:
    """<zorgkas>/<file>.parquet, .csv, quarantine.parquet, overview.xlsx and manifest.json of an invoice or fine
    run (only each zorgkas's own members, in the plan's order, checked with its model), and _report.json;
    returns the run manifest. `held` (insz, zorgkas): the members held this run (S-HOLD: not invoiced or
    fined), whose quarantined rows go to their zorgkas's quarantine.parquet."""
    name, rows = ctx.kind, planned.rows  # invoices, fines
    slices = zorgkas_slices(rows, ctx.reference.zorgkas_codes)
    if sum(s.height for s in slices.values()) != rows.height:
        raise OutputError(f"{name}: rows of a zorgkas outside the reference list")
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    held = held if held is not None else pl.DataFrame(schema={"insz": pl.String, "zorgkas": pl.String})
    quarantined = zorgkas_slices(member_quarantine(quarantines, held), ctx.reference.zorgkas_codes)
    started = time.perf_counter()
    letters = emit_letters(ctx, files, planned.letters_of) if planned.letters_of else {}  # L-INVOICE
    if planned.letters_of:
        timings["letters"] = round(time.perf_counter() - started, 3)
    totals = {
        code: premium_zorgkas_files(ctx, files, code, slices[code], planned, quarantined[code]) for code in slices
    }
    if planned.letters_of:
        totals = {code: t | {"letters": letters.get(code, NO_LETTERS)} for code, t in totals.items()}
    zorgkassen = {code: zorgkas_manifest(files, ctx.info, code, totals[code]) for code in ctx.reference.zorgkas_codes}
    report = {
        "run": report_run(ctx.info, run_key or "") if run_key else ctx.info,
        "feeds": ingested.counts,
        name: planned.counts | {"per_zorgkas": totals},
        **({"letters": letter_counts(letters)} if planned.letters_of else {}),
        "warnings": ingested.warnings,
        "guards": {"shrink": shrink_counts(ctx)},
        "timings_seconds": timings,
    }
    files.run.write_json("_report.json", report)
    return run_manifest(ctx, ctx.info, files, zorgkassen)


@step("zorgkas-files", "files-{code}")
def premium_zorgkas_files(
    ctx: RunContext, files: FileLog, code: str, rows: pl.DataFrame, planned, quarantined: pl.DataFrame
) -> dict:
    """One zorgkas's invoice or fine files (its rows in the plan's order, checked with the model), its
    members' quarantined rows and its overview.xlsx; returns its totals."""
    name, model = ctx.kind, planned.model
    mine = check(model, canonical(rows.sort(planned.order_by).select(list(model.to_schema().columns))))
    files.parquet(f"{code}/{name}.parquet", mine)
    files.csv(f"{code}/{name}.csv", mine)
    member_files(files, code, quarantined)
    write_overview(ctx, files, code)
    totals = planned.totals(mine)
    log_counts(f"files {code}", {name: mine.height, "quarantined rows": quarantined.height})  # inside its task
    return totals


def invoice_totals(rows: pl.DataFrame) -> dict:
    return {"invoices": rows.height, "reduced": int(rows["reduced"].sum()), "amount": money_text(rows["amount"].sum())}


def fine_totals(rows: pl.DataFrame) -> dict:
    return {"fines": rows.height, "amount": money_text(rows["amount"].sum())}
