"""Payments, recoveries and holds, rules.md §8 (PAY-MONTH, PAY-ONCE, PAY-RECOVERY, S-HOLD, S-MASS-CHANGE)
and §5 (W-IBAN-MISSING, W-MEMBER-MISSING, W-HELD).

Hand-made frames with the exact schemas, composed by `settle`. The default case: the payment run of
2026-11-26 (window 2024-12 to 2026-11), one member (INSZ_1985, ZK100, a valid IBAN) with a ZZB at
140.00 a month.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import polars as pl
import pytest
from builders import INSZ_1985, INSZ_2000, frame, valid_rows
from decide_helpers import cases

from flows.reference import load_reference
from flows.state.ledger import pay_once
from flows.state.ledger import previous as state_before
from flows.state.store import ensure_runs
from pipelines.decide.absence import ABSENCE_COLUMNS
from pipelines.decide.decisions import PERIOD_COLUMNS
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.ingest.iban import with_iban_status
from pipelines.ingest.staging import QUARANTINE_COLUMNS
from pipelines.settle.grants import GRANT_COLUMNS
from pipelines.settle.holds import s_mass_change
from pipelines.settle.payments import (
    LEDGER_COLUMNS,
    PAID_COLUMNS,
    PAYMENT_COLUMNS,
    RECOVERY_COLUMNS,
    accounts_of,
    end_to_end_ids,
    is_payment_run,
    payment_rows,
)
from pipelines.settle.settlement import Settlement, settle
from pipelines.timeline import add_months, window_months
from schemas.feeds import FEEDS

D = dt.date
RUN = D(2026, 11, 26)  # the payment run of November 2026
WINDOW_FIRST = D(2024, 12, 1)
MONTH_OF_RUN = D(2026, 11, 1)
REFERENCE = load_reference()
PARAMS = REFERENCE.parameters.params_on(RUN)
IBAN_1985 = "BE72735100000116"
IBAN_2000 = "BE55735200000244"
HOLDS = ["G-MEDSOC", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]


def M(year: int, month: int) -> dt.date:
    return D(year, month, 1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from `first` through `last`."""
    found = []
    while first <= last:
        found.append(first)
        first = add_months(first, 1)
    return found


# --- builders of the frames settle reads ---------------------------------------------------------------


def period(
    first: dt.date,
    last: dt.date,
    entitled: bool = True,
    amount: str = "140.00",
    budget: str = "ZZB",
    insz: str = INSZ_1985,
    fails: list[str] | None = None,
) -> dict:
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        status="ENTITLED" if entitled else "NOT_ENTITLED",
        entitled=entitled,
        holds=HOLDS if budget == "ZZB" else ["G-BOB", "E-AFFILIATED"],
        fails=[] if entitled else (fails or ["E-AFFILIATED"]),
        evidence=["medsoc_scales:MS0"],
        monthly_amount=Decimal(amount),
    )


def periods(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PERIOD_COLUMNS, orient="row")


def member(insz: str = INSZ_1985, iban: str | None = IBAN_1985, **changes) -> dict:
    return valid_rows()["members"][0] | {"insz": insz, "iban": iban, "name": f"Member {insz[:2]}"} | changes


def members(rows: list[dict]) -> pl.DataFrame:
    """The members feed as staging gives it: with iban_status, an invalid IBAN set to null."""
    return with_iban_status(frame("members", rows), "iban")


SCHOOL_YEAR_END = D(2025, 8, 31)  # the last day of school year 2024


def absence(
    month: dt.date = SCHOOL_YEAR_END, quantity: int = 2, due: bool = True, insz: str = INSZ_1985, fails=()
) -> dict:
    """An absence budget (ABSENCE_COLUMNS) at 140.00 per budget."""
    return dict(
        insz=insz,
        zorgkas="ZK100",
        school_year=month.year - 1,
        month=month,
        quantity=quantity,
        amount=Decimal("140.00") * quantity,
        due=due,
        holds=["G-ABSENCE"],
        fails=list(fails),
        evidence=["vaph_support:A1"],
    )


def absences(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ABSENCE_COLUMNS, orient="row")


def paid(
    month: dt.date, budget: str = "ZZB", amount: str = "140.00", insz: str = INSZ_1985, paid_on: dt.date | None = None
) -> dict:
    """A payment ledger row; paid on the 26th of its month unless told."""
    on = paid_on or D(month.year, month.month, 26)
    return dict(insz=insz, budget=budget, month=month, amount=Decimal(amount), run_key=on.isoformat(), paid_on=on)


def g(first: dt.date, last: dt.date | None = None, budget: str = "ZZB", insz: str = INSZ_1985) -> dict:
    """A previous run's grant."""
    amount, grounds = ("140.00", ["G-MEDSOC"]) if budget == "ZZB" else ("300.00", ["G-BOB"])
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        monthly_amount=Decimal(amount),
        grounds=grounds,
        evidence=["medsoc_scales:MS0"],
    )


@dataclass(frozen=True)
class Before:
    """The state before a run, as rows: the previous night's grants, the payment ledger, the recoveries listed."""

    grant_rows: list[dict] = ()
    ledger: list[dict] = ()
    recovered: list[tuple] = ()

    @property
    def grants(self) -> pl.DataFrame:
        return pl.DataFrame(self.grant_rows, schema=GRANT_COLUMNS, orient="row")


def previous(grants: list[dict] = (), ledger: list[dict] = (), recovered: list[tuple] = ()) -> Before:
    return Before(list(grants), list(ledger), list(recovered))


