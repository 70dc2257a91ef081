"""Payments, recoveries and holds (rules.md §8: PAY-MONTH, PAY-ONCE, PAY-RECOVERY, S-HOLD; §5 W-IBAN-MISSING,
W-MEMBER-MISSING, W-HELD).

Pure: the payment ledger (what was paid before this run) comes in as a frame; what this
run pays goes out as frames that the flow records in the ledger, in the same transaction
as its publication.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.ingest.insz import insz_number, r_id_valid
from schemas.outputs import Payments, Recoveries, columns

LEDGER_COLUMNS = {
    "insz": pl.String,
    "budget": pl.String,  # ZZB, BOB, ZZB-ABSENCE
    "month": pl.Date,  # for absence budgets: the 31 August that ends the school year
    "amount": pl.Decimal(12, 2),
    "run_key": pl.String,
    "paid_on": pl.Date,
}
PAYMENT_COLUMNS = columns(Payments)  # payments.parquet
# what a payment run pays (Settlement.payments): the payment file without the account
PAID_COLUMNS = {c: t for c, t in PAYMENT_COLUMNS.items() if c not in ("iban", "name")}
# an entitled month or due absence budget not yet paid
OWED_COLUMNS = {c: t for c, t in PAID_COLUMNS.items() if c != "end_to_end_id"}
ACCOUNT_COLUMNS = {"insz": pl.String, "iban": pl.String, "name": pl.String}
RECOVERY_COLUMNS = columns(Recoveries)
EMPTY_CODES = pl.lit([], pl.List(pl.String))


BUDGET_CODES = {"ZZB": 0, "BOB": 1, "ZZB-ABSENCE": 2}


def ledger_key() -> pl.Expr:
    """(insz, budget, month) packed in one Int64: joins on it are far lighter than on three columns at 7M.

    Exact: a valid insz is an 11-digit number (< 10^11), the budget one of three, the month an index
    below 2000 (years up to 2166).
    """
    budget = pl.col("budget").replace_strict(BUDGET_CODES, return_dtype=pl.Int64)
    month = pl.col("month").dt.year().cast(pl.Int64) * 12 + pl.col("month").dt.month().cast(pl.Int64) - 24_000
    return ((insz_number(pl.col("insz")) * 4 + budget) * 2000 + month).alias("_key")


def is_payment_run(run_date: dt.date, payment_day: int, earlier_payment_run_this_month: bool) -> bool:
    """PAY-MONTH: the payment run of month M is the first run whose date is in M and on or after payment_day."""
    return run_date.day >= payment_day and not earlier_payment_run_this_month


def entitled_months(periods: pl.DataFrame, through: dt.date) -> pl.DataFrame:
    """The entitled months up to and including `through`, one row per (insz, budget, month)."""
    entitled = periods.filter(pl.col("entitled") & (pl.col("first_month") <= through))
    return (
        entitled.with_columns(
            pl.date_ranges("first_month", pl.min_horizontal("last_month", pl.lit(through)), "1mo").alias("month")
        )
        .explode("month")
        .select(
            "insz",
            "zorgkas",
            "budget",
            "month",
            pl.lit(1, pl.Int64).alias("quantity"),
            pl.col("monthly_amount").alias("amount"),
        )
    )


def due_absences(absences: pl.DataFrame) -> pl.DataFrame:
    """G-ABSENCE budgets that are due, as payable rows (budget ZZB-ABSENCE, month = 31 August)."""
    return absences.filter("due").select(
        "insz", "zorgkas", pl.lit("ZZB-ABSENCE").alias("budget"), "month", "quantity", "amount"
    )


def pay_month(
    months: pl.DataFrame, absences: pl.DataFrame, ledger: pl.DataFrame, window_first: dt.date, held: pl.DataFrame
) -> pl.DataFrame:
    """PAY-MONTH and PAY-ONCE: what this payment run owes: every entitled month (and due absence budget) of
    the window not yet in the payment ledger, arrears included, except for held persons (S-HOLD)."""
    payable = pl.concat([months, absences]).filter(pl.col("month") >= window_first).with_columns(ledger_key())
    return (
        payable.join(ledger.select(ledger_key()), on="_key", how="anti")
        .drop("_key")
        .join(held.select("insz"), on="insz", how="anti")
        .sort("zorgkas", "insz", "budget", "month")
    )


def with_accounts(owed: pl.DataFrame, members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split what is owed into payable rows (the member has a valid IBAN) and withheld rows (W-IBAN-MISSING:
    it stays due). `members`: insz, iban_status."""
    joined = owed.join(members.select("insz", "iban_status"), on="insz", how="left")
    payable = joined.filter(pl.col("iban_status") == "VALID").drop("iban_status")
    withheld = joined.filter(pl.col("iban_status").fill_null("MISSING") != "VALID")
    return payable, withheld


