"""The nightly run: ingest, decide, settle against the state, and publish the run folder atomically.

outbox/nightly/<D>/: quarantine/<feed>.parquet, _decisions/, one folder per zorgkas (grants,
worklist, payments and their SEPA file on a payment run, recoveries), _report.json, and
_manifest.json written last.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.decide import DECIDE_FEEDS, Decided, run_decisions
from flows.ingest import Ingested, ingest, ingest_feed
from flows.io.landing import file_digests
from flows.io.outbox import FileLog, zorgkas_slices
from flows.progress import Steps
from flows.publication.folder import Published, PublishError, RunFolder
from flows.publication.protocol import check_order, commit_and_publish, complete_unpublished, nightly_runs_of
from flows.reference import Reference, load_reference
from flows.runtime import code_version, release_frames
from flows.state.ledger import earlier_payment_run, ledger_differences, previous_state, record_run
from flows.state.store import hold_state, open_state
from pipelines.decide.conditions import VOLUNTARY_BASES
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.emit.sepa import credit_transfer_xml, summary, validate_pain001
from pipelines.premium.invoices import w_voluntary_arrears
from pipelines.settle.payments import accounts_of, is_payment_run, payment_rows
from pipelines.settle.settlement import Settlement, settle
from pipelines.timeline import window_months
from schemas.outputs import DecidedPeriods, Grants, Payments, Quarantine, Recoveries, Worklist


@task(name="ingest-feed", cache_policy=NO_CACHE, task_run_name="ingest-{feed}")
def ingest_feed_task(feed, delivery, landing, as_of, reference, members=None, narrow=None):
    return ingest_feed(feed, delivery, landing, as_of, reference, members=members, narrow=narrow)


@task(name="decide", cache_policy=NO_CACHE)
def decide_task(ingested: Ingested, reference: Reference, as_of: dt.date) -> Decided:
    return run_decisions(ingested, reference, as_of)


def feed_manifest(ingested: Ingested, landing: Path) -> dict:
    """For each feed, the delivery used: its date, files with rows and sha256."""
    paths = [f for d in ingested.deliveries.values() for f in d.files]
    digests = file_digests(paths)
    import pyarrow.parquet as pq

    return {
        feed: {
            "delivery_date": d.delivery_date.isoformat(),
            "rows": d.rows,
            "files": [
                {
                    "path": f.relative_to(landing).as_posix(),
                    "rows": pq.ParquetFile(f).metadata.num_rows,
                    "sha256": digests[f],
                }
                for f in d.files
            ],
        }
        for feed, d in ingested.deliveries.items()
    }


def premiums_of_voluntary_members(members: pl.DataFrame):
    """Only the premium rows W-VOLUNTARY-ARREARS looks at: those of voluntary members (a small share)."""
    voluntary = members.filter(pl.col("affiliation_basis").is_in(VOLUNTARY_BASES)).select("insz")
    return lambda premiums: premiums.join(voluntary, on="insz", how="semi")


class MassChangeError(Exception):
    """S-MASS-CHANGE: the run would stop or start too many grants; nothing is published."""


@dataclass(frozen=True)
class ForSettlement:
    """What settling needs of the feeds' valid rows, taken once the decisions are made; the valid rows
    themselves are then let go (at 7M members, names and IBANs alone are a third of a GiB)."""

    members: pl.DataFrame  # insz, zorgkas, iban_status of every valid member
    accounts: pl.DataFrame  # ACCOUNT_COLUMNS of the members something may be paid to (a right, an absence budget)
    arrears: pl.DataFrame  # W-VOLUNTARY-ARREARS work-list rows (WORKLIST_COLUMNS)


def for_settlement(ingested: Ingested, decided: Decided, reference: Reference) -> ForSettlement:
    """Take what settling needs and clear every feed's valid rows (their counts and quarantines stay)."""
    as_of = ingested.as_of
    members = ingested.valid("members")
    p = reference.parameters.params_on(as_of)
    arrears = w_voluntary_arrears(members.lazy(), ingested.valid("premium_payments").lazy(), p, as_of).collect()
    payees = pl.concat(
        [decided.periods.filter("entitled").select("insz"), decided.absences.filter("due").select("insz")]
    )
    kept = ForSettlement(
        members.select("insz", "zorgkas", "iban_status"),
        accounts_of(members, payees),
        arrears.select(list(WORKLIST_COLUMNS)),
    )
    for staged in ingested.feeds.values():
        staged.valid = staged.valid.clear()
    return kept