def state_with(before: Before) -> duckdb.DuckDBPyConnection:
    """An in-memory state holding `before` as the nightly run records it (flows/state tables): the previous
    night's grants, its payment ledger and the recoveries already listed."""
    con = duckdb.connect()
    ensure_runs(con)
    pay_once(con)
    con.execute(
        "INSERT INTO runs (kind, run_key, folder, manifest_sha256, run_date, seq, published) "
        "VALUES ('nightly', 'before', 'nightly/before', '', DATE '2026-10-27', 1, true)"
    )
    grants = before.grants
    recovered = [(i, b, m, Decimal("0"), "before", m) for i, b, m in before.recovered]
    tables = {
        "grant_history": grants.select(pl.lit("before").alias("run_key"), *GRANT_COLUMNS),
        "payment_ledger": pl.DataFrame(before.ledger, schema=LEDGER_COLUMNS, orient="row"),
        "recovery_ledger": pl.DataFrame(recovered, schema=RECOVERED, orient="row"),
    }
    for table, rows in tables.items():
        con.register("new_rows", rows.to_arrow())
        con.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
        con.unregister("new_rows")
    return con


RECOVERED = {**LEDGER_COLUMNS, "listed_on": pl.Date}
del RECOVERED["paid_on"]


def quarantined(feed: str, insz: str | None = INSZ_1985, rule: str = "R-RANGE") -> pl.DataFrame:
    """One quarantined row of `feed` (the original row as JSON in `row`)."""
    row = {column: None for column in FEEDS[feed].columns} | {"insz": insz}
    return pl.DataFrame(
        [
            dict(
                feed=feed,
                delivery_date=D(2026, 11, 1),
                source_file=f"{feed}/delivery_date=2026-11-01/part-00000.parquet",
                row_number=1,
                rule=rule,
                column="insz",
                rules=[rule],
                row=json.dumps(row, default=str),
            )
        ],
        schema=QUARANTINE_COLUMNS,
        orient="row",
    )


def no_quarantine() -> dict[str, pl.DataFrame]:
    return {feed: pl.DataFrame(schema=QUARANTINE_COLUMNS) for feed in FEEDS}


def run(
    rows: list[dict],
    *,
    run_date: dt.date = RUN,
    member_rows: list[dict] | None = None,
    quarantines: dict[str, pl.DataFrame] | None = None,
    before: Before | None = None,
    absence_rows: list[dict] = (),
    payment_run: bool = True,
    worklist_rows: pl.DataFrame | None = None,
) -> Settlement:
    """`settle` on hand-made frames, with what is owed and recoverable computed by the state's SQL
    (pipelines/settle/payments.py pay_month, pay_recovery, run by flows/state/ledger.py `previous`, as the
    night runs them); by default the payment run of RUN on an empty state."""
    p = REFERENCE.parameters.params_on(run_date)
    decided, due = periods(rows), absences(list(absence_rows))
    con = state_with(before or previous())
    try:
        found = state_before(
            con, "this run", decided, due, window_months(run_date, p.evaluation_window_months), payment_run
        )
    finally:
        con.close()
    return settle(
        decided,
        due,
        members(member_rows if member_rows is not None else [member()]),
        no_quarantine() | (quarantines or {}),
        worklist_rows if worklist_rows is not None else pl.DataFrame(schema=WORKLIST_COLUMNS),
        found,
        p,
        run_date,
        payment_run,
    )


def ledger_of(*settlements: Settlement, paid_on: dt.date = RUN) -> list[dict]:
    """The ledger rows a run records for its payments (flows/state/ledger.py record_run)."""
    return [
        paid(r["month"], r["budget"], str(r["amount"]), r["insz"], paid_on)
        for s in settlements
        for r in s.payments.iter_rows(named=True)
    ]


def paid_months(settled: Settlement, budget: str = "ZZB") -> list[dt.date]:
    return settled.payments.filter(pl.col("budget") == budget)["month"].to_list()


def worklist(settled: Settlement, code: str) -> list[dict]:
    return settled.worklist.filter(pl.col("code") == code).drop("code").to_dicts()


# --- PAY-MONTH: which run pays ------------------------------------------------------------------------

# fmt: off
PAYMENT_RUN = [
    # name                                                                   run date           earlier payment run this month  payment run
    ("PAY-MONTH day 25: before the payment day",                             D(2026, 11, 25),   False,                          False),
    ("PAY-MONTH day 26: the payment day",                                    D(2026, 11, 26),   False,                          True),
    ("PAY-MONTH day 27 without an earlier payment run: pays",                D(2026, 11, 27),   False,                          True),
    ("PAY-MONTH day 27 after the payment run of the 26th: does not pay",     D(2026, 11, 27),   True,                           False),
    ("PAY-MONTH the last day of a month that had no payment run: pays",      D(2026, 11, 30),   False,                          True),
    ("PAY-MONTH the 1st of the next month: before its payment day",          D(2026, 12, 1),    False,                          False),
]
# fmt: on


@pytest.mark.parametrize("run_date, earlier, expected", cases(PAYMENT_RUN))
def test_pay_month_is_payment_run(run_date, earlier, expected):
    """PAY-MONTH: the payment run of month M is the first run whose date is in M and on or after payment_day."""
    assert is_payment_run(run_date, PARAMS.payment_day, earlier) is expected


def test_pay_month_a_run_that_is_not_the_payment_run_pays_and_recovers_nothing():
    """PAY-MONTH: a run that is not the payment run pays nothing, even what is owed."""
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], payment_run=False)
    assert settled.payments.height == 0 and settled.recoveries.height == 0


# --- PAY-MONTH: what it pays --------------------------------------------------------------------------

