"""Settle a night: this run's decisions against the state before it (pipelines/settle/settlement.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from flows.context import RunContext
from flows.decide import Decided
from flows.ingest import Ingested
from flows.letters import LetterInputs, NightLetters, night_letters, take_letter_inputs
from flows.progress import log_counts
from flows.report import settled_counts
from flows.state.ledger import earlier_payment_run, previous, record_run, run_rows
from flows.state.letters_ledger import record_requests, request_rows
from pipelines.decide.conditions import VOLUNTARY_BASES
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.premium.fines import w_voluntary_arrears
from pipelines.settle.payments import accounts_of, is_payment_run
from pipelines.settle.settlement import Settlement, settle


def premiums_of_voluntary_members(members: pl.DataFrame):
    """Only the premium rows W-VOLUNTARY-ARREARS looks at: those of voluntary members (a small share)."""
    voluntary = members.filter(pl.col("affiliation_basis").is_in(VOLUNTARY_BASES)).select("insz")
    return lambda premiums: premiums.join(voluntary, on="insz", how="semi")


@dataclass(frozen=True)
class ForSettlement:
    """What settling needs of the feeds' valid rows, taken once the decisions are made; the valid rows
    themselves are then let go (at 7M members, names and IBANs alone are a third of a GiB)."""

    members: pl.DataFrame  # insz, zorgkas, iban_status of every valid member
    accounts: pl.DataFrame  # ACCOUNT_COLUMNS of the members something may be paid to (a right, an absence budget)
    arrears: pl.DataFrame  # W-VOLUNTARY-ARREARS work-list rows (WORKLIST_COLUMNS)
    letters: LetterInputs  # names, addresses and records of the persons who may get a letter (flows/letters.py)


def for_settlement(ctx: RunContext, ingested: Ingested, decided: Decided, read_state: bool = True) -> ForSettlement:
    """Take what settling needs and clear every feed's valid rows (their counts and quarantines stay).
    `read_state` False: decided away from the state (flows/letters.py `take_letter_inputs`)."""
    members = ingested.valid("members")
    premiums = ingested.valid("premium_payments").lazy()
    arrears = w_voluntary_arrears(members.lazy(), premiums, ctx.params, ctx.run_date).collect()
    payees = pl.concat(
        [decided.periods.filter("entitled").select("insz"), decided.absences.filter("due").select("insz")]
    )
    kept = ForSettlement(
        members.select("insz", "zorgkas", "iban_status"),
        accounts_of(members, payees),
        arrears.select(list(WORKLIST_COLUMNS)),
        take_letter_inputs(ctx, ingested, decided, read_state),
    )
    for staged in ingested.feeds.values():
        staged.valid = staged.valid.clear()
    return kept


@dataclass(frozen=True)
class Settled:
    settlement: Settlement
    payment_run: bool
    letters: NightLetters | None = None  # the night's letters (flows/letters.py `night_letters`)


def settle_night(
    ctx: RunContext, con: duckdb.DuckDBPyConnection, run_key: str, ingested: Ingested, decided: Decided, kept
) -> Settled:
    """The night's events, payments, recoveries and work list against the state before the run `run_key`."""
    p, run_date = ctx.params, ctx.run_date
    payment_run = is_payment_run(run_date, p.payment_day, earlier_payment_run(con, run_date))
    periods, absences = decided.periods, decided.absences
    if not payment_run:  # only W-IBAN-MISSING looks at what is owed: members without a valid IBAN, a small share
        without_iban = kept.members.filter(pl.col("iban_status") != "VALID").select("insz")
        periods = periods.join(without_iban, on="insz", how="semi")
        absences = absences.join(without_iban, on="insz", how="semi")
    before = previous(con, run_key, periods, absences, ctx.window, payment_run)
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    worklist = pl.concat([decided.worklist, kept.arrears])
    settlement = settle(
        decided.periods,
        decided.absences,
        kept.members,
        quarantines,
        worklist,
        before,
        p,
        run_date,
        payment_run,
        decided.cases,
    )
    letters = night_letters(ctx, con, run_key, kept.letters, decided.periods, settlement, payment_run, decided.granted)
    log_counts("settle", settled_counts(settlement, payment_run))  # from inside the task that settles (issue 22)
    return Settled(settlement, payment_run, letters)


def record_night(con: duckdb.DuckDBPyConnection, run_key: str, run_date: dt.date, settled: Settled) -> None:
    """The night's state change, in the transaction that commits it: grants, ledgers, and the request letters sent."""
    record_run(con, run_key, run_date, settled.settlement)
    record_requests(con, run_key, run_date, settled.letters.requests)


def night_rows(run_key: str, run_date: dt.date, settled: Settled) -> dict[str, pl.DataFrame]:
    """The rows `record_night` writes, per table: what the night exports for `vsb rebuild-state`."""
    return run_rows(run_key, run_date, settled.settlement) | {
        "letters_ledger": request_rows(run_key, run_date, settled.letters.requests)
    }
