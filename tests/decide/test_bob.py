"""The care budget for persons with a disability, docs/spec/rules.md §6: G-BOB, X-BOB-PVB, X-BOB-PAB, X-BOB-MFC.

The BOB is decided independently of the ZZB: the ZZB exclusions do not stop it and a person can
have both budgets in the same month.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.helpers.decide import Batch, indexed, member, residence, run, standing_ground, stay, support_need, vaph

D = dt.date
M = D(2026, 11, 1)
AGE_18 = D(2008, 11, 1)  # 18 on first(M)
AGE_17 = D(2008, 11, 2)  # 17 on first(M)
SINCE_2020 = D(2020, 1, 1)


# --- G-BOB: the right ------------------------------------------------------------------------------

# fmt: off
RIGHTS = [
    # name                                                                    start            end              first entitled   last entitled
    ("G-BOB a start on the 15th gives the right from the next month",        D(2025, 3, 15),  None,            D(2025, 4, 1),   M),
    ("G-BOB a start on the first of a month: still the next month",          D(2025, 3, 1),   None,            D(2025, 4, 1),   M),
    ("G-BOB a start on the last day of a month: the next month",             D(2025, 2, 28),  None,            D(2025, 3, 1),   M),
    ("G-BOB an end on the 10th pays through that month",                     D(2025, 3, 15),  D(2026, 2, 10),  D(2025, 4, 1),   D(2026, 2, 1)),
    ("G-BOB an end on the first of a month pays that month",                 D(2025, 3, 15),  D(2026, 2, 1),   D(2025, 4, 1),   D(2026, 2, 1)),
    ("G-BOB an end on the last day of a month pays that month, not the next", D(2025, 3, 15), D(2026, 1, 31),  D(2025, 4, 1),   D(2026, 1, 1)),
    ("G-BOB a record within one month gives no month",                       D(2025, 6, 5),   D(2025, 6, 20),  None,            None),
    ("G-BOB a record ending the month after its start gives that month",     D(2025, 6, 5),   D(2025, 7, 20),  D(2025, 7, 1),   D(2025, 7, 1)),
]
# fmt: on


RIGHTS_RUN = Batch([dict(vaph_support=[support_need("SN1", start, end)]) for _, start, end, _, _ in RIGHTS])


@pytest.mark.parametrize("i, start, end, first, last", indexed(RIGHTS))
def test_g_bob_right(i, start, end, first, last):
    """G-BOB: a SUPPORT_NEED record gives the right from the first day of the month after start_date through
    the month containing end_date (local decision of docs/spec/rules.md: no other delay)."""
    decided = RIGHTS_RUN[i]
    entitled = decided.entitled_months("BOB")
    if first is None:
        assert entitled == []
        return
    assert entitled[0] == first and entitled[-1] == last
    assert len(entitled) == (last.year - first.year) * 12 + last.month - first.month + 1
    row = decided.month("BOB", first)
    assert "G-BOB" in row["holds"] and "vaph_support:SN1" in row["evidence"]
    assert row["monthly_amount"] == Decimal("300.00")


def test_g_bob_other_support_kinds_give_no_right():
    """G-BOB: only SUPPORT_NEED gives the right; a PVB or an MFC stay alone gives no BOB month."""
    decided = run(vaph_support=[vaph("P1", "PVB", SINCE_2020), vaph("M1", "MFC_FULLTIME", SINCE_2020)])
    assert decided.months.filter(decided.months["budget"] == "BOB").height == 0


# --- BOB exclusions --------------------------------------------------------------------------------

# fmt: off
EXCLUSIONS = [
    # name                                                                    support_kind                    birth    start       end                failing
    ("X-BOB-PVB excludes a person of 18",                                     "PVB",                          AGE_18,  SINCE_2020, None,              "X-BOB-PVB"),
    ("X-BOB-PVB excludes a person of 17 too (any age)",                       "PVB",                          AGE_17,  SINCE_2020, None,              "X-BOB-PVB"),
    ("X-BOB-PVB ending on first(M) still excludes M",                         "PVB",                          AGE_18,  SINCE_2020, M,                 "X-BOB-PVB"),
    ("X-BOB-PVB ending the day before first(M) does not",                     "PVB",                          AGE_18,  SINCE_2020, D(2026, 10, 31),   None),
    ("X-BOB-PVB starting on the 2nd does not exclude M",                      "PVB",                          AGE_18,  D(2026, 11, 2), None,          None),
    ("X-BOB-PAB excludes a person of 17",                                     "PAB",                          AGE_17,  SINCE_2020, None,              "X-BOB-PAB"),
    ("X-BOB-PAB does not exclude a person of 18",                             "PAB",                          AGE_18,  SINCE_2020, None,              None),
    ("X-BOB-PAB ending the day before first(M) does not",                     "PAB",                          AGE_17,  SINCE_2020, D(2026, 10, 31),   None),
    ("X-BOB-MFC excludes a person of 17",                                     "MFC_FULLTIME",                 AGE_17,  SINCE_2020, None,              "X-BOB-MFC"),
    ("X-BOB-MFC does not exclude a person of 18",                             "MFC_FULLTIME",                 AGE_18,  SINCE_2020, None,              None),
    ("X-BOB-MFC ending on first(M) still excludes M",                         "MFC_FULLTIME",                 AGE_17,  SINCE_2020, M,                 "X-BOB-MFC"),
    ("the BOB can be combined with an NRTH (18)",                             "NRTH",                         AGE_18,  SINCE_2020, None,              None),
    ("the BOB can be combined with an adult facility outside VL",             "ADULT_FACILITY_OUTSIDE_VL",    AGE_18,  SINCE_2020, None,              None),
    ("the BOB can be combined with minor residential care outside VL",        "MINOR_RESIDENTIAL_OUTSIDE_VL", AGE_17,  SINCE_2020, None,              None),
    ("the BOB can be combined with ambulatory support outside VL",            "ADULT_AMBULATORY_OUTSIDE_VL",  AGE_18,  SINCE_2020, None,              None),
    ("the BOB can be combined with MPI boarding",                              "MPI_BOARDING",                 AGE_17,  SINCE_2020, None,              None),
]
# fmt: on


def situation(birth: dt.date, records: dict) -> dict:
    """A member born on `birth`, domiciled in VL since, with the given records."""
    return dict(members=[member(birth_date=birth)], residence_periods=[residence("VL", birth)], **records)


EXCLUSIONS_RUN = Batch(
    [situation(c[2], {"vaph_support": [support_need(), vaph("X1", c[1], c[3], c[4])]}) for c in EXCLUSIONS]
)


@pytest.mark.parametrize("i, kind, birth, start, end, failing", indexed(EXCLUSIONS))
def test_bob_exclusions(i, kind, birth, start, end, failing):
    """X-BOB-PVB (PVB active, any age), X-BOB-PAB and X-BOB-MFC (active and younger than 18 on first(M));
    no other exclusion stops the BOB."""
    row = EXCLUSIONS_RUN[i].month("BOB", M)
    if failing is None:
        assert (row["status"], row["fails"]) == ("ENTITLED", [])
    else:
        assert (row["status"], row["fails"]) == ("NOT_ENTITLED", [failing])
        assert "vaph_support:X1" in row["evidence"]


# --- Independent of the ZZB ------------------------------------------------------------------------


def test_bob_and_zzb_in_the_same_month():
    """G-BOB and ZZB-START: a person with both rights is entitled to both budgets, each with its amount."""
    decided = run(medsoc_scales=[standing_ground()], vaph_support=[support_need()])
    zzb, bob = decided.month("ZZB", M), decided.month("BOB", M)
    assert (zzb["status"], zzb["monthly_amount"]) == ("ENTITLED", Decimal("140.00"))
    assert (bob["status"], bob["monthly_amount"]) == ("ENTITLED", Decimal("300.00"))
    assert "vaph_support:SN0" not in zzb["evidence"]
    assert "vaph_support:SN0" in bob["evidence"]


# fmt: off
INDEPENDENT = [
    # name                                                                     birth   records                                                                                         zzb              bob
    ("X-VAPH-ADULT-OUTSIDE stops the ZZB, not the BOB",                       AGE_18,  dict(vaph_support=[support_need(), vaph("X1", "ADULT_FACILITY_OUTSIDE_VL", SINCE_2020)]),       "NOT_ENTITLED",  "ENTITLED"),
    ("X-VAPH-NRTH stops the ZZB, not the BOB",                                AGE_18,  dict(vaph_support=[support_need(), vaph("X1", "NRTH", D(2018, 1, 1))]),                         "NOT_ENTITLED",  "ENTITLED"),
    ("T-NRTH-2017 holds the ZZB, not the BOB",                                AGE_18,  dict(vaph_support=[support_need(), vaph("X1", "NRTH", D(2016, 1, 1))]),                         "PENDING",       "ENTITLED"),
    ("X-SPECIAL-STAY stops the ZZB, not the BOB",                             AGE_18,  dict(vaph_support=[support_need()], facility_stays=[stay("FS1", SINCE_2020, special_category="COMA_NAH")]), "NOT_ENTITLED", "ENTITLED"),
    ("X-BOB-PVB of a person of 17 stops the BOB, not the ZZB",                AGE_17,  dict(vaph_support=[support_need(), vaph("X1", "PVB", SINCE_2020)]),                             "ENTITLED",      "NOT_ENTITLED"),
    ("X-VAPH-MFC and X-BOB-MFC of a person of 17 stop both",                  AGE_17,  dict(vaph_support=[support_need(), vaph("X1", "MFC_FULLTIME", SINCE_2020)]),                    "NOT_ENTITLED",  "NOT_ENTITLED"),
    ("X-VAPH-MFC of a person of 18 stops the ZZB, not the BOB",               AGE_18,  dict(vaph_support=[support_need(), vaph("X1", "MFC_FULLTIME", SINCE_2020)]),                    "NOT_ENTITLED",  "ENTITLED"),
]
# fmt: on


INDEPENDENT_RUN = Batch([situation(c[1], {"medsoc_scales": [standing_ground()], **c[2]}) for c in INDEPENDENT])


@pytest.mark.parametrize("i, birth, records, zzb, bob", indexed(INDEPENDENT))
def test_bob_is_decided_independently_of_the_zzb(i, birth, records, zzb, bob):
    """§6: ZZB and BOB are decided independently; each has its own exclusions."""
    decided = INDEPENDENT_RUN[i]
    assert (decided.status("ZZB", M), decided.status("BOB", M)) == (zzb, bob)


def test_bob_without_a_zzb_ground():
    """§6: the BOB needs no care-need ground: a SUPPORT_NEED record alone gives BOB months and no ZZB month."""
    decided = run(vaph_support=[support_need()])
    assert decided.entitled("BOB", M)
    assert decided.month("ZZB", M) is None


# --- G-BOB's delay is a parameter (bob_delay_months, baseline 1: "the month after") ----------------

# fmt: off
DELAYS = [
    # name                                                                    delay  start            first entitled
    ("delay 1 (baseline): a start on the 15th gives the next month",          1,     D(2025, 3, 15),  D(2025, 4, 1)),
    ("delay 1 (baseline): a start on the first still gives the next month",   1,     D(2025, 3, 1),   D(2025, 4, 1)),
    ("delay 1 (baseline): a start on the last day gives the next month",      1,     D(2025, 3, 31),  D(2025, 4, 1)),
    ("delay 0: the month of the start itself",                                0,     D(2025, 3, 15),  D(2025, 3, 1)),
    ("delay 0: a start on the first gives that very month",                   0,     D(2025, 3, 1),   D(2025, 3, 1)),
    ("delay 4: the fourth month after the start, as the ZZB",                 4,     D(2025, 3, 15),  D(2025, 7, 1)),
    ("delay 4: a start on the last day of a month counts from that month",    4,     D(2025, 3, 31),  D(2025, 7, 1)),
    ("delay 4: a start 4 months before the window gives its first month",     4,     D(2024, 8, 31),  D(2024, 12, 1)),
    ("delay 4: a start 3 months before the month of D gives no month yet",    4,     D(2026, 8, 1),   None),
]
# fmt: on


@pytest.mark.parametrize("delay, start, first", [pytest.param(*c[1:], id=c[0]) for c in DELAYS])
def test_g_bob_delay_is_the_parameter(delay, start, first):
    """G-BOB: the right starts `bob_delay_months` months after the month of start_date (1: the month after,
    the local decision of docs/spec/rules.md §6; a reform may move it)."""
    from pipelines.decide.decisions import Feeds, decide
    from tests.helpers.decide import amounts, feed_rows, lazy, params

    rows = feed_rows(vaph_support=[support_need("SN1", start)])
    feeds = Feeds(**{name: lazy(name, records) for name, records in rows.items()})
    p = params().replace(bob_delay_months=delay)
    months = decide(feeds, p, amounts(), p.on).months.collect()
    entitled = sorted(months.filter((months["budget"] == "BOB") & months["entitled"])["month"].to_list())
    assert (entitled[0] if entitled else None) == first
    if first is not None:
        assert entitled[-1] == D(2026, 11, 1)


def test_bob_delay_baseline_is_one_month():
    """The baseline value of the new parameter keeps docs/spec/rules.md §6 (and every result) as it was."""
    from tests.helpers.decide import params

    assert params().bob_delay_months == 1