# fmt: off
ARREARS = [
    # name                                                                        periods (first, last, entitled)                                         ledger months                                        paid months
    ("PAY-MONTH the month of the payment run is paid",                            [(M(2026, 11), M(2026, 11), True)],                                      [],                                                  [M(2026, 11)]),
    ("PAY-MONTH paid through last month: only this month",                        [(M(2025, 3), M(2026, 11), True)],                                       months(M(2025, 3), M(2026, 10)),                     [M(2026, 11)]),
    ("PAY-MONTH arrears from late data are paid in the same run",                 [(M(2026, 6), M(2026, 11), True)],                                       [],                                                  months(M(2026, 6), M(2026, 11))),
    ("PAY-MONTH a month missing from the ledger is paid with this month",         [(M(2026, 1), M(2026, 11), True)],                                       [m for m in months(M(2026, 1), M(2026, 10)) if m != M(2026, 5)], [M(2026, 5), M(2026, 11)]),
    ("PAY-MONTH arrears reach back to the first month of the window",             [(M(2024, 10), M(2024, 11), True), (M(2024, 12), M(2026, 11), True)],    [],                                                  months(WINDOW_FIRST, M(2026, 11))),
    ("PAY-MONTH an entitled month in the first month of the window is paid",      [(M(2024, 12), M(2024, 12), True)],                                      [],                                                  [M(2024, 12)]),
    ("PAY-MONTH an entitled month just before the window is never paid",          [(M(2024, 11), M(2024, 11), True)],                                      [],                                                  []),
    ("PAY-MONTH a closed grant's unpaid months are paid",                         [(M(2026, 3), M(2026, 7), True), (M(2026, 8), M(2026, 11), False)],      months(M(2026, 3), M(2026, 5)),                      [M(2026, 6), M(2026, 7)]),
    ("PAY-MONTH a month not entitled is not paid",                                [(M(2026, 6), M(2026, 11), False)],                                      [],                                                  []),
    ("PAY-MONTH a month after the payment month is not paid yet",                 [(M(2026, 11), M(2026, 12), True)],                                      [],                                                  [M(2026, 11)]),
    ("PAY-MONTH no period: nothing paid",                                         [],                                                                      [],                                                  []),
]
# fmt: on


@pytest.mark.parametrize("spans, ledger, expected", cases(ARREARS))
def test_pay_month_pays_every_entitled_unpaid_month_of_the_window(spans, ledger, expected):
    """PAY-MONTH: every entitled month up to and including the payment month, not yet in the ledger and not
    older than the window, arrears included."""
    rows = [period(first, last, entitled) for first, last, entitled in spans]
    settled = run(rows, before=previous(ledger=[paid(m) for m in ledger]))
    assert paid_months(settled) == expected
    assert settled.payments["quantity"].to_list() == [1] * len(expected)


def test_pay_month_amount_in_force_on_the_first_of_each_month():
    """PAY-MONTH: the monthly amount in force on first(month), from the periods: 135.00 in December 2023,
    140.00 from January 2024 (zzb_monthly from 2024-01-01)."""
    run_date = D(2025, 11, 26)  # window 2023-12 to 2025-11
    table = REFERENCE.parameters
    december, january = D(2023, 12, 1), D(2024, 1, 1)
    rows = [
        period(december, december, amount=str(table.money_on("zzb_monthly", december))),
        period(january, M(2025, 11), amount=str(table.money_on("zzb_monthly", january))),
        period(december, M(2025, 11), budget="BOB", amount=str(table.money_on("bob_monthly", december))),
    ]
    settled = run(rows, run_date=run_date)
    amounts = {(r["budget"], r["month"]): r["amount"] for r in settled.payments.iter_rows(named=True)}
    assert amounts[("ZZB", december)] == Decimal("135.00")
    assert amounts[("ZZB", january)] == Decimal("140.00")
    assert amounts[("ZZB", M(2025, 11))] == Decimal("140.00")
    assert amounts[("BOB", december)] == amounts[("BOB", M(2025, 11))] == Decimal("300.00")
    assert len(amounts) == 24 + 24


def test_pay_month_a_payment_row_carries_the_member_account_and_name():
    """PAY-MONTH: one payment row per month, with the member's zorgkas, IBAN and name (PAYMENT_COLUMNS):
    the account is taken from the members with a valid IBAN among the persons with a right."""
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)])
    assert settled.payments.schema == pl.Schema(PAID_COLUMNS)
    accounts = accounts_of(members([member(), member(INSZ_2000)]), pl.DataFrame({"insz": [INSZ_1985]}))
    assert accounts.rows() == [(INSZ_1985, IBAN_1985, "Member 85")]
    paid = payment_rows(settled.payments, accounts)
    assert paid.schema == pl.Schema(PAYMENT_COLUMNS)
    row = paid.drop("end_to_end_id").to_dicts()
    assert row == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            budget="ZZB",
            month=MONTH_OF_RUN,
            quantity=1,
            amount=Decimal("140.00"),
            iban=IBAN_1985,
            name="Member 85",
        )
    ]


def test_pay_month_a_payment_row_without_the_payee_account_is_an_error():
    """PAY-MONTH: a payee always has a valid IBAN (W-IBAN-MISSING withholds the others): a payment row
    without one is never written."""
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)])
    with pytest.raises(ValueError, match="no valid IBAN"):
        payment_rows(settled.payments, accounts_of(members([member(iban=None)]), settled.payments))


# fmt: off
ABSENCES = [
    # name                                                                        absences                                    ledger                                            paid (month, quantity, amount)
    ("PAY-MONTH a due absence of two budgets is one row with quantity 2",         [absence(quantity=2)],                      [],                                               [(D(2025, 8, 31), 2, "280.00")]),
    ("PAY-MONTH a due absence of one budget: quantity 1",                         [absence(quantity=1)],                      [],                                               [(D(2025, 8, 31), 1, "140.00")]),
    ("PAY-MONTH an absence budget not due is not paid",                           [absence(due=False)],                       [],                                               []),
    ("PAY-ONCE an absence budget in the ledger is not paid again",                [absence()],                                [paid(D(2025, 8, 31), "ZZB-ABSENCE", "280.00")],   []),
    ("PAY-ONCE a paid school year does not stop the next one",                    [absence(), absence(D(2026, 8, 31), 1)],    [paid(D(2025, 8, 31), "ZZB-ABSENCE", "280.00")],   [(D(2026, 8, 31), 1, "140.00")]),
    ("PAY-MONTH an absence budget before the window is not paid",                 [absence(D(2024, 8, 31))],                  [],                                               []),
]
# fmt: on