@dataclass
class Built:
    run: RunFolder
    manifest: dict
    settlement: Settlement
    payment_run: bool


def build_run(
    con,
    run_key: str,
    ingested: Ingested,
    decided: Decided,
    kept: ForSettlement,
    reference: Reference,
    landing: Path,
    outbox: Path,
    timings: dict,
) -> Built:
    """Settle the run against the state before it and write every file into a fresh staging folder."""
    as_of = ingested.as_of
    p = reference.parameters.params_on(as_of)
    payment_run = is_payment_run(as_of, p.payment_day, earlier_payment_run(con, as_of))
    members = kept.members
    window_first, _ = window_months(as_of, p.evaluation_window_months)
    if payment_run:  # the set differences with the ledger are computed in DuckDB, where the ledger lives
        previous = previous_state(con, run_key, members.clear(), since=window_first)
        unpaid, recoverable = ledger_differences(
            con, run_key, decided.periods, decided.absences, window_first, as_of.replace(day=1)
        )
        previous = dataclasses.replace(previous, unpaid=unpaid, recoverable=recoverable)
    else:  # a night without payments reads the ledger only for W-IBAN-MISSING: members without a valid IBAN
        without_iban = members.filter(pl.col("iban_status") != "VALID")
        previous = previous_state(con, run_key, without_iban, since=window_first)
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    settlement = settle(decided.periods, decided.absences, members, quarantines, previous, p, as_of, payment_run)
    del previous  # on a go-live night the unpaid months alone are 6.5M rows
    run = RunFolder(outbox, "nightly", as_of.isoformat())
    try:
        files = FileLog(run)
        for feed, quarantine in quarantines.items():
            Quarantine.validate(quarantine)
            files.parquet(f"quarantine/{feed}.parquet", quarantine)
        DecidedPeriods.validate(decided.periods)
        files.parquet("_decisions/periods.parquet", decided.periods)
        files.parquet("_decisions/absences.parquet", decided.absences)
        worklist = pl.concat([decided.worklist, settlement.worklist, kept.arrears])
        # detail and evidence break the ties: one person's W-CHECK-RESIDENCE of ZZB and of BOB share a since,
        # and the streaming engine keeps no order (the same run gave either order)
        worklist = worklist.sort("zorgkas", "insz", "code", "since", "detail", pl.col("evidence").list.join(" "))
        Worklist.validate(worklist)
        Grants.validate(settlement.events)
        Recoveries.validate(settlement.recoveries)
        zorgkassen = {}
        slices = {
            name: zorgkas_slices(frame, reference.zorgkas_codes)
            for name, frame in (
                ("grants", settlement.events),
                ("worklist", worklist),
                ("payments", settlement.payments),
                ("recoveries", settlement.recoveries),
            )
        }
        debtors = {row["code"]: row for row in reference.zorgkassen.iter_rows(named=True)}
        for code in reference.zorgkas_codes:
            files.parquet(f"{code}/grants.parquet", slices["grants"][code])
            files.parquet(f"{code}/worklist.parquet", slices["worklist"][code])
            files.csv(f"{code}/worklist.csv", slices["worklist"][code])
            totals = {
                "grants": dict(sorted(slices["grants"][code].group_by("event").len().iter_rows())),
                "worklist": dict(sorted(slices["worklist"][code].group_by("code").len().iter_rows())),
            }
            if payment_run:
                paid = payment_rows(slices["payments"][code], kept.accounts)
                Payments.validate(paid)
                files.parquet(f"{code}/payments.parquet", paid)
                transactions, control_sum = paid["end_to_end_id"].n_unique(), paid["amount"].sum()
                if paid.height:  # a credit transfer needs at least one transaction: none, no XML
                    xml = credit_transfer_xml(
                        paid,
                        debtors[code],
                        message_id=f"VSB-{code}-{run_key}",
                        creation=dt.datetime.combine(as_of, dt.time(2, 0)),
                        execution_date=as_of + dt.timedelta(days=1),
                    )
                    errors = validate_pain001(xml)
                    if errors:
                        raise ValueError(f"payments.xml of {code} does not validate: {errors[0]}")
                    if summary(xml) != (transactions, Decimal(control_sum)):
                        raise ValueError(f"payments.xml of {code}: count or control sum differs from payments.parquet")
                    files.bytes(f"{code}/payments.xml", xml, transactions)
                    del xml
                del paid
                totals["payments"] = {"transactions": transactions, "control_sum": f"{Decimal(control_sum or 0):.2f}"}
                if slices["recoveries"][code].height:
                    files.parquet(f"{code}/recoveries.parquet", slices["recoveries"][code])
                    totals["recoveries"] = {
                        "rows": slices["recoveries"][code].height,
                        "amount": f"{Decimal(slices['recoveries'][code]['amount'].sum()):.2f}",
                    }
            manifest = {
                "run": {"kind": "nightly", "date": as_of.isoformat(), "payment_run": payment_run},
                "zorgkas": code,
                "files": files.under(code),
                "totals": totals,
            }
            zorgkassen[code] = manifest
            run.write_json(f"{code}/manifest.json", manifest)
        run.write_json(
            "_report.json",
            {
                "run": {"kind": "nightly", "date": as_of.isoformat(), "payment_run": payment_run},
                "feeds": ingested.counts,
                "decisions": decision_counts(decided),
                "events": dict(sorted(settlement.events.group_by("event").len().iter_rows())),
                "payments": {"rows": settlement.payments.height, "recoveries": settlement.recoveries.height},
                "holds": {
                    "persons": settlement.held["insz"].n_unique(),
                    "by_rule": dict(sorted(settlement.held.group_by("rule").len().iter_rows())),
                },
                "warnings": ingested.warnings,
                "timings_seconds": timings,
            },
        )
        manifest = {
            "run": {"kind": "nightly", "date": as_of.isoformat(), "payment_run": payment_run},
            "code_version": code_version(),
            "parameters_sha256": reference.parameters_sha256,
            "feeds": feed_manifest(ingested, landing),
            "files": [e for k, e in sorted(files.entries.items()) if k.split("/")[0] not in zorgkassen],
            "zorgkassen": zorgkassen,
        }
        return Built(run, manifest, settlement, payment_run)
    except BaseException:
        run.discard()
        raise


