"""Settling a nightly run: from the decisions and the previous state to events, payments, recoveries and holds.

The composition of rules.md §8 in one visible place: held persons (S-HOLD, W-MEMBER-MISSING)
are set aside first; events (D-EVENTS) compare the rest with the previous run's grants; on a
payment run (PAY-MONTH) every entitled, unpaid month of the window is paid once (PAY-ONCE) to
members with a valid IBAN (others: W-IBAN-MISSING, listed on every run) and paid months no longer
entitled become recoveries (PAY-RECOVERY); S-MASS-CHANGE judges the events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.params import Params
from pipelines.settle.grants import GRANT_COLUMNS, grant_events, grants_of
from pipelines.settle.payments import (
    OWED_COLUMNS,
    PAID_COLUMNS,
    RECOVERY_COLUMNS,
    due_absences,
    end_to_end_ids,
    entitled_months,
    held_persons,
    pay_month,
    pay_recovery,
    recovery_rows,
    s_mass_change,
    w_held,
    w_iban_missing,
    w_member_missing,
    with_accounts,
)
from pipelines.timeline import window_months


@dataclass(frozen=True)
class Previous:
    """What the state holds from before this run."""

    grants: pl.DataFrame  # GRANT_COLUMNS of the previous run
    ledger: pl.DataFrame  # LEDGER_COLUMNS: every paid month and absence budget
    recovered: pl.DataFrame  # insz, budget, month already listed as recoveries
    # On a payment night the state store may give the two set differences with the ledger instead of
    # the ledger itself (computed where the ledger lives: far less memory at 7M): the entitled months and
    # due absence budgets of the window not yet paid (insz, zorgkas, budget, month, quantity, amount), and the paid
    # months of the window no longer due and not yet recovered (insz, budget, month, amount, paid_on).
    unpaid: pl.DataFrame | None = None
    recoverable: pl.DataFrame | None = None


@dataclass(frozen=True)
class Settlement:
    events: pl.DataFrame  # EVENT_COLUMNS
    grants: pl.DataFrame  # GRANT_COLUMNS: the state after this run (held persons' grants kept)
    payments: pl.DataFrame  # PAID_COLUMNS (payment runs); payment_rows adds the payees' accounts
    recoveries: pl.DataFrame  # RECOVERY_COLUMNS (payment runs)
    worklist: pl.DataFrame  # WORKLIST_COLUMNS: W-IBAN-MISSING, W-MEMBER-MISSING, W-HELD
    held: pl.DataFrame  # insz, feed, rule
    mass_change: str | None  # the S-MASS-CHANGE refusal, or None


def settle(
    periods: pl.DataFrame,
    absences: pl.DataFrame,
    members: pl.DataFrame,
    quarantines: dict[str, pl.DataFrame],
    previous: Previous,
    p: Params,
    run_date: dt.date,
    payment_run: bool,
) -> Settlement:
    """Events, payments, recoveries and holds of one run (pure)."""
    window_first, month_of_run = window_months(run_date, p.evaluation_window_months)
    open_before = previous.grants.filter(pl.col("last_month").is_null())
    quarantined = held_persons(quarantines, run_date.year)
    # a person whose members row is quarantined did not leave the feed: held by S-HOLD, not W-MEMBER-MISSING
    missing = w_member_missing(open_before.join(quarantined, on="insz", how="anti"), members, run_date)
    held = (
        pl.concat(
            [
                quarantined,
                missing.select("insz", pl.lit("members").alias("feed"), pl.lit("W-MEMBER-MISSING").alias("rule")),
            ]
        )
        .unique()
        .sort("insz", "feed", "rule")
    )

    def zorgkas_of(persons: pl.DataFrame) -> pl.DataFrame:
        """insz -> zorgkas of `persons`: from this run's members, else from the previous grants."""
        wanted = persons.select("insz").unique()
        return pl.concat(
            [
                members.join(wanted, on="insz", how="semi").select("insz", "zorgkas"),
                previous.grants.join(wanted, on="insz", how="semi").select("insz", "zorgkas"),
            ]
        ).unique(subset="insz", keep="first", maintain_order=True)

    current = grants_of(periods, run_date).join(held, on="insz", how="anti")
    before = previous.grants.join(held, on="insz", how="anti")
    events, kept = grant_events(current, before, run_date, window_first)
    grants = pl.concat([kept, previous.grants.join(held, on="insz", how="semi")]).sort("insz", "budget", "first_month")

    payments = pl.DataFrame(schema=PAID_COLUMNS)
    recoveries = pl.DataFrame(schema=RECOVERY_COLUMNS)
    if payment_run:
        paid_to = members
    else:  # only the members without a valid IBAN matter for W-IBAN-MISSING: a small share, much less work
        paid_to = members.filter(pl.col("iban_status") != "VALID")
        periods = periods.join(paid_to.select("insz"), on="insz", how="semi")
        absences = absences.join(paid_to.select("insz"), on="insz", how="semi")
    if payment_run and previous.unpaid is not None:  # months of the window only; end_to_end_ids sorts them
        owed = previous.unpaid.join(held.select("insz"), on="insz", how="anti") if held.height else previous.unpaid
        owed = owed.select(list(OWED_COLUMNS))
    else:
        months = entitled_months(periods, month_of_run)
        due = due_absences(absences)
        owed = pay_month(months, due, previous.ledger, window_first, held)
    payable, withheld = with_accounts(owed, paid_to)
    del owed
    # W-IBAN-MISSING is listed on every run while something is unpaid, not only on payment runs
    extra = [missing, w_iban_missing(withheld)]
    if payment_run:
        payments = end_to_end_ids(payable, run_date)
        del payable
        fails = _fails_by_month(periods, absences, month_of_run)
        if previous.recoverable is not None:
            recoverable = previous.recoverable.join(held, on="insz", how="anti")
            recoveries = recovery_rows(recoverable, zorgkas_of(recoverable), fails)
        else:
            recoveries = pay_recovery(
                previous.ledger,
                months,
                due,
                previous.recovered,
                window_first,
                month_of_run,
                held,
                zorgkas_of(previous.ledger),
                fails,
            )
    extra.append(w_held(held, zorgkas_of(held), run_date))
    worklist = pl.concat([w.select(list(WORKLIST_COLUMNS)) for w in extra])
    mass = s_mass_change(events, open_before.height, p.max_stop_fraction, p.max_new_fraction)
    return Settlement(events, grants.select(list(GRANT_COLUMNS)), payments, recoveries, worklist, held, mass)


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