@pytest.mark.parametrize("absence_rows, ledger, expected", cases(ABSENCES))
def test_pay_month_due_absence_budgets(absence_rows, ledger, expected):
    """PAY-MONTH, G-ABSENCE: a due absence budget is paid in the first payment run, as one row (budget
    ZZB-ABSENCE, month 31 August) with quantity 1 or 2; PAY-ONCE per (insz, school year)."""
    settled = run([], absence_rows=absence_rows, before=previous(ledger=ledger))
    found = settled.payments.filter(pl.col("budget") == "ZZB-ABSENCE")
    assert [(r["month"], r["quantity"], str(r["amount"])) for r in found.iter_rows(named=True)] == expected
    assert settled.payments.height == len(expected)


# --- PAY-ONCE --------------------------------------------------------------------------------------------


def test_pay_once_a_second_settle_with_the_first_settle_payments_in_the_ledger_pays_nothing():
    """PAY-ONCE: a rerun of the payment run, with the ledger holding the first run's payments, pays nothing."""
    rows = [period(M(2026, 1), MONTH_OF_RUN), period(M(2026, 3), MONTH_OF_RUN, budget="BOB", amount="300.00")]
    first = run(rows, absence_rows=[absence()])
    assert first.payments.height == 11 + 9 + 1
    again = run(rows, absence_rows=[absence()], before=previous(ledger=ledger_of(first)))
    assert again.payments.height == 0
    assert again.recoveries.height == 0


def test_pay_once_the_next_payment_run_pays_only_the_new_month():
    """PAY-ONCE: the next month's payment run pays its own month, none of the months paid before."""
    first = run([period(M(2026, 1), MONTH_OF_RUN)])
    december = D(2026, 12, 26)
    second = run([period(M(2026, 1), M(2026, 12))], run_date=december, before=previous(ledger=ledger_of(first)))
    assert paid_months(second) == [M(2026, 12)]


# fmt: off
ONCE_KEYS = [
    # name                                                               ledger row                                     paid months
    ("PAY-ONCE the same person, budget and month: not paid again",       paid(MONTH_OF_RUN),                            []),
    ("PAY-ONCE the same month of the other budget does not count",       paid(MONTH_OF_RUN, "BOB", "300.00"),           [MONTH_OF_RUN]),
    ("PAY-ONCE the same month of another person does not count",         paid(MONTH_OF_RUN, insz=INSZ_2000),            [MONTH_OF_RUN]),
    ("PAY-ONCE another month of the same person does not count",         paid(M(2026, 10)),                             [MONTH_OF_RUN]),
]
# fmt: on


@pytest.mark.parametrize("ledger_row, expected", cases(ONCE_KEYS))
def test_pay_once_is_per_person_budget_and_month(ledger_row, expected):
    """PAY-ONCE: the ledger holds one row per (insz, budget, month): only that row stops a payment."""
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)], before=previous(ledger=[ledger_row]))
    assert paid_months(settled) == expected


# --- PAY-RECOVERY ------------------------------------------------------------------------------------------

DIED = [period(M(2025, 1), M(2026, 7)), period(M(2026, 8), MONTH_OF_RUN, False, fails=["E-ALIVE"])]
PAID_THROUGH_OCTOBER = [paid(m) for m in months(M(2025, 1), M(2026, 10))]


def test_pay_recovery_a_death_reported_late():
    """PAY-RECOVERY: a death on 2026-07-15 reported after the payment runs of August to October: those three
    months become one recovery each, with the failing code and the original paid_on; no payment, the grant
    STOPPED with its last month in the past."""
    settled = run(DIED, before=previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER))
    assert settled.payments.height == 0
    assert settled.recoveries.schema == pl.Schema(RECOVERY_COLUMNS)
    assert settled.recoveries.to_dicts() == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            budget="ZZB",
            month=m,
            amount=Decimal("140.00"),
            paid_on=D(2026, m.month, 26),
            reason=["E-ALIVE"],
        )
        for m in (M(2026, 8), M(2026, 9), M(2026, 10))
    ]
    assert settled.events.select("event", "first_month", "last_month").to_dicts() == [
        {"event": "STOPPED", "first_month": M(2025, 1), "last_month": M(2026, 7)}
    ]
    assert settled.mass_change is not None  # 1 of 1 active grants stopped


# fmt: off
RECOVERIES = [
    # name                                                                        periods                                                                                  ledger                                           recovered                                        recovery months
    ("PAY-RECOVERY paid months no longer entitled: one recovery each",            DIED,                                                                                    PAID_THROUGH_OCTOBER,                            [],                                              [M(2026, 8), M(2026, 9), M(2026, 10)]),
    ("PAY-RECOVERY months already listed are not listed again",                   DIED,                                                                                    PAID_THROUGH_OCTOBER,                            [(INSZ_1985, "ZZB", M(2026, 8)), (INSZ_1985, "ZZB", M(2026, 9))], [M(2026, 10)]),
    ("PAY-RECOVERY every month listed before: nothing new",                       DIED,                                                                                    PAID_THROUGH_OCTOBER,                            [(INSZ_1985, "ZZB", m) for m in months(M(2026, 8), M(2026, 10))], []),
    ("PAY-RECOVERY a listed month of the other budget does not count",            DIED,                                                                                    PAID_THROUGH_OCTOBER,                            [(INSZ_1985, "BOB", M(2026, 8))],                [M(2026, 8), M(2026, 9), M(2026, 10)]),
    ("PAY-RECOVERY paid months still entitled: nothing to recover",               [period(M(2025, 1), MONTH_OF_RUN)],                                                      PAID_THROUGH_OCTOBER,                            [],                                              []),
    ("PAY-RECOVERY a paid month in the first month of the window is recovered",   [period(M(2024, 12), M(2024, 12), False, fails=["E-RESIDENCE"])],                        [paid(M(2024, 12))],                             [],                                              [M(2024, 12)]),
    ("PAY-RECOVERY a paid month before the window is out of reach",               [period(M(2024, 11), M(2024, 11), False, fails=["E-RESIDENCE"])],                        [paid(M(2024, 11))],                             [],                                              []),
]
# fmt: on