def accounts_of(members: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """ACCOUNT_COLUMNS of the members among `persons` (insz) with a valid IBAN: what payments.parquet
    and the SEPA file need of a payee. The flow keeps these only, not 7M names and IBANs."""
    return (
        members.filter(pl.col("iban_status") == "VALID")
        .join(persons.select("insz").unique(), on="insz", how="semi")
        .select(list(ACCOUNT_COLUMNS))
    )


def payment_rows(paid: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """PAYMENT_COLUMNS (payments.parquet): the paid rows (PAID_COLUMNS) with the payee's IBAN and name,
    in the same order. Every payee has a valid IBAN (with_accounts): a row without one is an error."""
    rows = paid.join(accounts.select(list(ACCOUNT_COLUMNS)), on="insz", how="left", maintain_order="left")
    if rows.select(pl.col("iban").is_null().any()).item():
        raise ValueError("a payment row has no valid IBAN of its payee")
    return rows.select(list(PAYMENT_COLUMNS))


def end_to_end_ids(payable: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """PAID_COLUMNS: rows of one person and budget share one end_to_end_id, numbered per zorgkas in
    (insz, budget) order: deterministic, and without the insz (it is seen on bank statements).

    One sort by (zorgkas, insz, budget, month); a person and budget's number is the count of new
    (insz, budget) pairs so far in the zorgkas. The rows come out in (zorgkas, end_to_end_id, month)
    order, the order of the payment file.
    """
    ordered = payable.sort("zorgkas", "insz", "budget", "month")
    first_of_pair = (
        (pl.col("insz") != pl.col("insz").shift(1))
        | (pl.col("budget") != pl.col("budget").shift(1))
        | (pl.col("zorgkas") != pl.col("zorgkas").shift(1))
    ).fill_null(True)
    number = first_of_pair.cast(pl.UInt32).cum_sum().over("zorgkas")
    return ordered.select(
        pl.format(
            "VSB{}{}{}", pl.lit(run_date.strftime("%Y%m%d")), pl.col("zorgkas"), number.cast(pl.String).str.zfill(7)
        ).alias("end_to_end_id"),
        *[c for c in PAID_COLUMNS if c != "end_to_end_id"],
    )


def w_iban_missing(withheld: pl.DataFrame) -> pl.DataFrame:
    """W-IBAN-MISSING: an entitled month or absence budget is unpaid and the member has no valid IBAN."""
    return (
        withheld.group_by("insz", "zorgkas")
        .agg(pl.col("month").min().alias("since"), pl.col("iban_status").first(), pl.len().alias("_n"))
        .select(
            "insz",
            "zorgkas",
            pl.lit("W-IBAN-MISSING").alias("code"),
            "since",
            pl.format(
                "{} payments withheld: IBAN {}",
                pl.col("_n"),
                pl.col("iban_status").fill_null("MISSING").str.to_lowercase(),
            ).alias("detail"),
            EMPTY_CODES.alias("evidence"),
        )
    )


def pay_recovery(
    ledger: pl.DataFrame,
    months: pl.DataFrame,
    absences: pl.DataFrame,
    recovered: pl.DataFrame,
    window_first: dt.date,
    through: dt.date,
    held: pl.DataFrame,
    zorgkas_of: pl.DataFrame,
    fails: pl.DataFrame,
) -> pl.DataFrame:
    """PAY-RECOVERY: paid months of the window (up to the payment month) that this run finds not entitled,
    not yet listed: a recovery each, never netted, never a negative payment. Held persons wait.

    `fails`: per (insz, budget, month) the codes that now fail (for the reason); `zorgkas_of`:
    insz -> zorgkas for persons whose member row is gone from this run's members. A month with no
    decision row now lies outside any right: the reason is the right's code (ZZB-START, G-BOB,
    G-ABSENCE), as outputs.md asks rule codes, not text.
    """
    still_due = pl.concat([months.select(ledger_key()), absences.select(ledger_key())])
    candidates = (
        ledger.filter(pl.col("month").is_between(window_first, through))
        .with_columns(ledger_key())
        .join(still_due, on="_key", how="anti")
        .join(recovered.select(ledger_key()), on="_key", how="anti")
        .drop("_key")
        .join(held.select("insz"), on="insz", how="anti")
    )
    return recovery_rows(candidates, zorgkas_of, fails)


def recovery_rows(candidates: pl.DataFrame, zorgkas_of: pl.DataFrame, fails: pl.DataFrame) -> pl.DataFrame:
    """PAY-RECOVERY rows (RECOVERY_COLUMNS) for the paid months to recover: with the zorgkas and the codes
    that now fail as the reason (a month with no decision row lies outside any right: the right's code)."""
    outside_right = (
        pl.when(pl.col("budget") == "ZZB")
        .then(pl.lit(["ZZB-START"], pl.List(pl.String)))
        .when(pl.col("budget") == "BOB")
        .then(pl.lit(["G-BOB"], pl.List(pl.String)))
        .otherwise(pl.lit(["G-ABSENCE"], pl.List(pl.String)))
    )
    return (
        candidates.join(zorgkas_of, on="insz", how="left")
        .join(fails, on=["insz", "budget", "month"], how="left")
        .with_columns(pl.col("reason").fill_null(outside_right))
        .select(list(RECOVERY_COLUMNS))
        .sort("zorgkas", "insz", "budget", "month")
    )


def held_persons(quarantines: dict[str, pl.DataFrame], run_year: int) -> pl.DataFrame:
    """S-HOLD: persons (valid insz) with a quarantined row in any feed of this run: insz, feed, rule."""
    rows = []
    for feed, quarantine in quarantines.items():
        rows.append(
            quarantine.select(
                pl.col("row").str.json_path_match("$.insz").alias("insz"),
                pl.lit(feed).alias("feed"),
                "rule",
            )
        )
    found = pl.concat(rows) if rows else pl.DataFrame(schema={"insz": pl.String, "feed": pl.String, "rule": pl.String})
    return found.filter(r_id_valid(pl.col("insz"), run_year).fill_null(False)).unique().sort("insz", "feed", "rule")


def w_member_missing(open_grants: pl.DataFrame, members: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """W-MEMBER-MISSING: a person with an active (open) grant is not in the members feed, and no affiliation
    end or death explains it: the grant is held, not stopped."""
    gone = open_grants.join(members.select("insz"), on="insz", how="anti")
    return (
        gone.group_by("insz")
        .agg(pl.col("zorgkas").first(), pl.col("first_month").min())
        .select(
            "insz",
            "zorgkas",
            pl.lit("W-MEMBER-MISSING").alias("code"),
            pl.lit(run_date).alias("since"),
            pl.lit("open grant, person missing from the members feed").alias("detail"),
            EMPTY_CODES.alias("evidence"),
        )
    )


def w_held(held: pl.DataFrame, zorgkas_of: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """W-HELD: the person is held this run (S-HOLD): names the quarantine rule and feed."""
    return (
        held.join(zorgkas_of, on="insz", how="inner")
        .group_by("insz", "zorgkas")
        .agg(pl.format("{} in {}", pl.col("rule"), pl.col("feed")).sort().str.join(", ").alias("detail"))
        .select(
            "insz",
            "zorgkas",
            pl.lit("W-HELD").alias("code"),
            pl.lit(run_date).alias("since"),
            pl.format("held: {}", pl.col("detail")).alias("detail"),
            EMPTY_CODES.alias("evidence"),
        )
    )


def s_mass_change(events: pl.DataFrame, previous_open: int, p_stop: float, p_new: float) -> str | None:
    """S-MASS-CHANGE: a reason to refuse the run when it would stop more than max_stop_fraction of the active
    grants or start more than max_new_fraction; None when it may go on. A first run (no active grant) is exempt."""
    if previous_open == 0:
        return None
    stopped = events.filter(pl.col("event").is_in(["STOPPED", "CANCELLED"])).height
    new = events.filter(pl.col("event") == "NEW").height
    if stopped > p_stop * previous_open:
        return (
            f"S-MASS-CHANGE: this run would stop {stopped} of {previous_open} active grants "
            f"(more than {p_stop:.0%}); pass --accept-mass-change if that is right"
        )
    if new > p_new * previous_open:
        return (
            f"S-MASS-CHANGE: this run would start {new} grants against {previous_open} active ones "
            f"(more than {p_new:.0%}); pass --accept-mass-change if that is right"
        )
    return None
