"""The care premium (zorgpremie) of year Y: who owes it, how much, by when, and its invoice (docs/spec/rules.md §7).

Pure: frames in, frames out. The invoice run (flows/premium.py) reads the feeds, the parameters and
the invoice ledger of the state, and publishes. `premium_due` composes P-LIABLE, P-REDUCED, P-AMOUNT
and P-DUE; `p_reference` numbers the new invoices; `plan_invoices` puts them against the ledger.

What this module leaves out: payments, reminders and the settlement with an estate are done by the
zorgkas; the engine never changes an invoice once issued (the ledger in the state holds it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from pipelines.decide.conditions import residence_from_year
from pipelines.ingest.insz import insz_number
from pipelines.params import Params
from pipelines.timeline import active_on
from schemas.outputs import Invoices, columns

MONEY = pl.Decimal(12, 2)
# a structured communication has 10 digits of base; an invoice's base stays below 9,000,000,000, whose bases are
# the recovery letters' (pipelines/emit/letters/payment.py): an invoice and a recovery never share a reference
REFERENCE_BASE_LIMIT = 9 * 10**9

INVOICE_COLUMNS = columns(Invoices)
# an invoice as the ledger keeps it: the published columns but the reference, plus its base
LEDGER_INVOICE_COLUMNS = {
    **{c: t for c, t in INVOICE_COLUMNS.items() if c != "structured_reference"},
    "reference_base": pl.Int64,
}


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


def p_liable(year: int, invoice_date: dt.date, p: Params) -> pl.Expr:
    """P-LIABLE: the member owes the premium of `year`.

    docs/spec/rules.md §7: affiliated on at least one day of Y (affiliation_start <= 31 December Y and no
    affiliation_end before 1 January Y), turns 26 or more in Y (year(birth_date) + 26 <= Y: whatever
    the birthday, the whole year is owed), alive on 1 January Y (dying on that day still counts, as
    in E-ALIVE). One premium per person and year, never pro rata. Local decision of docs/spec/rules.md: a member
    deceased on the invoice date D (death_date before D) is not invoiced; the zorgkas settles with
    the estate by hand. 26 is premium_liable_age, read on 1 January Y (the premium year's own).
    """
    january_first, december_last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    affiliated_in_year = (pl.col("affiliation_start") <= december_last) & (
        pl.col("affiliation_end").is_null() | (pl.col("affiliation_end") >= january_first)
    )
    turns_26_or_more = pl.col("birth_date").dt.year() + p.at(january_first).premium_liable_age <= year
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

    docs/spec/rules.md §7: an increased_allowance period active on 1 January Y-1 (column `increased_allowance`,
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

    docs/spec/rules.md §7 (2026: 100 / 35). The caller takes the amounts of 1 January Y from the parameters:
    a missing amount (the reduced premium of 2025) is a ParameterError there, never a zero here.
    """
    return pl.when(pl.col("p_reduced")).then(_money(premium.reduced)).otherwise(_money(premium.normal)).alias("amount")


def p_due(year: int, p: Params) -> pl.Expr:
    """P-DUE: the later of premium_due_day of the premium year (30 April) and the invoice date +
    premium_late_invoice_days (30; local decision of docs/spec/rules.md).

    premium_due_day is read on 1 January of the premium year `year` (its own due day, whenever invoiced);
    premium_late_invoice_days on the invoice date (`p`: the parameters of the run date D)."""
    month, day = p.at(dt.date(year, 1, 1)).premium_due_day
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
    invoice number yet: `reference_bases` numbers the invoices not yet issued). `p`: the parameters of the
    invoice date; the premium year's own (its age, residence years and due day) are read on 1 January Y.
    """
    liable = members.filter(p_liable(year, invoice_date, p)).with_columns(
        pl.lit(year, pl.Int32).alias("premium_year"), pl.lit(invoice_date).alias("invoice_date")
    )
    allowance_on = increased_allowance_on(allowance, dt.date(year - 1, 1, 1)).join(
        liable.select("insz"), on="insz", how="semi"
    )
    # residence matters only for the liable with the allowance (P-REDUCED): only their years are counted
    residence = residence.join(allowance_on.select("insz"), on="insz", how="semi")
    flagged = (
        liable.join(allowance_on, on="insz", how="left")
        .join(residence_from_year(residence, p.at(dt.date(year, 1, 1)), invoice_date), on="insz", how="left")
        .with_columns(p_reduced(year))
    )
    return flagged.select(
        "insz",
        "zorgkas",
        "premium_year",
        p_amount(premium),
        pl.col("p_reduced").alias("reduced"),
        premium_grounds(),
        p_due(year, p),
        "invoice_date",
    )


def deceased_before(invoice_date: dt.date) -> pl.Expr:
    """A member deceased on the invoice date (death_date before it): not invoiced (P-LIABLE, local decision)."""
    return ~_alive_on(invoice_date).fill_null(True)


# --- P-REFERENCE ------------------------------------------------------------------------------------


def p_reference(new: pl.LazyFrame, last_bases: pl.LazyFrame) -> pl.LazyFrame:
    """P-REFERENCE: every invoice carries a Belgian structured communication `+++DDD/DDDD/DDDDD+++`: 10
    digits of base and 2 check digits = base mod 97 (97 when the remainder is 0). The base is unique
    within a zorgkas across all years, and stable: the same invoice keeps its reference in every rerun.

    docs/spec/rules.md §7. Each zorgkas numbers its invoices in one sequence stored in the invoice ledger: the
    new invoices of a run follow the zorgkas's highest base so far (`last_bases`: zorgkas, last_base;
    absent: 0), in insz order (a run issues one premium year, so insz is unique in `new`; an insz is 11
    digits, so its number orders it as its text does, and faster). The same inputs and ledger give the
    same bases; an issued invoice keeps its base for ever (the ledger holds it, and the published files
    format it again: `structured_reference`). Adds reference_base, invoice_id ("<zorgkas>-<year>-<base>")
    and structured_reference; `check_new_invoices` refuses a base reused or at or above REFERENCE_BASE_LIMIT.
    """
    numbered = new.join(last_bases, on="zorgkas", how="left").with_columns(
        (pl.col("last_base").fill_null(0) + insz_number(pl.col("insz")).rank("ordinal").over("zorgkas"))
        .cast(pl.Int64)
        .alias("reference_base")
    )
    return numbered.drop("last_base").with_columns(invoice_id(), structured_reference())


def invoice_id() -> pl.Expr:
    """The invoice id: zorgkas, premium year and the zero-padded reference base (unique, stable)."""
    base = pl.col("reference_base").cast(pl.String).str.zfill(10)
    return pl.format("{}-{}-{}", pl.col("zorgkas"), pl.col("premium_year"), base).alias("invoice_id")


def structured_reference() -> pl.Expr:
    """The structured communication +++DDD/DDDD/DDDDD+++ of `reference_base`: the base and its two check
    digits (base mod 97, 97 for 0). Agrees with python-stdnum's `stdnum.be.ogm_vcs` (tests)."""
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
    return ledger_rows.with_columns(structured_reference()).select(
        *[pl.col(c).cast(t) for c, t in INVOICE_COLUMNS.items()], "reference_base"
    )