@pytest.mark.parametrize("rows, ledger, recovered, expected", cases(RECOVERIES))
def test_pay_recovery_paid_months_no_longer_entitled(rows, ledger, recovered, expected):
    """PAY-RECOVERY: a paid month of the window that this run finds not entitled is listed once as a recovery."""
    settled = run(rows, before=previous(ledger=ledger, recovered=recovered))
    assert settled.recoveries["month"].to_list() == expected


# fmt: off
REASONS = [
    # name                                                                        periods                                                                 absences                                        ledger                                              reason
    ("PAY-RECOVERY the reason is the codes that now fail",                        [period(M(2026, 5), M(2026, 5), False, fails=["E-RESIDENCE", "X-VAPH-PVB"])], [],                                         [paid(M(2026, 5))],                                 ["E-RESIDENCE", "X-VAPH-PVB"]),
    ("PAY-RECOVERY a ZZB month outside any right now: ZZB-START fails",           [],                                                                     [],                                             [paid(M(2026, 5))],                                 ["ZZB-START"]),
    ("PAY-RECOVERY a BOB month outside any right now: G-BOB fails",               [],                                                                     [],                                             [paid(M(2026, 5), "BOB", "300.00")],                ["G-BOB"]),
    ("PAY-RECOVERY an absence budget no longer due: its failing codes",           [],                                                                     [absence(due=False, fails=["E-ALIVE"])],        [paid(D(2025, 8, 31), "ZZB-ABSENCE", "280.00")],    ["E-ALIVE"]),
    ("PAY-RECOVERY an absence budget without any record now: G-ABSENCE",          [],                                                                     [],                                             [paid(D(2025, 8, 31), "ZZB-ABSENCE", "280.00")],    ["G-ABSENCE"]),
]
# fmt: on


@pytest.mark.parametrize("rows, absence_rows, ledger, reason", cases(REASONS))
def test_pay_recovery_reason_names_the_failing_rule_codes(rows, absence_rows, ledger, reason):
    """PAY-RECOVERY (outputs.md recoveries.parquet): the reason is the rule codes that now fail."""
    settled = run(rows, absence_rows=absence_rows, before=previous(ledger=ledger))
    assert settled.recoveries["reason"].to_list() == [reason]
    assert settled.recoveries["amount"].to_list() == [ledger[0]["amount"]]


def test_pay_recovery_is_never_netted_nor_a_negative_payment():
    """PAY-RECOVERY: a recovery is never netted against a payment (of the same or another person) and never
    paid as a negative amount: the payments stay whole, the recovery is listed apart."""
    rows = [
        *DIED,
        period(MONTH_OF_RUN, MONTH_OF_RUN, budget="BOB", amount="300.00"),
        period(MONTH_OF_RUN, MONTH_OF_RUN, insz=INSZ_2000),
    ]
    settled = run(
        rows, member_rows=[member(), member(INSZ_2000, IBAN_2000)], before=previous(ledger=PAID_THROUGH_OCTOBER)
    )
    payments = {(r["insz"], r["budget"]): r["amount"] for r in settled.payments.iter_rows(named=True)}
    assert payments == {(INSZ_1985, "BOB"): Decimal("300.00"), (INSZ_2000, "ZZB"): Decimal("140.00")}
    assert settled.recoveries["amount"].to_list() == [Decimal("140.00")] * 3
    assert (settled.payments["amount"] > 0).all()


def test_pay_recovery_waits_for_the_payment_run():
    """PAY-RECOVERY: listed in the next payment run, not in a run that is not one."""
    settled = run(DIED, before=previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER), payment_run=False)
    assert settled.recoveries.height == 0


def test_pay_recovery_held_persons_wait():
    """PAY-RECOVERY, S-HOLD: a held person's paid months are not recovered while the hold lasts."""
    settled = run(
        DIED,
        before=previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER),
        quarantines={"facility_stays": quarantined("facility_stays")},
    )
    assert settled.recoveries.height == 0


# --- S-HOLD ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", [f for f in FEEDS if f != "members"])
def test_s_hold_a_quarantined_row_in_any_feed_holds_the_person(feed):
    """S-HOLD: a person with a quarantined row in any feed is held: no event, no payment, no recovery; their
    previous grants stand in the new state; the hold is reported (held, W-HELD)."""
    before = previous([g(M(2025, 1)), g(M(2025, 1), M(2025, 6), "BOB")], PAID_THROUGH_OCTOBER)
    settled = run(DIED, before=before, quarantines={feed: quarantined(feed, rule="R-DATES")})
    assert settled.events.height == 0
    assert settled.payments.height == 0 and settled.recoveries.height == 0
    assert settled.grants.equals(before.grants.sort("insz", "budget", "first_month"))
    assert settled.held.to_dicts() == [{"insz": INSZ_1985, "feed": feed, "rule": "R-DATES"}]
    assert worklist(settled, "W-HELD") == [
        dict(insz=INSZ_1985, zorgkas="ZK100", since=RUN, detail=f"held: R-DATES in {feed}", evidence=[])
    ]
    assert settled.mass_change is None


def test_s_hold_a_quarantined_members_row_holds_the_person():
    """S-HOLD: a person whose own members row is quarantined is held too (the row is not among the valid
    members); their grants stand."""
    before = previous([g(M(2025, 1))], PAID_THROUGH_OCTOBER)
    settled = run(DIED, member_rows=[], before=before, quarantines={"members": quarantined("members", rule="R-ENUM")})
    assert settled.events.height == 0 and settled.payments.height == 0 and settled.recoveries.height == 0
    assert ("members", "R-ENUM") in [(r["feed"], r["rule"]) for r in settled.held.iter_rows(named=True)]
    assert settled.grants.equals(before.grants)


