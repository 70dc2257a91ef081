"""Months granted by hand or on appeal through the nightly run (docs/spec/rules.md §10 M-ENTITLED with §8 PAY-ONCE,
PAY-RECOVERY, D-EVENTS, S-HOLD): one ledger, whatever granted the month, across nights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from tests.helpers.builders import valid_rows, write_delivery, write_landing
from tests.helpers.cases import case
from tests.helpers.runs import PAYMENT_DAY, ledger, nightly

D = dt.date
pytestmark = pytest.mark.usefixtures("prefect_harness")
NOVEMBER, DECEMBER = D(2026, 11, 1), D(2026, 12, 1)
DECEMBER_PAYMENT = D(2026, 12, 26)


APPLICATION = case("A1", "APPLICATION", received_date=D(2026, 2, 10))
GRANT_FROM_MARCH = case("G1", "GRANT", decided_date=D(2026, 4, 20), refers_to="A1", first_month=D(2026, 3, 1))


def by_hand_landing(tmp: Path, cases: list[dict]) -> Path:
    """The builder's member (ZK100) without a ZZB ground of its own (no screener, no scale, no stay): ZZB only by
    hand; BOB automatically (the builder's SUPPORT_NEED record)."""
    no_zzb_ground = {"belrai_screeners": [], "medsoc_scales": [], "facility_stays": [], "case_decisions": cases}
    return write_landing(tmp / "landing", NOVEMBER, no_zzb_ground)


def zzb_ledger(tmp: Path) -> list[tuple]:
    return [(month, run_key) for insz, budget, month, _, run_key in ledger(tmp) if budget == "ZZB"]


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    return pl.date_range(first, last, "1mo", eager=True).to_list()


def test_pay_once_a_month_paid_by_hand_is_not_paid_again_when_automatic_data_covers_it(tmp_path):
    """M-ENTITLED, PAY-ONCE: March to November granted by hand and paid in November; in December a scale (G-MEDSOC,
    ZZB from June 2025) covers them too: only the months never paid are paid, each month of the ledger once."""
    landing = by_hand_landing(tmp_path, [APPLICATION, GRANT_FROM_MARCH])
    first = nightly(tmp_path, landing, PAYMENT_DAY)
    assert zzb_ledger(tmp_path) == [(m, "2026-11-26") for m in months(D(2026, 3, 1), NOVEMBER)]
    grants = pl.read_parquet(Path(first["path"]) / "ZK100" / "grants.parquet").filter(pl.col("budget") == "ZZB")
    assert grants.select("event", "first_month", "grounds", "evidence").rows() == [
        ("NEW", D(2026, 3, 1), ["M-GRANT"], ["case_decisions:G1"])
    ]

    write_delivery(landing, "medsoc_scales", DECEMBER, valid_rows()["medsoc_scales"])
    second = nightly(tmp_path, landing, DECEMBER_PAYMENT)
    paid = zzb_ledger(tmp_path)
    assert len({m for m, _ in paid}) == len(paid)  # every month once
    assert [m for m, run in paid if run == "2026-12-26"] == months(D(2025, 6, 1), D(2026, 2, 1)) + [DECEMBER]
    december = pl.read_parquet(Path(second["path"]) / "ZK100" / "payments.parquet").filter(pl.col("budget") == "ZZB")
    assert D(2026, 3, 1) not in december["month"].to_list() and december.height == 10
    grants = pl.read_parquet(Path(second["path"]) / "ZK100" / "grants.parquet").filter(pl.col("budget") == "ZZB")
    assert grants.select("event", "first_month", "grounds").rows() == [
        ("CHANGED", D(2025, 6, 1), ["G-MEDSOC", "M-GRANT"])
    ]


def test_pay_once_an_automatic_month_later_also_granted_by_hand_is_not_paid_again(tmp_path):
    """PAY-ONCE the other way round: months paid automatically, then granted by hand too: nothing new to pay."""
    landing = write_landing(tmp_path / "landing", NOVEMBER)  # the builder's scale: ZZB from June 2025
    nightly(tmp_path, landing, PAYMENT_DAY)
    before = zzb_ledger(tmp_path)
    write_delivery(landing, "case_decisions", DECEMBER, [APPLICATION, GRANT_FROM_MARCH])
    nightly(tmp_path, landing, DECEMBER_PAYMENT)
    assert zzb_ledger(tmp_path) == before + [(DECEMBER, "2026-12-26")]


def test_a_grant_by_hand_cut_by_a_death_reported_late_is_recovered(tmp_path):
    """M-ENTITLED (E-ALIVE cuts a month granted by hand), PAY-RECOVERY: the months after the death were paid by hand;
    the next payment run lists them as recoveries, with E-ALIVE as the reason."""
    landing = by_hand_landing(tmp_path, [APPLICATION, GRANT_FROM_MARCH])
    nightly(tmp_path, landing, PAYMENT_DAY)
    died = valid_rows()["members"][0] | {"death_date": D(2026, 8, 10)}
    write_delivery(landing, "members", DECEMBER, [died])
    second = nightly(tmp_path, landing, DECEMBER_PAYMENT, accept_mass_change=True)  # stops both grants
    recoveries = pl.read_parquet(Path(second["path"]) / "ZK100" / "recoveries.parquet").filter(
        pl.col("budget") == "ZZB"
    )
    assert recoveries["month"].to_list() == months(D(2026, 9, 1), NOVEMBER)
    assert all("E-ALIVE" in reason for reason in recoveries["reason"].to_list())
    assert [m for m, run in zzb_ledger(tmp_path) if run == "2026-12-26"] == []


def test_an_appeal_grant_after_a_zorgkas_end_is_paid(tmp_path):
    """M-APPEAL: the zorgkas ended its grant from June; the agency granted June to August on appeal (decided before
    the END): those months are paid, the grant's grounds name M-APPEAL."""
    rows = [
        APPLICATION,
        GRANT_FROM_MARCH,
        case("E1", "END", decided_date=D(2026, 6, 5), first_month=D(2026, 6, 1)),
        case("P1", "APPEAL", received_date=D(2026, 5, 2), refers_to="G1"),
        case(
            "X1",
            "APPEAL_GRANT",
            decided_date=D(2026, 5, 30),
            refers_to="P1",
            first_month=D(2026, 6, 1),
            last_month=D(2026, 8, 1),
        ),
    ]
    done = nightly(tmp_path, by_hand_landing(tmp_path, rows), PAYMENT_DAY)
    assert [m for m, _ in zzb_ledger(tmp_path)] == months(D(2026, 3, 1), D(2026, 8, 1))
    grants = pl.read_parquet(Path(done["path"]) / "ZK100" / "grants.parquet").filter(pl.col("budget") == "ZZB")
    assert grants.select("first_month", "last_month", "grounds", "evidence").rows() == [
        (D(2026, 3, 1), D(2026, 8, 1), ["M-APPEAL"], ["case_decisions:X1"])
    ]


BAD_ROWS = [
    ("R-ENUM", GRANT_FROM_MARCH | {"kind": "GRANTED", "refers_to": None}),
    ("R-ENUM", GRANT_FROM_MARCH | {"budget": "ZZB2", "refers_to": None}),
    ("R-DATES", GRANT_FROM_MARCH | {"first_month": D(2026, 3, 2), "refers_to": None}),
    ("R-REQUIRED", GRANT_FROM_MARCH | {"first_month": None, "refers_to": None}),
    ("R-REFERENCE", GRANT_FROM_MARCH | {"refers_to": "A9"}),
]


@pytest.mark.parametrize("rule, bad", BAD_ROWS, ids=[f"{r} {b['kind']}" for r, b in BAD_ROWS])
def test_a_quarantined_case_row_holds_the_person_and_pays_nothing(tmp_path, rule, bad):
    """S-HOLD, W-HELD: a case row that breaks a row rule is quarantined with its rule; the person is held (nothing
    paid, not even the automatic BOB) and the work list names the rule and the feed."""
    done = nightly(tmp_path, by_hand_landing(tmp_path, [APPLICATION, bad]), PAYMENT_DAY)
    folder = Path(done["path"])
    quarantine = pl.read_parquet(folder / "quarantine" / "case_decisions.parquet")
    assert quarantine["rule"].to_list() == [rule]
    assert ledger(tmp_path) == []
    worklist = pl.read_parquet(folder / "ZK100" / "worklist.parquet")
    assert worklist.select("code", "detail").rows() == [("W-HELD", f"held: {rule} in case_decisions")]
