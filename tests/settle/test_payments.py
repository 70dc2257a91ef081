"""Payments and recoveries, docs/spec/rules.md §8 (PAY-MONTH, PAY-ONCE, PAY-RECOVERY) and the payments' end_to_end_ids.

Hand-made frames with the exact schemas (tests/helpers/settle.py), composed by `settle`.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from pipelines.settle.payments import (
    PAID_COLUMNS,
    PAYMENT_COLUMNS,
    RECOVERY_COLUMNS,
    accounts_of,
    end_to_end_ids,
    is_payment_run,
    payment_rows,
)
from tests.helpers.builders import INSZ_1985, INSZ_2000
from tests.helpers.decide import cases
from tests.helpers.settle import (
    DIED,
    IBAN_1985,
    IBAN_2000,
    MONTH_OF_RUN,
    PAID_THROUGH_OCTOBER,
    PARAMS,
    REFERENCE,
    RUN,
    WINDOW_FIRST,
    D,
    M,
    absence,
    g,
    ledger_of,
    member,
    members,
    months,
    paid,
    paid_months,
    period,
    previous,
    quarantined,
    run,
)

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
        period(december, december, amount=str(table.value_on("zzb_monthly", december))),
        period(january, M(2025, 11), amount=str(table.value_on("zzb_monthly", january))),
        period(december, M(2025, 11), budget="BOB", amount=str(table.value_on("bob_monthly", december))),
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
    """PAY-RECOVERY (docs/spec/outputs.md recoveries.parquet): the reason is the rule codes that now fail."""
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
    """end_to_end_id (docs/spec/outputs.md): the same run gives the same ids, whatever the order of the rows."""
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
