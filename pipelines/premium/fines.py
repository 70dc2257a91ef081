"""Premium arrears: years in default, fine candidates, and voluntary members in arrears (docs/spec/rules.md §7, §5).

Pure: frames in, frames out. `fine_candidates` composes P-DEFAULT and F-FINE for the yearly fine run
(flows/premium.py); `w_voluntary_arrears` gives the nightly run's work-list rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from pipelines.decide.conditions import VOLUNTARY_BASES
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.params import Params
from pipelines.premium.invoices import Amounts, _alive_on, _money, increased_allowance_on
from pipelines.timeline import active_on
from schemas.outputs import Fines, columns

MANDATORY_BASES = ["RESIDENT_VL", "ABROAD_EMPLOYER_VL"]
FINE_COLUMNS = columns(Fines)


# --- P-DEFAULT and F-FINE ---------------------------------------------------------------------------


# euro: below this, an amount's cents are a finite Float64; above, a float has no cents to round anyway
CENTS_LIMIT = 1e300


def _cents(amount: pl.Expr) -> pl.Expr:
    """Euro amounts of the feed (float) as whole cents, so that 64.0 and 63.99 compare exactly.

    Kept Float64, never cast to Int64: every whole number of cents up to 2**53 is exact in a Float64 and
    compares as the Int64 would have, and a finite but huge amount (1e300 euro: beyond Int64) must not
    stop the night (issue 11).
    """
    return (amount * 100).round(0)


def _less_in_cents(paid: pl.Expr, due: pl.Expr) -> pl.Expr:
    """Paid < due in whole cents (`p_default`); amounts beyond CENTS_LIMIT (whose cents overflow to infinity)
    compare as they are."""
    in_cents = (paid.abs() < CENTS_LIMIT) & (due.abs() < CENTS_LIMIT)
    return pl.when(in_cents).then(_cents(paid) < _cents(due)).otherwise(paid < due)


def p_default(reference_date: dt.date) -> pl.Expr:
    """P-DEFAULT: a premium_payments row (a person's premium year) is in default on `reference_date` R.

    docs/spec/rules.md §7: due_date < R and amount_paid < amount_due, counting only payments with
    paid_date <= R. The feed has one row per person and year with the date of the last payment:
    when that date is after R (or null), the amount paid does not count at all (it had not all
    arrived by R), so the year is in default on R when anything is due. Amounts are compared in
    whole cents (`_less_in_cents`); a non-finite amount never gets here (R-RANGE quarantines it).
    """
    arrived = pl.when(pl.col("paid_date") <= reference_date).then(pl.col("amount_paid")).otherwise(0.0)
    in_default = (pl.col("due_date") < reference_date) & _less_in_cents(arrived, pl.col("amount_due"))
    return in_default.fill_null(False).alias("p_default")


def years_in_default(payments: pl.LazyFrame, reference_date: dt.date) -> pl.LazyFrame:
    """Per person with a premium year in default on `reference_date` (P-DEFAULT): years_in_default
    (sorted) and default_dates (the day after each due date: the day each year fell in default, sorted)."""
    return (
        payments.filter(p_default(reference_date))
        .group_by("insz")
        .agg(
            pl.col("premium_year").cast(pl.Int32).sort().alias("years_in_default"),
            (pl.col("due_date") + pl.duration(days=1)).sort().alias("default_dates"),
        )
    )


def fine_reference_date(fine_year: int, p: Params) -> dt.date:
    """The fine reference date of year F: fine_reference_day of F (15 October F), `p` those of 1 January F."""
    month, day = p.fine_reference_day
    return dt.date(fine_year, month, day)


def f_fine(p: Params, reference_date: dt.date) -> pl.Expr:
    """F-FINE: a fine candidate on the fine reference date R of year F.

    docs/spec/rules.md §7: mandatory affiliation (RESIDENT_VL, ABROAD_EMPLOYER_VL) and at least fine_min_years
    (2) premium years in default on R (P-DEFAULT), consecutive or not. Local decision (as for
    P-LIABLE): a member deceased on R (death_date before R) is no candidate. `p`: the parameters in force on
    R (fine_min_years; the fine amounts too: flows/premium.py `fine_amounts`).
    """
    mandatory = pl.col("affiliation_basis").is_in(MANDATORY_BASES)
    enough_years = pl.col("years_in_default").list.len() >= p.fine_min_years
    return (mandatory & enough_years & _alive_on(reference_date)).fill_null(False).alias("f_fine")


def f_fine_amount(fine: Amounts) -> pl.Expr:
    """F-FINE amount: fine_reduced when an increased-allowance period is active on 1 January F-1
    (column `increased_allowance`, from `increased_allowance_on`), else fine_normal."""
    reduced = pl.col("increased_allowance").fill_null(False)
    return pl.when(reduced).then(_money(fine.reduced)).otherwise(_money(fine.normal)).alias("amount")


def fine_candidates(
    members: pl.LazyFrame,
    payments: pl.LazyFrame,
    allowance: pl.LazyFrame,
    fine_year: int,
    p: Params,
    fine: Amounts,
) -> pl.LazyFrame:
    """The fine candidates of year F (FINE_COLUMNS): F-FINE judged on the fine reference date of F."""
    reference_date = fine_reference_date(fine_year, p)
    flagged = (
        members.join(years_in_default(payments, reference_date), on="insz", how="inner")
        .join(increased_allowance_on(allowance, dt.date(fine_year - 1, 1, 1)), on="insz", how="left")
        .with_columns(f_fine(p, reference_date))
    )
    return flagged.filter("f_fine").select(
        "insz",
        "zorgkas",
        pl.lit(fine_year, pl.Int32).alias("fine_year"),
        f_fine_amount(fine),
        "years_in_default",
    )


# --- W-VOLUNTARY-ARREARS ----------------------------------------------------------------------------


def w_voluntary_arrears(members: pl.LazyFrame, payments: pl.LazyFrame, p: Params, run_date: dt.date) -> pl.LazyFrame:
    """W-VOLUNTARY-ARREARS: a voluntary member with voluntary_arrears_years (2) or more premium years in
    default on the run date D (P-DEFAULT): the zorgkas ends the affiliation. voluntary_arrears_years read on D.

    docs/spec/rules.md §5. Voluntary: RESIDENT_BXL or ABROAD_EMPLOYER_BXL. Local decision: only a member still
    affiliated and alive on D (an ended affiliation needs no ending). `since` is the day the
    member's voluntary_arrears_years-th year fell in default (the day after its due date);
    `evidence` names the premium_payments rows ("premium_payments:<premium_year>").
    Columns: pipelines/decide/worklist.py WORKLIST_COLUMNS.
    """
    running = (
        pl.col("affiliation_basis").is_in(VOLUNTARY_BASES)
        & active_on(pl.col("affiliation_start"), pl.col("affiliation_end"), pl.lit(run_date))
        & _alive_on(run_date)
    )
    arrears = (
        members.filter(running.fill_null(False))
        .select("insz", "zorgkas")
        .join(years_in_default(payments, run_date), on="insz", how="inner")
        .filter(pl.col("years_in_default").list.len() >= p.voluntary_arrears_years)
    )
    years = pl.col("years_in_default")
    return arrears.select(
        "insz",
        "zorgkas",
        pl.lit("W-VOLUNTARY-ARREARS").alias("code"),
        pl.col("default_dates").list.get(p.voluntary_arrears_years - 1).alias("since"),
        pl.format(
            "{} premium years in default: {}", years.list.len(), years.cast(pl.List(pl.String)).list.join(", ")
        ).alias("detail"),
        years.list.eval(pl.lit("premium_payments:") + pl.element().cast(pl.String)).alias("evidence"),
        pl.lit(None, pl.Date).alias("due"),
    ).select([pl.col(c).cast(t) for c, t in WORKLIST_COLUMNS.items()])


# --- the fines of a year against the ledger ---------------------------------------------------------


@dataclass
class FinePlan:
    rows: pl.DataFrame  # fines of year F: proposed by an earlier attempt, then new (FINE_COLUMNS)
    new: pl.DataFrame
    counts: dict = field(default_factory=dict)


def plan_fines(candidates: pl.DataFrame, held: pl.DataFrame, ledger: pl.DataFrame) -> FinePlan:
    """The fine candidates of year F (`candidates`: `fine_candidates`) against the ledger: those already
    there for F, and the new ones (at most one fine per person and year F; held persons wait)."""
    fresh = candidates.join(ledger.select("insz"), on="insz", how="anti")
    new = fresh.join(held, on="insz", how="anti").sort("zorgkas", "insz")
    rows = pl.concat([ledger, new]).sort("zorgkas", "insz")
    counts = {
        "candidates": candidates.height,
        "proposed": new.height,
        "proposed_earlier": ledger.height,
        "held": fresh.height - new.height,
    }
    return FinePlan(rows=rows, new=new, counts=counts)