def decision_counts(decided: Decided) -> dict:
    """Counts per budget and status, and per work-list code: no insz."""
    periods = decided.periods.group_by("budget", "status").len().sort("budget", "status")
    return {
        "periods": {f"{b}:{s}": n for b, s, n in periods.iter_rows()},
        "months_entitled": decided.months_entitled(),
        "persons_with_a_right": decided.periods["insz"].n_unique(),
        "absence_budgets_due": int(decided.absences["due"].sum()),
        "worklist": dict(sorted(decided.worklist.group_by("code").len().iter_rows())),
    }


def releasing_frames_on_error(function):
    """On an exception, clear the frames of its traceback before it goes up: they hold the DuckDB
    handle and the run's frames, and Prefect keeps the exception."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except BaseException as exc:
            release_frames(exc)
            raise

    return wrapper


@releasing_frames_on_error
def settle_and_publish(
    ingested: Ingested,
    decided: Decided,
    kept: ForSettlement,
    reference: Reference,
    landing: Path,
    outbox: Path,
    state: Path,
    replace: bool,
    accept_mass_change: bool,
    timings: dict,
) -> Published:
    """Settle against the state, publish once: the state commit and the rename are the last two steps.

    The run is first computed as a rerun of the latest published version of its date (if any):
    identical means no-op. A different result needs --replace and is computed again as the next
    version. A crash after the state commit and before the rename is completed by the next run
    (flows/publication/protocol.py); without its staging folder, by a rerun, which reads the state without the run's
    own rows and so writes the very same folder.
    """
    as_of = ingested.as_of
    with open_state(state) as con:
        probe = RunFolder(outbox, "nightly", as_of.isoformat())
        versions = probe.versions()
        probe.discard()
        key = versions[-1].name if versions else as_of.isoformat()
        built = build_run(con, key, ingested, decided, kept, reference, landing, outbox, timings)
        status, latest = built.run.compare(built.manifest)
        if status == "identical":
            built.run.discard()
            return Published(latest, "identical")
        if status == "different":
            if not replace:
                built.run.discard()
                raise PublishError(built.run.refusal(latest))
            built.run.discard()
            key = built.run.version_name(len(versions) + 1)
            built = build_run(con, key, ingested, decided, kept, reference, landing, outbox, timings)
        if built.settlement.mass_change and not accept_mass_change:
            built.run.discard()
            raise MassChangeError(built.settlement.mass_change)
        try:
            path = commit_and_publish(
                con,
                built.run,
                key,
                built.manifest,
                "nightly",
                key,
                as_of,
                lambda con: record_run(con, key, as_of, built.settlement),
                payment_run=built.payment_run,
            )
        except BaseException:
            built.run.discard()  # kept once the commit may have happened: the next run completes it
            raise
        return Published(path, "replaced" if status == "different" else "published")


@releasing_frames_on_error
def begin_nights(outbox: Path, state: Path, first: dt.date, last: dt.date) -> list[Path]:
    """What the nights first..last do first, holding the lock: complete the runs committed but not published
    (a committed night among first..last that cannot be completed is redone by its own run), then check
    that the nights come in date order. Returns the folders it published."""
    with open_state(state) as con:
        completed = complete_unpublished(con, outbox, redo=nightly_runs_of(first, last))
        check_order(con, first, last)
    return completed


@releasing_frames_on_error
def nightly_once(
    as_of: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
    begun: bool = False,
) -> dict:
    """One nightly run for `as_of`: ingest, validate, decide, settle, publish (the body of both flows).

    Holds the state's lock throughout; first completes an earlier run left unpublished and checks the date
    order (`begun`: a backfill did both for all its nights)."""
    with hold_state(state, "nightly", as_of.isoformat()):
        completed = [] if begun else begin_nights(Path(outbox), Path(state), as_of, as_of)
        result = _nightly(as_of, landing, outbox, state, accept_shrink, accept_mass_change, replace, quiet)
    if result["status"] == "identical" and Path(result["path"]) in completed:
        result["status"] = "published"  # this very run published its date's folder, left by a killed attempt
    return result


def _nightly(
    as_of: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...],
    accept_mass_change: bool,
    replace: bool,
    quiet: bool,
) -> dict:
    steps = Steps(quiet=quiet)
    reference = load_reference()
    ingested = ingest(
        Path(landing),
        as_of,
        reference,
        set(accept_shrink),
        steps,
        ingest_one=ingest_feed_task,
        keep={*DECIDE_FEEDS, "premium_payments"},
        narrow={"premium_payments": premiums_of_voluntary_members},  # W-VOLUNTARY-ARREARS needs only these
    )
    with steps.step("decide") as shown:
        decided = decide_task(ingested, reference, as_of)
        shown["persons with a right"] = decided.periods["insz"].n_unique()
        shown["months entitled"] = decided.months_entitled()
        kept = for_settlement(ingested, decided, reference)
    with steps.step("settle and publish") as shown:
        published = settle_and_publish(
            ingested,
            decided,
            kept,
            reference,
            Path(landing),
            Path(outbox),
            Path(state),
            replace,
            accept_mass_change,
            steps.timings,
        )
        shown["folder"] = published.path.name
    return {"date": as_of.isoformat(), "path": str(published.path), "status": published.status}


@flow(name="vsb-nightly")
def run_nightly(
    as_of: dt.date | None = None,
    landing: Path = Path("data/sample/landing"),
    outbox: Path = Path("out"),
    state: Path = Path("state/vsb.duckdb"),
    accept_shrink: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The nightly run for `as_of` (default: today, in Brussels: the date a scheduled run starts on)."""
    as_of = as_of or dt.datetime.now(ZoneInfo("Europe/Brussels")).date()
    return nightly_once(as_of, landing, outbox, state, accept_shrink, accept_mass_change, replace, quiet)


@flow(name="vsb-backfill")
def run_backfill(
    first: dt.date,
    last: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
) -> list[dict]:
    """The nightly runs for every date first..last, in order, each exactly as the nightly flow runs it.

    Stops at the first date that fails: the dates before it are published and in the state; a
    rerun of the backfill finds them unchanged (no-op) and goes on from the failed date. A backfill
    that starts before the latest committed night may only cover dates that were run already (each a
    rerun: a no-op when unchanged); a date among them never run refuses the whole backfill at once.
    """
    if last < first:
        raise ValueError(f"--to {last.isoformat()} is before --from {first.isoformat()}")
    results = []
    with hold_state(state, "backfill", f"{first.isoformat()}..{last.isoformat()}"):
        completed = begin_nights(Path(outbox), Path(state), first, last)
        day = first
        while day <= last:
            result = nightly_once(
                day, landing, outbox, state, accept_shrink, accept_mass_change, replace, quiet, begun=True
            )
            if result["status"] == "identical" and Path(result["path"]) in completed:
                result["status"] = "published"
            results.append(result)
            day += dt.timedelta(days=1)
    return results
