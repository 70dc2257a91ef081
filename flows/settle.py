"""Settle a night: this run's decisions against the state before it (pipelines/settle/settlement.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from flows.context import RunContext
from flows.decide import Decided
from flows.ingest import Ingested
from flows.letters import LetterInputs, NightLetters, take_letter_inputs
from flows.progress import log_counts
from flows.report import settled_counts
from flows.state.ledger import run_rows
from flows.state.letters_ledger import request_rows
from flows.state.state import Before
from flows.tasks import step
from pipelines.decide.conditions import VOLUNTARY_BASES
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.premium.fines import w_voluntary_arrears
from pipelines.settle.payments import accounts_of
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


def for_settlement(ctx: RunContext, ingested: Ingested, decided: Decided, before: Before | None) -> ForSettlement:
    """Take what settling needs of the feeds' valid rows (the caller then lets them go: `Ingested.counted`).
    `before` None: decided away from the state (flows/letters.py `take_letter_inputs`)."""
    members = ingested.valid("members")
    premiums = ingested.valid("premium_payments").lazy()
    arrears = w_voluntary_arrears(members.lazy(), premiums, ctx.params, ctx.run_date).collect()
    payees = pl.concat(
        [decided.periods.filter("entitled").select("insz"), decided.absences.filter("due").select("insz")]
    )
    return ForSettlement(
        members.select("insz", "zorgkas", "iban_status"),
        accounts_of(members, payees),
        arrears.select(list(WORKLIST_COLUMNS)),
        take_letter_inputs(ctx, ingested, decided, before),
    )


@dataclass(frozen=True)
class Settled:
    settlement: Settlement
    payment_run: bool


@step("settle")
def settle_night(ctx: RunContext, ingested: Ingested, decided: Decided, kept: ForSettlement, before: Before) -> Settled:
    """The night's events, payments, recoveries and work list against the state before the run (`before`, as
    the version of the night it is built as); `before.payment_run`: the month's payment run or not."""
    payment_run = before.payment_run
    periods, absences = decided.periods, decided.absences
    if not payment_run:  # only W-IBAN-MISSING looks at what is owed: members without a valid IBAN, a small share
        without_iban = kept.members.filter(pl.col("iban_status") != "VALID").select("insz")
        periods = periods.join(without_iban, on="insz", how="semi")
        absences = absences.join(without_iban, on="insz", how="semi")
    previous = before.owed(periods, absences, ctx.window)
    quarantines = {feed: staged.quarantine for feed, staged in ingested.feeds.items()}
    worklist = pl.concat([decided.worklist, kept.arrears])
    settlement = settle(
        decided.periods,
        decided.absences,
        kept.members,
        quarantines,
        worklist,
        previous,
        ctx.params,
        ctx.run_date,
        payment_run,
        decided.cases,
    )
    log_counts("settle", settled_counts(settlement, payment_run))  # from inside the task that settles (issue 22)
    return Settled(settlement, payment_run)


def night_rows(run_key: str, run_date: dt.date, settled: Settled, letters: NightLetters) -> dict[str, pl.DataFrame]:
    """The night's rows per table (grants, ledgers, the request letters sent): what it commits (flows/state/state.py
    `Change`) and exports for `vsb rebuild-state`."""
    return run_rows(run_key, run_date, settled.settlement) | {
        "letters_ledger": request_rows(run_key, run_date, letters.requests)
    }
