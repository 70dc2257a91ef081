"""The care premium (zorgpremie): invoices, arrears and fine candidates (rules.md §7, W-VOLUNTARY-ARREARS §5).

Pure: frames in, frames out. The flows (flows/premium.py) read the feeds, the parameters and the
invoice and fine ledgers of the state, and publish. One function per rule code:

- P-LIABLE, P-REDUCED, P-AMOUNT, P-DUE: who owes the premium of year Y, how much, by when
  (`premium_due` composes them);
- P-REFERENCE: the structured communication +++DDD/DDDD/DDDDD+++ of an invoice, from a base
  numbered per zorgkas (`reference_bases`, `p_reference`);
- P-DEFAULT: a premium year in default on a reference date (`years_in_default` per person);
- F-FINE: fine candidates on the fine reference date (`fine_candidates` composes it);
- W-VOLUNTARY-ARREARS: the work-list rows for voluntary members in arrears (for the nightly run).

What this module leaves out: payments, reminders and the settlement with an estate are done by the
zorgkas; the engine never changes an invoice once issued (the ledger in the state holds it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from pipelines.decide.conditions import VOLUNTARY_BASES, residence_from_year
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.ingest.insz import insz_number
from pipelines.params import Params
from pipelines.timeline import active_on
from schemas.outputs import Fines, Invoices, columns

MANDATORY_BASES = ["RESIDENT_VL", "ABROAD_EMPLOYER_VL"]
MONEY = pl.Decimal(12, 2)
REFERENCE_BASE_LIMIT = 10**10  # a structured communication has 10 digits of base

INVOICE_COLUMNS = columns(Invoices)
# an invoice as the ledger keeps it: the published columns but the reference, plus its base
LEDGER_INVOICE_COLUMNS = {
    **{c: t for c, t in INVOICE_COLUMNS.items() if c != "structured_reference"},
    "reference_base": pl.Int64,
}
FINE_COLUMNS = columns(Fines)


@dataclass(frozen=True)
class Amounts:
    """A normal and a reduced amount in force: the premium of a year (P-AMOUNT) or the fine (F-FINE)."""

    normal: Decimal
    reduced: Decimal


def _money(value: Decimal) -> pl.Expr:
    return pl.lit(value, dtype=MONEY)


def _alive_on(day: dt.date) -> pl.Expr:
    """Alive on `day` as E-ALIVE reads it: no death_date, or day <= death_date (the day of death counts)."""
    return pl.col("death_date").is_null() | (pl.lit(day) <= pl.col("death_date"))


# --- the premium of year Y ---------------------------------------------------------------------------


def p_liable(year: int, invoice_date: dt.date) -> pl.Expr:
    """P-LIABLE: the member owes the premium of `year`.

    rules.md §7: affiliated on at least one day of Y (affiliation_start <= 31 December Y and no
    affiliation_end before 1 January Y), turns 26 or more in Y (year(birth_date) + 26 <= Y: whatever
    the birthday, the whole year is owed), alive on 1 January Y (dying on that day still counts, as
    in E-ALIVE). One premium per person and year, never pro rata. Local decision of rules.md: a member
    deceased on the invoice date D (death_date before D) is not invoiced; the zorgkas settles with
    the estate by hand.
    """
    january_first, december_last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    affiliated_in_year = (pl.col("affiliation_start") <= december_last) & (
        pl.col("affiliation_end").is_null() | (pl.col("affiliation_end") >= january_first)
    )
    turns_26_or_more = pl.col("birth_date").dt.year() + 26 <= year
    alive_on_january_first = _alive_on(january_first)
    not_deceased_on_invoice_date = _alive_on(invoice_date)
    liable = affiliated_in_year & turns_26_or_more & alive_on_january_first & not_deceased_on_invoice_date
    return liable.fill_null(False).alias("p_liable")


def increased_allowance_on(allowance: pl.LazyFrame, day: dt.date) -> pl.LazyFrame:
    """The persons with an increased_allowance period active on `day`: insz, increased_allowance (True)."""
    return (
        allowance.filter(active_on(pl.col("start_date"), pl.col("end_date"), pl.lit(day)))
        .select("insz")
        .unique()
        .with_columns(pl.lit(True).alias("increased_allowance"))
    )


def p_reduced(year: int) -> pl.Expr:
    """P-REDUCED: the reduced premium applies.

    rules.md §7: an increased_allowance period active on 1 January Y-1 (column `increased_allowance`,
    from `increased_allowance_on`) and either 5 consecutive calendar years of residence in VL or
    BXL, all before Y (`residence_from_year` <= Y, as in E-RESIDENCE), or EU/EEA/Swiss insurance
    since 1 January Y-1 or earlier. A null means the condition does not hold.
    """
    allowance = pl.col("increased_allowance").fill_null(False)
    resident = (pl.col("residence_from_year") <= year).fill_null(False)
    eu_insured = (pl.col("eu_insured_since") <= dt.date(year - 1, 1, 1)).fill_null(False)
    return (allowance & (resident | eu_insured)).alias("p_reduced")


def p_amount(premium: Amounts) -> pl.Expr:
    """P-AMOUNT: premium_reduced when P-REDUCED holds, else premium_normal, both in force for year Y.

    rules.md §7 (2026: 100 / 35). The caller takes the amounts of 1 January Y from the parameters:
    a missing amount (the reduced premium of 2025) is a ParameterError there, never a zero here.
    """
    return pl.when(pl.col("p_reduced")).then(_money(premium.reduced)).otherwise(_money(premium.normal)).alias("amount")


def p_due(p: Params) -> pl.Expr:
    """P-DUE: the later of premium_due_day of the premium year (30 April) and the invoice date +
    premium_late_invoice_days (30; local decision of rules.md)."""
    month, day = p.premium_due_day
    due_day = pl.date(pl.col("premium_year"), month, day)
    late = pl.col("invoice_date") + pl.duration(days=p.premium_late_invoice_days)
    return pl.max_horizontal(due_day, late).alias("due_date")


def premium_grounds() -> pl.Expr:
    """The rule codes behind an invoice: P-LIABLE, and P-REDUCED when the reduced amount applies."""
    both = pl.lit(["P-LIABLE", "P-REDUCED"], pl.List(pl.String))
    return pl.when(pl.col("p_reduced")).then(both).otherwise(pl.lit(["P-LIABLE"], pl.List(pl.String))).alias("grounds")


def premium_due(
    members: pl.LazyFrame,
    residence: pl.LazyFrame,
    allowance: pl.LazyFrame,
    year: int,
    invoice_date: dt.date,
    p: Params,
    premium: Amounts,
) -> pl.LazyFrame:
    """Every member who owes the premium of `year` on `invoice_date`, with its amount and due date.

    Columns: insz, zorgkas, premium_year, amount, reduced, grounds, due_date, invoice_date (no
    invoice number yet: `reference_bases` numbers the invoices not yet issued).
    """
    liable = members.filter(p_liable(year, invoice_date)).with_columns(
        pl.lit(year, pl.Int32).alias("premium_year"), pl.lit(invoice_date).alias("invoice_date")
    )
    allowance_on = increased_allowance_on(allowance, dt.date(year - 1, 1, 1)).join(
        liable.select("insz"), on="insz", how="semi"
    )
    # residence matters only for the liable with the allowance (P-REDUCED): only their years are counted
    residence = residence.join(allowance_on.select("insz"), on="insz", how="semi")
    flagged = (
        liable.join(allowance_on, on="insz", how="left")
        .join(residence_from_year(residence, p, invoice_date), on="insz", how="left")
        .with_columns(p_reduced(year))
    )
    return flagged.select(
        "insz",
        "zorgkas",
        "premium_year",
        p_amount(premium),
        pl.col("p_reduced").alias("reduced"),
        premium_grounds(),
        p_due(p),
        "invoice_date",
    )


def deceased_before(invoice_date: dt.date) -> pl.Expr:
    """A member deceased on the invoice date (death_date before it): not invoiced (P-LIABLE, local decision)."""
    return ~_alive_on(invoice_date).fill_null(True)


# --- P-REFERENCE ------------------------------------------------------------------------------------


def reference_bases(new: pl.LazyFrame, last_bases: pl.LazyFrame) -> pl.LazyFrame:
    """P-REFERENCE: the 10-digit base of each new invoice, unique within its zorgkas across all years.

    Each zorgkas numbers its invoices in one sequence stored in the invoice ledger: the new
    invoices of a run follow the zorgkas's highest base so far (`last_bases`: zorgkas, last_base;
    absent: 0), in insz order (a run issues one premium year, so insz is unique in `new`; an insz
    is 11 digits, so its number orders it as its text does, and faster). The same inputs and
    ledger give the same bases; an issued invoice keeps its base for ever (the ledger holds it).
    Adds reference_base and invoice_id ("<zorgkas>-<year>-<base>").
    """
    numbered = new.join(last_bases, on="zorgkas", how="left").with_columns(
        (pl.col("last_base").fill_null(0) + insz_number(pl.col("insz")).rank("ordinal").over("zorgkas"))
        .cast(pl.Int64)
        .alias("reference_base")
    )
    return numbered.drop("last_base").with_columns(invoice_id())


def invoice_id() -> pl.Expr:
    """The invoice id: zorgkas, premium year and the zero-padded reference base (unique, stable)."""
    base = pl.col("reference_base").cast(pl.String).str.zfill(10)
    return pl.format("{}-{}-{}", pl.col("zorgkas"), pl.col("premium_year"), base).alias("invoice_id")


def p_reference() -> pl.Expr:
    """P-REFERENCE: the Belgian structured communication +++DDD/DDDD/DDDDD+++ of `reference_base`.

    rules.md §7: 10 digits of base, then 2 check digits = base mod 97 (97 when the remainder is 0).
    Agrees with python-stdnum's `stdnum.be.ogm_vcs` (tests/test_premium_rules.py).
    """
    base = pl.col("reference_base").cast(pl.Int64)
    remainder = base % 97
    check = pl.when(remainder == 0).then(pl.lit(97, pl.Int64)).otherwise(remainder)
    # the 12 digits behind a leading 1: zero-padded by arithmetic, which is faster than zfill
    digits = (10**12 + base * 100 + check).cast(pl.String)
    return pl.concat_str(
        pl.lit("+++"),
        digits.str.slice(1, 3),
        pl.lit("/"),
        digits.str.slice(4, 4),
        pl.lit("/"),
        digits.str.slice(8, 5),
        pl.lit("+++"),
    ).alias("structured_reference")


def published_invoices(ledger_rows: pl.LazyFrame) -> pl.LazyFrame:
    """Ledger rows (LEDGER_INVOICE_COLUMNS) as the published invoice rows: INVOICE_COLUMNS, then
    reference_base (to order each zorgkas's file by; not published)."""
    return ledger_rows.with_columns(p_reference()).select(
        *[pl.col(c).cast(t) for c, t in INVOICE_COLUMNS.items()], "reference_base"
    )


# --- P-DEFAULT and F-FINE ---------------------------------------------------------------------------


# euro: below this, an amount's cents are a finite Float64; above, a float has no cents to round anyway
CENTS_LIMIT = 1e300


def _cents(amount: pl.Expr) -> pl.Expr:
    """P-DEFAULT: euro amounts of the feed (float) as whole cents, so that 64.0 and 63.99 compare exactly.

    Kept Float64, never cast to Int64: every whole number of cents up to 2**53 is exact in a Float64 and
    compares as the Int64 would have, and a finite but huge amount (1e300 euro: beyond Int64) must not
    stop the night (issue 11).
    """
    return (amount * 100).round(0)


def _less_in_cents(paid: pl.Expr, due: pl.Expr) -> pl.Expr:
    """P-DEFAULT: paid < due in whole cents; amounts beyond CENTS_LIMIT (whose cents overflow to infinity)
    compare as they are."""
    in_cents = (paid.abs() < CENTS_LIMIT) & (due.abs() < CENTS_LIMIT)
    return pl.when(in_cents).then(_cents(paid) < _cents(due)).otherwise(paid < due)


def p_default(reference_date: dt.date) -> pl.Expr:
    """P-DEFAULT: a premium_payments row (a person's premium year) is in default on `reference_date` R.

    rules.md §7: due_date < R and amount_paid < amount_due, counting only payments with
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
    """The fine reference date of year F: fine_reference_day of F (15 October F)."""
    month, day = p.fine_reference_day
    return dt.date(fine_year, month, day)


def f_fine(p: Params, reference_date: dt.date) -> pl.Expr:
    """F-FINE: a fine candidate on the fine reference date R of year F.

    rules.md §7: mandatory affiliation (RESIDENT_VL, ABROAD_EMPLOYER_VL) and at least fine_min_years
    (2) premium years in default on R (P-DEFAULT), consecutive or not. Local decision (as for
    P-LIABLE): a member deceased on R (death_date before R) is no candidate.
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
    default on the run date D (P-DEFAULT): the zorgkas ends the affiliation.

    rules.md §5. Voluntary: RESIDENT_BXL or ABROAD_EMPLOYER_BXL. Local decision: only a member still
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
    ).select([pl.col(c).cast(t) for c, t in WORKLIST_COLUMNS.items()])


# --- persons held this run --------------------------------------------------------------------------


def quarantined_persons(quarantines: list[pl.DataFrame]) -> pl.LazyFrame:
    """The insz of every quarantined row of the feeds a premium run reads (column insz, unique).

    Like S-HOLD (rules.md §8): a person whose rows are not all valid is not invoiced or fined in
    this run (a rerun after the correction issues what is missing); a quarantined row's insz is
    read from its JSON. An unreadable or invalid insz matches no member.
    """
    frames = [q.lazy().select(pl.col("row").str.json_path_match("$.insz").alias("insz")) for q in quarantines]
    if not frames:
        return pl.LazyFrame(schema={"insz": pl.String})
    return pl.concat(frames).drop_nulls().unique()
