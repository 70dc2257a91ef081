"""Settling a nightly run: from the decisions and the state before it to events, payments, recoveries and holds.

The composition of docs/spec/rules.md §8 in one visible place: held persons are set aside first (`s_hold`);
events compare the rest with the previous run's grants (`grant_events`); on the payment run the
entitled months the ledger does not hold yet are paid to members with a valid IBAN (the others are
withheld and listed on every run: `w_iban_missing`) and paid months no longer entitled become
recoveries; the mass-change guard judges the events. The set differences with the ledger come in
computed by the state (`Previous.unpaid`, `Previous.recoverable`: pipelines/settle/payments.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.params import Params
from pipelines.settle.appeals import CASE_COLUMNS, m_appeal_suspends, w_appeal_open
from pipelines.settle.grants import GRANT_COLUMNS, grant_events, grants_of
from pipelines.settle.holds import hold_rows, s_hold, s_mass_change, w_held, w_member_missing
from pipelines.settle.payments import (
    PAID_COLUMNS,
    RECOVERY_COLUMNS,
    end_to_end_ids,
    recovery_rows,
    w_iban_missing,
    with_accounts,
)
from pipelines.timeline import window_months


@dataclass(frozen=True)
class Previous:
    """What the state holds from before this run, as this run needs it."""

    grants: pl.DataFrame  # GRANT_COLUMNS of the previous night
    unpaid: pl.DataFrame  # OWED_COLUMNS: `pay_month` over the ledger (a night without payments: for W-IBAN-MISSING)
    recoverable: pl.DataFrame  # `pay_recovery` over the ledger: insz, budget, month, amount, paid_on (payment runs)


@dataclass(frozen=True)
class Settlement:
    events: pl.DataFrame  # EVENT_COLUMNS
    grants: pl.DataFrame  # GRANT_COLUMNS: the state after this run (held persons' grants kept)
    payments: pl.DataFrame  # PAID_COLUMNS (payment runs); payment_rows adds the payees' accounts
    recoveries: pl.DataFrame  # RECOVERY_COLUMNS (payment runs)
    worklist: pl.DataFrame  # WORKLIST_COLUMNS: the whole work list of the run, sorted
    held: pl.DataFrame  # insz, feed, rule
    mass_change: str | None  # the S-MASS-CHANGE refusal, or None
    active_before: int = 0  # the grants open before the run (S-MASS-CHANGE judges against them)


def settle(
    periods: pl.DataFrame,
    absences: pl.DataFrame,
    members: pl.DataFrame,
    quarantines: dict[str, pl.DataFrame],
    worklist: pl.DataFrame,
    previous: Previous,
    p: Params,
    run_date: dt.date,
    payment_run: bool,
    cases: pl.DataFrame | None = None,
) -> Settlement:
    """Events, payments, recoveries, holds and the work list of one run (pure).

    `worklist`: the rows the decisions and the premiums gave (WORKLIST_COLUMNS); held persons keep
    only their hold rows. `members`: insz, zorgkas, iban_status of this run's valid members. `cases`: the valid
    rows of case_decisions (docs/spec/rules.md §10): an open appeal holds back its budget's recoveries
    (M-APPEAL-SUSPENDS) and is listed (W-APPEAL-OPEN).
    """
    cases = (cases if cases is not None else pl.DataFrame(schema=CASE_COLUMNS)).lazy()
    window_first, _ = window_months(run_date, p.evaluation_window_months)
    open_before = previous.grants.filter(pl.col("last_month").is_null())
    quarantined = s_hold(quarantines, None, run_date.year)
    # a person whose members row is quarantined did not leave the feed: held for the quarantine, not missing
    missing = w_member_missing(open_before.join(quarantined, on="insz", how="anti"), members, run_date)
    held = s_hold(quarantines, missing, run_date.year)

    current = grants_of(periods, run_date).join(held, on="insz", how="anti")
    events, kept = grant_events(current, previous.grants.join(held, on="insz", how="anti"), run_date, window_first)
    grants = pl.concat([kept, previous.grants.join(held, on="insz", how="semi")]).sort("insz", "budget", "first_month")

    payable, withheld = with_accounts(previous.unpaid.join(held, on="insz", how="anti"), members)
    payments, recoveries = pl.DataFrame(schema=PAID_COLUMNS), pl.DataFrame(schema=RECOVERY_COLUMNS)
    if payment_run:
        payments = end_to_end_ids(payable, run_date)
        recoverable = m_appeal_suspends(previous.recoverable.join(held, on="insz", how="anti").lazy(), cases, run_date)
        recoverable = recoverable.collect()
        zorgkas = zorgkas_of(recoverable, members, previous.grants)
        recoveries = recovery_rows(recoverable, zorgkas, _fails_by_month(periods, absences, run_date.replace(day=1)))
    held_rows = w_held(held, zorgkas_of(held, members, previous.grants), run_date)
    appeals = w_appeal_open(cases, members.lazy(), run_date).collect()
    rows = [worklist, missing, w_iban_missing(withheld), held_rows, appeals]
    work = hold_rows(pl.concat([w.select(list(WORKLIST_COLUMNS)) for w in rows]), held)
    # detail and evidence break the ties: one person's W-CHECK-RESIDENCE of ZZB and of BOB share a since
    work = work.sort("zorgkas", "insz", "code", "since", "detail", pl.col("evidence").list.join(" "))
    mass = s_mass_change(events, open_before.height, p.max_stop_fraction, p.max_new_fraction)
    grants = grants.select(list(GRANT_COLUMNS))
    return Settlement(events, grants, payments, recoveries, work, held, mass, open_before.height)


def zorgkas_of(persons: pl.DataFrame, members: pl.DataFrame, grants: pl.DataFrame) -> pl.DataFrame:
    """insz -> zorgkas of `persons`: from this run's members, else from the previous grants."""
    wanted = persons.select("insz").unique()
    return pl.concat(
        [
            members.join(wanted, on="insz", how="semi").select("insz", "zorgkas"),
            grants.join(wanted, on="insz", how="semi").select("insz", "zorgkas"),
        ]
    ).unique(subset="insz", keep="first", maintain_order=True)


def _fails_by_month(periods: pl.DataFrame, absences: pl.DataFrame, through: dt.date) -> pl.DataFrame:
    """Per (insz, budget, month) of the decided periods that are not entitled, and per absence budget that is not
    due (budget ZZB-ABSENCE, month 31 August): the codes that fail."""
    not_entitled = periods.filter(~pl.col("entitled") & (pl.col("first_month") <= through))
    by_month = (
        not_entitled.with_columns(
            pl.date_ranges("first_month", pl.min_horizontal("last_month", pl.lit(through)), "1mo").alias("month")
        )
        .explode("month")
        .select("insz", "budget", "month", pl.col("fails").alias("reason"))
    )
    not_due = absences.filter(~pl.col("due")).select(
        "insz", pl.lit("ZZB-ABSENCE").alias("budget"), "month", pl.col("fails").alias("reason")
    )
    return pl.concat([by_month, not_due])