def test_s_hold_a_first_run_emits_nothing_for_a_held_person_and_keeps_no_grant():
    """S-HOLD: a held person without previous grants gets no NEW event and no payment; others go on."""
    rows = [period(M(2026, 1), MONTH_OF_RUN), period(M(2026, 1), MONTH_OF_RUN, insz=INSZ_2000)]
    settled = run(
        rows,
        member_rows=[member(), member(INSZ_2000, IBAN_2000)],
        quarantines={"belrai_screeners": quarantined("belrai_screeners", INSZ_2000)},
    )
    assert settled.events["insz"].to_list() == [INSZ_1985]
    assert settled.payments["insz"].unique().to_list() == [INSZ_1985]
    assert settled.grants["insz"].to_list() == [INSZ_1985]


# fmt: off
HOLD_WHO = [
    # name                                                                         quarantined insz      held
    ("S-HOLD a valid insz in the quarantined row: held",                            INSZ_1985,            True),
    ("S-HOLD an insz with a wrong check digit holds nobody",                        "85073112306",        False),
    ("S-HOLD an insz of 10 digits holds nobody",                                    INSZ_1985[:10],       False),
    ("S-HOLD a null insz holds nobody",                                             None,                 False),
    ("S-HOLD another person's valid insz does not hold this one",                   INSZ_2000,            False),
]
# fmt: on


@pytest.mark.parametrize("insz, held", cases(HOLD_WHO))
def test_s_hold_only_a_valid_insz_holds(insz, held):
    """S-HOLD: only a person with a valid insz is held; an invalid insz in a quarantined row holds nobody."""
    feed = "vaph_support"
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)], quarantines={feed: quarantined(feed, insz, "R-ID")})
    assert (settled.payments.height == 0) is held
    assert (INSZ_1985 in settled.held["insz"].to_list()) is held
    if insz != INSZ_1985:
        assert settled.held["insz"].to_list() == ([insz] if insz == INSZ_2000 else [])


# --- W-IBAN-MISSING -----------------------------------------------------------------------------------------

# fmt: off
IBANS = [
    # name                                                                 iban                    paid   worklist detail
    ("W-IBAN-MISSING a valid IBAN: paid, not listed",                      IBAN_1985,              6,     None),
    ("W-IBAN-MISSING a valid IBAN written with spaces: paid",              "BE72 7351 0000 0116",  6,     None),
    ("W-IBAN-MISSING no IBAN: withheld and listed",                        None,                   0,     "6 payments withheld: IBAN missing"),
    ("W-IBAN-MISSING an empty IBAN: withheld and listed",                  "",                     0,     "6 payments withheld: IBAN missing"),
    ("W-IBAN-MISSING one check digit off: invalid, withheld and listed",   "BE72735100000117",     0,     "6 payments withheld: IBAN invalid"),
]
# fmt: on


@pytest.mark.parametrize("iban, n_paid, detail", cases(IBANS))
def test_w_iban_missing_withholds_the_payment(iban, n_paid, detail):
    """W-IBAN-MISSING: without a valid IBAN the payment is withheld and listed, since the first unpaid month."""
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=iban)])
    assert settled.payments.height == n_paid
    expected = (
        [] if detail is None else [dict(insz=INSZ_1985, zorgkas="ZK100", since=M(2026, 6), detail=detail, evidence=[])]
    )
    assert worklist(settled, "W-IBAN-MISSING") == expected


def test_w_iban_missing_since_is_the_first_unpaid_month():
    """W-IBAN-MISSING: since = the first month still unpaid (months paid before the IBAN went missing excluded)."""
    ledger = [paid(m) for m in months(M(2026, 6), M(2026, 8))]
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=None)], before=previous(ledger=ledger))
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [M(2026, 9)]


def test_w_iban_missing_an_absence_budget_is_withheld_too():
    """W-IBAN-MISSING: an unpaid absence budget without a valid IBAN is withheld and listed."""
    settled = run([], absence_rows=[absence()], member_rows=[member(iban=None)])
    assert settled.payments.height == 0
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [D(2025, 8, 31)]


def test_w_iban_missing_is_listed_on_every_run():
    """W-IBAN-MISSING: listed on every run while a month is unpaid, not only on payment runs."""
    settled = run(
        [period(M(2026, 6), MONTH_OF_RUN)], run_date=D(2026, 11, 10), member_rows=[member(iban=None)], payment_run=False
    )
    assert settled.payments.height == 0
    assert [r["since"] for r in worklist(settled, "W-IBAN-MISSING")] == [M(2026, 6)]


def test_w_iban_missing_not_listed_when_nothing_is_unpaid():
    """W-IBAN-MISSING: a member without IBAN whose months are all paid is not listed."""
    ledger = [paid(m) for m in months(M(2026, 6), MONTH_OF_RUN)]
    settled = run([period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member(iban=None)], before=previous(ledger=ledger))
    assert worklist(settled, "W-IBAN-MISSING") == []


def test_w_iban_missing_paid_in_the_first_payment_run_after_the_iban_arrives():
    """W-IBAN-MISSING: the withheld months stay due and are paid in the first payment run after the IBAN
    arrives, with the month of that run."""
    october = run([period(M(2026, 6), M(2026, 10))], run_date=D(2026, 10, 26), member_rows=[member(iban=None)])
    assert october.payments.height == 0
    november = run(
        [period(M(2026, 6), MONTH_OF_RUN)], member_rows=[member()], before=previous(ledger=ledger_of(october))
    )
    assert paid_months(november) == months(M(2026, 6), MONTH_OF_RUN)
    assert worklist(november, "W-IBAN-MISSING") == []


# --- W-MEMBER-MISSING and W-HELD ---------------------------------------------------------------------------