# --- the invoices of a run against the ledger ------------------------------------------------------


class PremiumRunError(Exception):
    """A premium run cannot go ahead (an invoice would be issued twice, a reference base reused)."""


@dataclass
class InvoicePlan:
    rows: pl.DataFrame  # ledger rows of this run's folder: issued earlier on D, then new (LEDGER_INVOICE_COLUMNS)
    new: pl.DataFrame  # the invoices this run issues (LEDGER_INVOICE_COLUMNS)
    counts: dict = field(default_factory=dict)


def plan_invoices(
    due: pl.DataFrame,
    members: pl.LazyFrame,
    held: pl.DataFrame,
    ledger: pl.DataFrame,
    last_bases: pl.DataFrame,
    year: int,
    invoice_date: dt.date,
    p: Params,
) -> InvoicePlan:
    """The invoices of the run (Y, D): those issued on D by an earlier attempt, read back from the
    ledger, and new ones for the liable members (`due`: `premium_due`) not invoiced by any run, nor held."""
    invoiced = ledger.lazy().select("insz")
    other_runs = ledger.lazy().filter(pl.col("invoice_date") != invoice_date).select("insz")
    fresh = due.lazy().join(invoiced, on="insz", how="anti")
    new_rows = p_reference(fresh.join(held.lazy(), on="insz", how="anti"), last_bases.lazy()).select(
        [pl.col(c).cast(t) for c, t in LEDGER_INVOICE_COLUMNS.items()]
    )
    liable = p_liable(year, min(invoice_date, dt.date(year, 1, 1)), p)
    not_alive = members.filter(liable & deceased_before(invoice_date))
    counted = {
        "liable": due.lazy(),
        "liable_already_invoiced_by_other_runs": due.lazy().join(other_runs, on="insz", how="semi"),
        "held": fresh.join(held.lazy(), on="insz", how="semi"),
        "deceased_not_invoiced": not_alive.join(invoiced, on="insz", how="anti"),
    }
    new, *lengths = pl.collect_all([new_rows, *(q.select(pl.len()) for q in counted.values())])
    check_new_invoices(new, ledger, last_bases)
    earlier = ledger.filter(pl.col("invoice_date") == invoice_date)
    counts = {
        "issued": new.height,
        "issued_earlier_on_this_date": earlier.height,
        **{name: n.item() for name, n in zip(counted, lengths, strict=True)},
    }
    return InvoicePlan(rows=pl.concat([earlier, new]), new=new, counts=counts)


def check_new_invoices(new: pl.DataFrame, ledger: pl.DataFrame, last_bases: pl.DataFrame) -> None:
    """The invoice ledger's keys, checked before the commit (DuckDB constraints would cost ~2 s per million
    rows): one invoice per (insz, premium_year), and new reference bases above every base of their zorgkas
    and below REFERENCE_BASE_LIMIT (the recovery letters' bases start there). One run at a time holds the state,
    so the ledger read at the start of the run is the ledger at the commit. Names counts, never a value."""
    numbers = new.select(insz_number(pl.col("insz")))["insz"]
    twice = new.height - numbers.n_unique() + new.join(ledger, on="insz", how="semi").height
    bases = new.group_by("zorgkas").agg(pl.col("reference_base").min().alias("first"), pl.col("reference_base").max())
    bases = bases.join(last_bases, on="zorgkas", how="left").with_columns(pl.col("last_base").fill_null(0))
    reused = bases.filter(pl.col("first") <= pl.col("last_base")).height
    if twice or reused or bases.filter(pl.col("reference_base") >= REFERENCE_BASE_LIMIT).height:
        raise PremiumRunError(
            f"{twice} invoices would be issued twice, {reused} zorgkassen would reuse a reference base, "
            "or a zorgkas has used every invoice base (below 9,000,000,000: the higher ones are recoveries')"
        )
