"""Payments and recoveries (docs/spec/rules.md §8) and the accounts they go to (§5 W-IBAN-MISSING).

Pure: the set differences with the payment ledger are DuckDB SQL text (`pay_month`, `pay_recovery`)
that the flow runs inside the state (flows/state/ledger.py), where the ledger lives; what this run
pays goes out as frames that the flow records in the ledger, in the same transaction as its
publication.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

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


def is_payment_run(run_date: dt.date, payment_day: int, earlier_payment_run_this_month: bool) -> bool:
    """Whether this run is the payment run of its month: the first run on or after payment_day (`pay_month`)."""
    return run_date.day >= payment_day and not earlier_payment_run_this_month


MASK_MONTHS = 62  # months of the window a BIGINT of month bits holds (`pay_month`, `pay_recovery`)


def pay_month() -> str:
    """PAY-MONTH: the payment run of month M is the first run whose date D is in M and on or after
    `payment_day` (26). It pays every entitled month up to and including M that is not yet in the
    payment ledger and not older than the window: arrears from late data are paid in the same
    transfer. Amount: the monthly amount in force on first(month).

    docs/spec/rules.md §8. DuckDB SQL over the state, where the ledger lives (a 7M-member ledger is not read into
    memory): the relations `entitled_periods` (insz, zorgkas, budget, first_month, last_month,
    monthly_amount: the entitled periods cut at M) and `due_absences` (G-ABSENCE budgets due: insz,
    zorgkas, month, quantity, amount) are this run's; `payment_ledger` rows of the runs in `$unseen` (this
    run's own and later ones: flows/state/ledger.py `not_before`) do not count. `$first` is the window's
    first month. Gives OWED_COLUMNS. Which run pays: `is_payment_run`; the payees: `with_accounts`.

    The ledger's months of the window are first folded into one BIGINT per person and budget (bit i: the
    month `$first` + i; the window is at most MASK_MONTHS long), so that each entitled month is looked up
    in ~400k masks instead of anti-joined with every ledger row: on a steady night nearly every month is
    paid already. Absence budgets are matched with the ledger's absence rows by their day.
    """
    return """
        WITH ledger AS (
            SELECT insz, budget, month FROM payment_ledger WHERE NOT list_contains($unseen, run_key)
        ),
        paid AS (
            SELECT insz, budget, bit_or(CAST(1 AS BIGINT) << datediff('month', $first, month)) AS months
            FROM ledger
            WHERE budget <> 'ZZB-ABSENCE' AND month >= $first AND datediff('month', $first, month) < $mask_months
            GROUP BY insz, budget
        ),
        months AS (
            SELECT e.insz, e.zorgkas, e.budget, CAST(m.month AS DATE) AS month, CAST(1 AS BIGINT) AS quantity,
                   e.monthly_amount AS amount, p.months AS paid
            FROM entitled_periods e LEFT JOIN paid p ON p.insz = e.insz AND p.budget = e.budget,
                 LATERAL (SELECT unnest(generate_series(CAST(e.first_month AS TIMESTAMP),
                                                        CAST(e.last_month AS TIMESTAMP),
                                                        INTERVAL 1 MONTH)) AS month) m
        )
        SELECT insz, zorgkas, budget, month, quantity, amount FROM months
        WHERE month >= $first AND (paid IS NULL OR (paid >> datediff('month', $first, month)) & 1 = 0)
        UNION ALL
        SELECT a.insz, a.zorgkas, 'ZZB-ABSENCE', a.month, a.quantity, a.amount FROM due_absences a
        ANTI JOIN ledger l ON l.budget = 'ZZB-ABSENCE' AND l.insz = a.insz AND l.month = a.month
        WHERE a.month >= $first
    """


def pay_recovery() -> str:
    """PAY-RECOVERY: a paid month that a later run finds not entitled (e.g. a death reported late) is
    listed as a recovery (terugvordering) in the next payment run; it is never netted against another
    person's payment and never paid as a negative amount.

    docs/spec/rules.md §8. DuckDB SQL over the state (see `pay_month` for the relations and parameters): the
    paid months of the window up to M (`$first`..`$through`) that are neither entitled nor due now and
    not yet listed as recoveries. Gives insz, budget, month, amount, paid_on; `recovery_rows` adds the
    zorgkas and the reason. The entitled months are folded into one BIGINT per person and budget (bit i:
    the month `$first` + i), which each ledger row of the window looks up by an equality join.
    """
    return """
        WITH spans AS (
            SELECT insz, budget, datediff('month', $first, greatest(first_month, $first)) AS first_bit,
                   datediff('month', greatest(first_month, $first), last_month) + 1 AS bits
            FROM entitled_periods
            WHERE last_month >= $first
        ),
        entitled AS (
            SELECT insz, budget, bit_or(((CAST(1 AS BIGINT) << bits) - 1) << first_bit) AS months
            FROM spans
            GROUP BY insz, budget
        )
        SELECT l.insz, l.budget, l.month, l.amount, l.paid_on
        FROM payment_ledger l LEFT JOIN entitled e ON e.insz = l.insz AND e.budget = l.budget
        WHERE NOT list_contains($unseen, l.run_key) AND l.month BETWEEN $first AND $through
          AND (e.months IS NULL OR (e.months >> datediff('month', $first, l.month)) & 1 = 0)
          AND NOT EXISTS (SELECT 1 FROM due_absences a
                          WHERE l.budget = 'ZZB-ABSENCE' AND a.insz = l.insz AND a.month = l.month)
          AND NOT EXISTS (SELECT 1 FROM recovery_ledger r
                          WHERE NOT list_contains($unseen, r.run_key) AND r.insz = l.insz
                            AND r.budget = l.budget AND r.month = l.month)
    """


def entitled_periods(periods: pl.DataFrame, through: dt.date) -> pl.DataFrame:
    """The entitled periods cut at `through` (the payment month): the relation `pay_month` explodes."""
    return periods.filter(pl.col("entitled") & (pl.col("first_month") <= through)).select(
        "insz",
        "zorgkas",
        "budget",
        "first_month",
        pl.min_horizontal("last_month", pl.lit(through)).alias("last_month"),
        "monthly_amount",
    )


def due_absences(absences: pl.DataFrame) -> pl.DataFrame:
    """The G-ABSENCE budgets that are due: the relation `pay_month` pays them from."""
    return absences.filter("due").select("insz", "zorgkas", "month", "quantity", "amount")


def with_accounts(owed: pl.DataFrame, members: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split what is owed into payable rows (the member has a valid IBAN) and withheld rows (W-IBAN-MISSING:
    it stays due). `members`: insz, iban_status."""
    # the owed persons' statuses first (a hash of the few owed, not of 7M members), then joined to what is owed
    statuses = members.select("insz", "iban_status").join(owed.select("insz").unique(), on="insz", how="semi")
    joined = owed.join(statuses, on="insz", how="left")
    payable = joined.filter(pl.col("iban_status") == "VALID").drop("iban_status")
    withheld = joined.filter(pl.col("iban_status").fill_null("MISSING") != "VALID")
    return payable, withheld


def accounts_of(members: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """ACCOUNT_COLUMNS of the members among `persons` (insz) with a valid IBAN: what payments.parquet
    and the SEPA file need of a payee. The flow keeps these only, not 7M names and IBANs."""
    return (  # the few payees first, then their columns: filtering 7M members first copies every column
        members.select(*ACCOUNT_COLUMNS, "iban_status")
        .join(persons.select("insz").unique(), on="insz", how="semi")
        .filter(pl.col("iban_status") == "VALID")
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
            pl.lit(None, pl.Date).alias("due"),
        )
    )


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