def test_w_member_missing_an_open_grant_whose_person_left_the_members_feed_is_held_not_stopped():
    """W-MEMBER-MISSING: a person with an open grant gone from the members feed: listed, held (S-HOLD), the grant
    kept and not stopped; their paid months are not recovered."""
    before = previous([g(M(2025, 1), insz=INSZ_2000)], [paid(M(2026, 10), insz=INSZ_2000)])
    settled = run([period(M(2026, 1), MONTH_OF_RUN)], before=before)  # only INSZ_1985 is a member
    assert [(r["insz"], r["event"]) for r in settled.events.iter_rows(named=True)] == [(INSZ_1985, "NEW")]
    assert settled.recoveries.height == 0
    assert INSZ_2000 in settled.grants["insz"].to_list()
    assert settled.grants.filter(pl.col("insz") == INSZ_2000)["last_month"].to_list() == [None]
    assert worklist(settled, "W-MEMBER-MISSING") == [
        dict(
            insz=INSZ_2000,
            zorgkas="ZK100",
            since=RUN,
            detail="open grant, person missing from the members feed",
            evidence=[],
        )
    ]
    assert settled.held.to_dicts() == [{"insz": INSZ_2000, "feed": "members", "rule": "W-MEMBER-MISSING"}]
    assert [r["detail"] for r in worklist(settled, "W-HELD")] == ["held: W-MEMBER-MISSING in members"]


# fmt: off
MEMBER_MISSING = [
    # name                                                                         previous grant                             members                   listed
    ("W-MEMBER-MISSING an open grant, person gone: listed",                        g(M(2025, 1), insz=INSZ_2000),             [member()],               True),
    ("W-MEMBER-MISSING an open grant, person still a member: not listed",          g(M(2025, 1), insz=INSZ_2000),             [member(), member(INSZ_2000, IBAN_2000)], False),
    ("W-MEMBER-MISSING a closed grant, person gone: not listed",                   g(M(2025, 1), M(2025, 6), insz=INSZ_2000), [member()],               False),
]
# fmt: on


@pytest.mark.parametrize("grant, member_rows, listed", cases(MEMBER_MISSING))
def test_w_member_missing_only_an_open_grant(grant, member_rows, listed):
    """W-MEMBER-MISSING: only a person with an active (open) grant who is gone from the members feed."""
    settled = run([], member_rows=member_rows, before=previous([grant]))
    assert bool(worklist(settled, "W-MEMBER-MISSING")) is listed
    assert (INSZ_2000 in settled.held["insz"].to_list()) is listed


def test_w_held_names_every_rule_and_feed():
    """W-HELD: one row per held person naming each quarantine rule and feed."""
    quarantines = {
        "belrai_screeners": quarantined("belrai_screeners", rule="R-RANGE"),
        "facility_stays": quarantined("facility_stays", rule="R-DATES"),
    }
    settled = run([period(MONTH_OF_RUN, MONTH_OF_RUN)], quarantines=quarantines, payment_run=False)
    assert worklist(settled, "W-HELD") == [
        dict(
            insz=INSZ_1985,
            zorgkas="ZK100",
            since=RUN,
            detail="held: R-DATES in facility_stays, R-RANGE in belrai_screeners",
            evidence=[],
        )
    ]


def work_row(insz: str, code: str, detail: str = "") -> dict:
    return dict(insz=insz, zorgkas="ZK100", code=code, since=M(2026, 9), detail=detail, evidence=[])


# fmt: off
HELD_WORK = [
    # name                                                                           rows the decisions gave                                        kept for the held person
    ("S-HOLD a held person's W-CHECK-RESIDENCE from partial data is not listed",    [work_row(INSZ_1985, "W-CHECK-RESIDENCE")],                    ["W-HELD"]),
    ("S-HOLD a held person's requests to apply are not listed",                      [work_row(INSZ_1985, "W-APPLY-SPECIAL"), work_row(INSZ_1985, "W-APPLY-FACILITY")], ["W-HELD"]),
    ("S-HOLD a held person's arrears and transition rows are not listed",            [work_row(INSZ_1985, "W-VOLUNTARY-ARREARS"), work_row(INSZ_1985, "W-NRTH-TRANSITION")], ["W-HELD"]),
    ("S-HOLD another person's rows stay",                                            [work_row(INSZ_2000, "W-CHECK-RESIDENCE")],                    ["W-HELD"]),
]
# fmt: on


@pytest.mark.parametrize("work, kept", cases(HELD_WORK))
def test_s_hold_a_held_persons_only_work_list_row_is_w_held(work, kept):
    """S-HOLD: a held person's only work-list row is W-HELD: no other W- row is built from their partial data
    (a quarantined residence row must not become a request for proof of residence); W-IBAN-MISSING neither."""
    rows = pl.DataFrame(work, schema=WORKLIST_COLUMNS, orient="row")
    settled = run(
        [period(M(2026, 6), MONTH_OF_RUN)],
        member_rows=[member(iban=None), member(INSZ_2000)],
        quarantines={"residence_periods": quarantined("residence_periods", rule="R-DATES")},
        worklist_rows=rows,
        payment_run=False,
    )
    held_codes = settled.worklist.filter(pl.col("insz") == INSZ_1985)["code"].to_list()
    assert held_codes == kept
    others = settled.worklist.filter(pl.col("insz") == INSZ_2000)["code"].to_list()
    assert others == [r["code"] for r in work if r["insz"] == INSZ_2000]


# --- S-MASS-CHANGE -----------------------------------------------------------------------------------------


def events(stopped: int = 0, cancelled: int = 0, new: int = 0, continued: int = 0, changed: int = 0) -> pl.DataFrame:
    counts = {"STOPPED": stopped, "CANCELLED": cancelled, "NEW": new, "CONTINUED": continued, "CHANGED": changed}
    return pl.DataFrame({"event": [e for e, n in counts.items() for _ in range(n)]}, schema={"event": pl.String})


