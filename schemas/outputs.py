"""Pandera models of every output file (docs/spec/outputs.md, "Files"): the one definition of each file's columns.

The writers check each file with its model before a run publishes, and take the column order and
types from it (`columns`); the tests read the same models. Money is Decimal(12, 2), dates are
Parquet DATE, codes are lists of strings.
"""

from __future__ import annotations

import datetime as dt

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl


class OutputError(ValueError):
    """An output file does not meet its model: names the file's model, columns and checks, never a value."""


def check(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` checked with its model (all checks, at data depth) before it is written; a failure names the
    checks and columns with their counts, never a value (a value could be an insz: logs carry codes only)."""
    try:
        return model.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases.group_by("column", "check").len().sort("column", "check", nulls_last=True)
        broken = ", ".join(f"{column or '-'}: {check} ({n} rows)" for column, check, n in cases.iter_rows())
        raise OutputError(f"{model.__name__} output fails its schema: {broken}") from None


def columns(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """The model's columns and their Polars types, in file order."""
    return {name: column.dtype.type for name, column in model.to_schema().columns.items()}


RULES = ["R-ID", "R-NULL", "R-ENUM", "R-DATES", "R-RANGE", "R-REQUIRED", "R-REFERENCE", "R-DUPLICATE"]


class Quarantine(pa.DataFrameModel):
    """quarantine/<feed>.parquet: one row per bad source row, with the first rule it broke."""

    feed: str
    delivery_date: dt.date
    source_file: str
    row_number: int = pa.Field(ge=1)
    rule: str = pa.Field(isin=RULES)
    column: str
    rules: pl.List(pl.String)
    row: str

    class Config:
        strict = True
        unique = ["source_file", "row_number"]


WORK_CODES = [
    "W-APPLY-SPECIAL",
    "W-APPLY-FACILITY",
    "W-NRTH-TRANSITION",
    "W-CHECK-RESIDENCE",
    "W-IBAN-MISSING",
    "W-MEMBER-MISSING",
    "W-VOLUNTARY-ARREARS",
    "W-HELD",
    "W-APPLICATION-OPEN",
    "W-APPLICATION-OVERDUE",
    "W-APPEAL-OPEN",
    "W-MANUAL-CONFLICT",
]


class WorkRows(pa.DataFrameModel):
    """The work-list rows as the decide and settle stages build them (docs/spec/rules.md §5); the file adds the
    titles."""

    insz: str
    zorgkas: str
    code: str = pa.Field(isin=WORK_CODES)
    since: dt.date
    detail: str
    evidence: pl.List(pl.String)
    # the day by which the zorgkas must decide: W-APPLICATION-OPEN and W-APPLICATION-OVERDUE (rules.md M-APPLICATION)
    due: dt.date = pa.Field(nullable=True)

    class Config:
        strict = True


class Worklist(WorkRows):
    """<zorgkas>/worklist.parquet and .csv: what the zorgkas must do by hand (docs/spec/rules.md §5), each row with its
    code's title in Dutch and French (data/reference/codes.yaml), for the staff who read it."""

    title_nl: str
    title_fr: str


class MemberQuarantine(pa.DataFrameModel):
    """<zorgkas>/quarantine.parquet: the quarantined rows (quarantine/<feed>.parquet) whose insz, read from the
    row, is a member of this zorgkas: the rows behind its W-HELD work (docs/spec/outputs.md)."""

    insz: str
    feed: str
    delivery_date: dt.date
    source_file: str
    row_number: int = pa.Field(ge=1)
    rule: str = pa.Field(isin=RULES)
    column: str
    rules: pl.List(pl.String)
    row: str

    class Config:
        strict = True
        unique = ["feed", "source_file", "row_number"]


class DecidedPeriods(pa.DataFrameModel):
    """_decisions/periods.parquet: the decided months inside a right, as runs of months judged alike
    (docs/spec/rules.md D-DECISION): every month from first_month to last_month has this decision."""

    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=["ZZB", "BOB"])
    first_month: dt.date
    last_month: dt.date
    status: str = pa.Field(isin=["ENTITLED", "NOT_ENTITLED", "PENDING"])
    entitled: bool
    holds: pl.List(pl.String)
    fails: pl.List(pl.String)
    evidence: pl.List(pl.String)
    monthly_amount: pl.Decimal(12, 2)

    class Config:
        strict = True
        unique = ["insz", "budget", "first_month"]


BUDGETS = ["ZZB", "BOB"]
EVENTS = ["NEW", "CONTINUED", "CHANGED", "STOPPED", "CANCELLED"]


class Grants(pa.DataFrameModel):
    """<zorgkas>/grants.parquet: one row per grant event (docs/spec/rules.md D-EVENTS)."""

    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=BUDGETS)
    event: str = pa.Field(isin=EVENTS)
    first_month: dt.date
    last_month: dt.date = pa.Field(nullable=True)
    monthly_amount: pl.Decimal(12, 2)
    grounds: pl.List(pl.String)
    evidence: pl.List(pl.String)
    decided_on: dt.date

    class Config:
        strict = True


class Payments(pa.DataFrameModel):
    """<zorgkas>/payments.parquet: one row per paid month or school year of absence budgets (PAY-MONTH)."""

    end_to_end_id: str = pa.Field(str_length={"min_value": 1, "max_value": 35})
    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=["ZZB", "BOB", "ZZB-ABSENCE"])
    month: dt.date
    quantity: int = pa.Field(ge=1, le=2)
    amount: pl.Decimal(12, 2)
    iban: str
    name: str

    class Config:
        strict = True
        unique = ["insz", "budget", "month"]


class Recoveries(pa.DataFrameModel):
    """<zorgkas>/recoveries.parquet: paid months now found not entitled (PAY-RECOVERY)."""

    insz: str
    zorgkas: str = pa.Field(nullable=True)
    budget: str = pa.Field(isin=["ZZB", "BOB", "ZZB-ABSENCE"])
    month: dt.date
    amount: pl.Decimal(12, 2)
    paid_on: dt.date
    reason: pl.List(pl.String)

    class Config:
        strict = True
        unique = ["insz", "budget", "month"]


class Absences(pa.DataFrameModel):
    """_decisions/absences.parquet: the absence budgets per person and school year (G-ABSENCE)."""

    insz: str
    zorgkas: str
    school_year: int
    month: dt.date  # 31 August that ends the school year
    quantity: int
    amount: pl.Decimal(12, 2)
    due: bool
    holds: pl.List(pl.String)
    fails: pl.List(pl.String)
    evidence: pl.List(pl.String)

    class Config:
        strict = True
        unique = ["insz", "school_year"]


class Letters(pa.DataFrameModel):
    """<zorgkas>/letters.parquet: one row per letter of the run (docs/spec/rules.md section 9), in print order
    (language, postal code, letter id); `file` is the PDF beside it that holds the letter (letters/NNNN.pdf),
    `first_page` and `pages` where in that file."""

    letter_id: str
    insz: str
    zorgkas: str
    kind: str = pa.Field(isin=["L-DECISION", "L-RECOVERY", "L-REQUEST", "L-INVOICE"])
    subject: str
    language: str = pa.Field(isin=["NL", "FR"])
    file: str = pa.Field(str_matches=r"^letters/\d{4}\.pdf$")
    first_page: pl.Int32 = pa.Field(ge=1)
    pages: pl.Int32 = pa.Field(ge=1)
    address_missing: bool
    # how to pay, for the letters that ask for money (L-INVOICE, L-RECOVERY): what a zorgkas matches the incoming
    # transfers with; null for the other letters
    structured_reference: str = pa.Field(nullable=True, str_matches=r"^\+\+\+\d{3}/\d{4}/\d{5}\+\+\+$")
    due_date: pl.Date = pa.Field(nullable=True)

    class Config:
        strict = True
        unique = ["letter_id"]


STRUCTURED_REFERENCE = r"^\+\+\+\d{3}/\d{4}/\d{5}\+\+\+$"
PREMIUM_CODES = ["P-LIABLE", "P-REDUCED"]


class Invoices(pa.DataFrameModel):
    """<zorgkas>/invoices.parquet: one care premium invoice per person and premium year (docs/spec/rules.md §7)."""

    invoice_id: str
    insz: str = pa.Field(str_matches=r"^\d{11}$")
    zorgkas: str
    premium_year: pl.Int32
    amount: pl.Decimal(12, 2)
    reduced: bool
    grounds: pl.List(pl.String)
    structured_reference: str = pa.Field(str_matches=STRUCTURED_REFERENCE)
    due_date: dt.date
    invoice_date: dt.date

    class Config:
        strict = True
        unique = ["insz", "premium_year"]

    @pa.dataframe_check
    def reference_unique_within_zorgkas(cls, data) -> pl.LazyFrame:
        """P-REFERENCE: a structured reference is unique within its zorgkas."""
        return data.lazyframe.select(pl.struct("zorgkas", "structured_reference").is_unique())

    @pa.dataframe_check
    def invoice_id_names_zorgkas_year_and_reference(cls, data) -> pl.LazyFrame:
        """invoice_id is <zorgkas>-<premium_year>-<10-digit reference base>: unique as the reference is."""
        reference = pl.col("structured_reference")
        base = pl.concat_str(reference.str.slice(3, 3), reference.str.slice(7, 4), reference.str.slice(12, 3))
        expected = pl.concat_str(
            pl.col("zorgkas"), pl.lit("-"), pl.col("premium_year").cast(pl.String), pl.lit("-"), base
        )
        return data.lazyframe.select(pl.col("invoice_id") == expected)

    @pa.dataframe_check
    def check_digits(cls, data) -> pl.LazyFrame:
        """P-REFERENCE: the last 2 digits are the base mod 97 (97 when 0)."""
        reference = pl.col("structured_reference")
        digits = pl.concat_str(reference.str.slice(3, 3), reference.str.slice(7, 4), reference.str.slice(12, 5))
        digits = digits.str.to_integer(strict=False)
        remainder = (digits // 100) % 97
        return data.lazyframe.select(pl.when(remainder == 0).then(97).otherwise(remainder) == digits % 100)

    @pa.dataframe_check
    def due_on_or_after_invoice(cls, data) -> pl.LazyFrame:
        """P-DUE: the due date is never before the invoice date."""
        return data.lazyframe.select(pl.col("due_date") >= pl.col("invoice_date"))

    @pa.dataframe_check
    def positive_amount(cls, data) -> pl.LazyFrame:
        """P-AMOUNT: an invoice is for a positive amount."""
        return data.lazyframe.select(pl.col("amount") > 0)

    @pa.dataframe_check
    def grounds_are_premium_codes(cls, data) -> pl.LazyFrame:
        """Grounds: P-LIABLE first, then P-REDUCED exactly when the reduced amount applies."""
        grounds, reduced = pl.col("grounds"), pl.col("reduced")
        last = pl.when(reduced).then(pl.lit(PREMIUM_CODES[1])).otherwise(pl.lit(PREMIUM_CODES[0]))
        # element by element: comparing whole lists costs 30 times more on millions of rows
        return data.lazyframe.select(
            (grounds.list.len() == 1 + reduced.cast(pl.UInt32))
            & (grounds.list.first() == PREMIUM_CODES[0])
            & (grounds.list.last() == last)
        )


class Fines(pa.DataFrameModel):
    """<zorgkas>/fines.parquet: one fine candidate per person and fine year (docs/spec/rules.md §7, F-FINE)."""

    insz: str = pa.Field(str_matches=r"^\d{11}$")
    zorgkas: str
    fine_year: pl.Int32
    amount: pl.Decimal(12, 2)
    years_in_default: pl.List(pl.Int32)

    class Config:
        strict = True
        unique = ["insz", "fine_year"]

    @pa.dataframe_check
    def some_years_in_default(cls, data) -> pl.LazyFrame:
        """F-FINE: a candidate has premium years in default."""
        return data.lazyframe.select(pl.col("years_in_default").list.len() >= 1)

    @pa.dataframe_check
    def positive_amount(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("amount") > 0)


class SimulationChanges(pa.DataFrameModel):
    """simulations/<name>/<D>/changes.parquet: one row per reform, person and budget whose entitled months differ
    from the baseline (a month gained, lost, or entitled in both at another amount), over the evaluation window."""

    reform: str
    insz: str
    zorgkas: str
    budget: str = pa.Field(isin=BUDGETS)
    months_gained: pl.Int32 = pa.Field(ge=0)  # entitled under the reform, not under the baseline
    months_lost: pl.Int32 = pa.Field(ge=0)  # entitled under the baseline, not under the reform
    months_amount_changed: pl.Int32 = pa.Field(ge=0)  # entitled under both, at another monthly amount
    first_changed_month: dt.date
    last_changed_month: dt.date
    months_baseline: pl.Int32 = pa.Field(ge=0)  # entitled months of the window under the baseline
    months_reform: pl.Int32 = pa.Field(ge=0)
    amount_difference: pl.Decimal(12, 2)  # reform minus baseline, over the window

    class Config:
        strict = True
        unique = ["reform", "insz", "budget"]

    @pa.dataframe_check
    def something_differs(cls, data) -> pl.LazyFrame:
        """A row is a difference: a month gained, lost or at another amount."""
        return data.lazyframe.select(
            pl.col("months_gained") + pl.col("months_lost") + pl.col("months_amount_changed") > 0
        )

    @pa.dataframe_check
    def months_add_up(cls, data) -> pl.LazyFrame:
        """The reform's months are the baseline's, plus those gained, minus those lost."""
        return data.lazyframe.select(
            pl.col("months_reform") == pl.col("months_baseline") + pl.col("months_gained") - pl.col("months_lost")
        )

    @pa.dataframe_check
    def changed_months_in_order(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("first_changed_month") <= pl.col("last_changed_month"))