# fmt: off
MASS = [
    # name                                                                     active  events                                     refused
    ("S-MASS-CHANGE exactly 2% stopped: goes on",                             100,    events(stopped=2, continued=98),           False),
    ("S-MASS-CHANGE just above 2% stopped: refused",                          100,    events(stopped=3, continued=97),           True),
    ("S-MASS-CHANGE exactly 2% of 50 stopped: goes on",                       50,     events(stopped=1),                         False),
    ("S-MASS-CHANGE 2 of 50 stopped: refused",                                50,     events(stopped=2),                         True),
    ("S-MASS-CHANGE a cancelled grant counts as stopped",                     100,    events(stopped=2, cancelled=1),            True),
    ("S-MASS-CHANGE exactly 10% new: goes on",                                100,    events(new=10, continued=100),             False),
    ("S-MASS-CHANGE just above 10% new: refused",                             100,    events(new=11, continued=100),             True),
    ("S-MASS-CHANGE changed and continued grants do not count",               100,    events(changed=100, continued=100),        False),
    ("S-MASS-CHANGE first run, no active grant: exempt",                      0,      events(new=500),                           False),
    ("S-MASS-CHANGE no active grant, cancelled closed grants: exempt",        0,      events(cancelled=5),                       False),
]
# fmt: on


@pytest.mark.parametrize("active, found, refused", cases(MASS))
def test_s_mass_change(active, found, refused):
    """S-MASS-CHANGE: refuse a run that stops more than max_stop_fraction (2%) of the active grants or starts more
    than max_new_fraction (10%); a first run on an empty state is exempt."""
    reason = s_mass_change(found, active, PARAMS.max_stop_fraction, PARAMS.max_new_fraction)
    assert (reason is not None) is refused
    if refused:
        assert reason.startswith("S-MASS-CHANGE") and f"{active} active" in reason


def test_s_mass_change_first_settle_on_an_empty_state_is_exempt_and_counts_are_named():
    """S-MASS-CHANGE via settle: a first run starts every grant; a later run stopping 1 of 1 is refused with
    the counts."""
    first = run([period(M(2026, 1), MONTH_OF_RUN)])
    assert first.events["event"].to_list() == ["NEW"] and first.mass_change is None
    stopped = run([period(M(2026, 1), M(2026, 9))], before=previous([g(M(2026, 1))]))
    assert stopped.mass_change is not None and "stop 1 of 1 active grants" in stopped.mass_change


# --- end_to_end_ids ------------------------------------------------------------------------------------------


def payable(rows: list[tuple]) -> pl.DataFrame:
    """Payable rows (insz, zorgkas, budget, month) with quantity and amount."""
    return pl.DataFrame(
        [dict(insz=i, zorgkas=z, budget=b, month=m, quantity=1, amount=Decimal("140.00")) for i, z, b, m in rows],
        schema={c: t for c, t in PAID_COLUMNS.items() if c != "end_to_end_id"},
        orient="row",
    )


ROWS = [
    (INSZ_1985, "ZK100", "ZZB", M(2026, 10)),
    (INSZ_1985, "ZK100", "ZZB", M(2026, 11)),
    (INSZ_1985, "ZK100", "BOB", M(2026, 11)),
    (INSZ_2000, "ZK100", "ZZB", M(2026, 11)),
    (INSZ_2000, "ZK600", "ZZB", M(2026, 11)),
]


def ids(frame: pl.DataFrame) -> dict[tuple, str]:
    return {(r["insz"], r["zorgkas"], r["budget"], r["month"]): r["end_to_end_id"] for r in frame.iter_rows(named=True)}


def test_end_to_end_ids_are_deterministic():
    """end_to_end_id (outputs.md): the same run gives the same ids, whatever the order of the rows."""
    assert ids(end_to_end_ids(payable(ROWS), RUN)) == ids(end_to_end_ids(payable(ROWS[::-1]), RUN))


def test_end_to_end_ids_are_shared_by_one_person_and_budget_only():
    """end_to_end_id: the rows of one person and budget share one id; other budgets and persons have their own."""
    found = ids(end_to_end_ids(payable(ROWS), RUN))
    assert found[ROWS[0]] == found[ROWS[1]]
    assert len({found[r] for r in ROWS}) == 4


def test_end_to_end_ids_fit_sepa_and_carry_no_insz():
    """end_to_end_id: at most 35 characters (SEPA), and no insz in it (it shows on bank statements)."""
    every_zorgkas = [
        (INSZ_1985, code, budget, MONTH_OF_RUN) for code in REFERENCE.zorgkas_codes for budget in ("ZZB", "BOB")
    ]
    found = end_to_end_ids(payable(ROWS + every_zorgkas), RUN)
    assert found.schema == pl.Schema(PAID_COLUMNS)
    for value in found["end_to_end_id"]:
        assert 1 <= len(value) <= 35
        assert INSZ_1985 not in value and INSZ_2000 not in value
        assert INSZ_1985[:6] not in value and INSZ_2000[:6] not in value


# fmt: off
NUMBERED = [
    # name                                                                          payable row (insz, zorgkas, budget, month)      end_to_end_id
    ("end_to_end_id the first person and budget of a zorgkas is number 1",          (INSZ_2000, "ZK100", "ZZB", M(2026, 11)),       "VSB20261126ZK1000000001"),
    ("end_to_end_id the next person with the same budget is number 2",              (INSZ_1985, "ZK100", "ZZB", M(2026, 10)),       "VSB20261126ZK1000000002"),
    ("end_to_end_id ... and shares it with their other month",                      (INSZ_1985, "ZK100", "ZZB", M(2026, 11)),       "VSB20261126ZK1000000002"),
    ("end_to_end_id the same person in another zorgkas is number 1 there",          (INSZ_1985, "ZK600", "ZZB", M(2026, 10)),       "VSB20261126ZK6000000001"),
    ("end_to_end_id ... and shares it with their other month there",                (INSZ_1985, "ZK600", "ZZB", M(2026, 11)),       "VSB20261126ZK6000000001"),
]
# fmt: on


@pytest.mark.parametrize("row, expected", cases(NUMBERED))
def test_end_to_end_ids_are_numbered_per_zorgkas(row, expected):
    """end_to_end_id: VSB, the run date, the zorgkas and a 7-digit number counting the (insz, budget) pairs of
    the zorgkas in (insz, budget) order, from 1; the rows of a pair share it."""
    assert ids(end_to_end_ids(payable([r for _, r, _ in NUMBERED]), RUN))[row] == expected
