"""The guarantees of docs/spec/outputs.md for the nightly run with its state: once (PAY-ONCE across reruns, --replace
and backfills), atomic (a crash at any step, then a rerun, gives what an uninterrupted run gives),
deterministic (backfill = the nightly runs), private (a zorgkas folder holds only its members; no insz,
name or IBAN in logs or reports), and the SEPA file agrees with payments.parquet (PAY-MONTH)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from flows.publication.folder import PublishError
from flows.publication.protocol import GuardError as MassChangeError
from pipelines.emit.sepa import summary, validate_pain001
from tests.helpers.builders import INSZ_1985, INSZ_2000, valid_rows, write_delivery
from tests.helpers.runs import PAYMENT_DAY, files_of, ledger, nightly, two_members

D = dt.date
pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_pay_month_pays_every_entitled_month_once_across_reruns_and_replace(tmp_path, two_members_after):
    """PAY-MONTH, PAY-ONCE, PAY-RECOVERY across a rerun, a corrected delivery with --replace, and the next month."""
    landing = two_members_after(tmp_path, PAYMENT_DAY)  # the payment night, as the crash probes' uninterrupted run
    paid = ledger(tmp_path)
    folder = tmp_path / "out" / "nightly" / "2026-11-26"
    payments = pl.read_parquet(folder / "ZK100" / "payments.parquet")
    # ZZB from 2025-06 (medsoc scale of 2025-02) and BOB from 2024-12: arrears of the whole window
    assert payments.filter(pl.col("budget") == "ZZB")["month"].min() == D(2025, 6, 1)
    assert payments.filter(pl.col("budget") == "BOB").height == 24
    assert len(paid) == 2 * (18 + 24)
    assert nightly(tmp_path, landing, PAYMENT_DAY)["status"] == "identical"
    assert ledger(tmp_path) == paid

    # a death reported late: months after it were paid and are recovered, nothing is paid twice
    died = valid_rows()["members"][0] | {"death_date": D(2026, 8, 10)}
    two_members(tmp_path / "landing", D(2026, 11, 1))
    members = pl.read_parquet(landing / "members" / "delivery_date=2026-11-01" / "part-00000.parquet")
    write_delivery(
        landing,
        "members",
        D(2026, 11, 1),
        members.filter(pl.col("insz") != INSZ_1985).vstack(pl.DataFrame([died], schema=members.schema)),
    )
    with pytest.raises(PublishError, match="--replace"):
        nightly(tmp_path, landing, PAYMENT_DAY)
    again = nightly(tmp_path, landing, PAYMENT_DAY, replace=True, accept_mass_change=True)  # stops 2 of 4 grants
    assert again["status"] == "replaced" and again["path"].endswith("2026-11-26.v2")
    assert ledger(tmp_path) == paid
    recoveries = pl.read_parquet(Path(again["path"]) / "ZK100" / "recoveries.parquet")
    assert sorted(set(recoveries["month"].to_list())) == [D(2026, 9, 1), D(2026, 10, 1), D(2026, 11, 1)]
    assert set(recoveries["budget"]) == {"ZZB", "BOB"} and set(recoveries["paid_on"]) == {PAYMENT_DAY}
    assert all("E-ALIVE" in reason for reason in recoveries["reason"].to_list())
    assert not (Path(again["path"]) / "ZK100" / "payments.xml").exists()  # nothing new to pay

    december = nightly(tmp_path, landing, D(2026, 12, 26))
    paid_december = [row for row in ledger(tmp_path) if row[4] == "2026-12-26"]
    assert {(row[0], row[2]) for row in paid_december} == {(INSZ_2000, D(2026, 12, 1))}
    assert not (Path(december["path"]) / "ZK100" / "recoveries.parquet").exists()  # listed once


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, two_members_after):
    """The two members' landing (read only by the tests that take it) and the files and ledger of its payment night
    run without a crash: run once for every crash point."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    landing = two_members(tmp / "landing")
    two_members_after(tmp / "clean", PAYMENT_DAY)
    return landing, files_of(tmp / "clean" / "out"), [r[:4] for r in ledger(tmp / "clean")]


@pytest.mark.parametrize("point", ["before-commit", "after-commit", "before-manifest", "before-rename", "after-rename"])
def test_a_crash_at_any_step_then_a_rerun_gives_the_uninterrupted_result(tmp_path, monkeypatch, point, uninterrupted):
    landing, clean_files, clean_ledger = uninterrupted
    crashed = tmp_path / "crashed"
    monkeypatch.setenv("VSB_CRASH_AT", point)
    with pytest.raises(Exception, match="crash injected"):
        nightly(crashed, landing, PAYMENT_DAY)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert nightly(crashed, landing, PAYMENT_DAY)["status"] in {"published", "identical"}
    assert files_of(crashed / "out") == clean_files
    assert [r[:4] for r in ledger(crashed)] == clean_ledger


def test_a_failed_run_leaves_the_state_as_it_was(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    before = ledger(tmp_path)
    (landing / "vaph_support" / "delivery_date=2026-11-01" / "part-00000.parquet").write_bytes(b"broken")
    with pytest.raises(Exception, match="feed vaph_support"):
        nightly(tmp_path, landing, PAYMENT_DAY)
    assert ledger(tmp_path) == before
    assert not (tmp_path / "out" / "nightly" / "2026-11-26").exists()


@pytest.mark.long  # 70 nights: only with VSB_ALL_TESTS=1 (docs/testing.md); the crash probes above run everywhere
def test_backfill_gives_the_folders_of_the_nightly_runs(tmp_path):
    """Backfill D1..D2 from the same starting state = the nightly runs of those dates (35 days, a payment day)."""
    from flows.nightly import run_backfill

    landing = two_members(tmp_path / "landing")
    first, last = D(2026, 11, 1), D(2026, 12, 5)
    by_backfill, by_nights = tmp_path / "backfill", tmp_path / "nights"
    results = run_backfill(
        first=first,
        last=last,
        landing=landing,
        outbox=by_backfill / "out",
        state=by_backfill / "state" / "vsb.duckdb",
        quiet=True,
    )
    assert len(results) == 35
    day = first
    while day <= last:
        nightly(by_nights, landing, day)
        day += dt.timedelta(days=1)
    assert files_of(by_backfill / "out") == files_of(by_nights / "out")
    assert ledger(by_backfill) == ledger(by_nights)
    assert {r[4] for r in ledger(by_backfill)} == {"2026-11-26"}


def test_each_zorgkas_folder_holds_only_its_members_and_the_sepa_file_agrees(tmp_path, two_members_after):
    two_members_after(tmp_path, PAYMENT_DAY)  # the payment night, as the crash probes' uninterrupted run
    folder = tmp_path / "out" / "nightly" / "2026-11-26"
    for zorgkas, insz in (("ZK100", INSZ_1985), ("ZK200", INSZ_2000)):
        for name in ("grants.parquet", "worklist.parquet", "payments.parquet"):
            frame = pl.read_parquet(folder / zorgkas / name)
            assert set(frame["insz"]) <= {insz} and set(frame["zorgkas"]) <= {zorgkas}
        payments = pl.read_parquet(folder / zorgkas / "payments.parquet")
        xml = (folder / zorgkas / "payments.xml").read_bytes()
        assert validate_pain001(xml) == []
        assert summary(xml) == (payments["end_to_end_id"].n_unique(), payments["amount"].sum())
        assert insz.encode() not in xml
        manifest = json.loads((folder / zorgkas / "manifest.json").read_text())
        assert manifest["totals"]["payments"]["transactions"] == payments["end_to_end_id"].n_unique()
    for zorgkas in ("ZK300", "ZK400", "ZK500", "ZK600"):
        assert pl.read_parquet(folder / zorgkas / "payments.parquet").height == 0
        assert not (folder / zorgkas / "payments.xml").exists()


def test_no_insz_name_or_iban_in_logs_or_report(tmp_path, capfd, caplog):
    landing = two_members(tmp_path / "landing")
    folder = Path(nightly(tmp_path, landing, PAYMENT_DAY, quiet=False)["path"])
    out, err = capfd.readouterr()
    text = out + err + caplog.text + (folder / "_report.json").read_text() + (folder / "_manifest.json").read_text()
    for secret in (INSZ_1985, INSZ_2000, "An Peeters", "Bert Claes", "BE72735100000116", "BE55735200000244"):
        assert secret not in text


def test_s_mass_change_refuses_the_run_unless_accepted(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    before = ledger(tmp_path)
    no_grounds = {"belrai_screeners": [], "medsoc_scales": [], "facility_stays": [], "vaph_support": []}
    two_members(tmp_path / "landing", D(2026, 11, 21), **no_grounds)
    with pytest.raises(MassChangeError, match="S-MASS-CHANGE: this run would stop 4 of 4 active grants"):
        nightly(tmp_path, landing, D(2026, 11, 21), accept_shrink=tuple(no_grounds))
    assert not (tmp_path / "out" / "nightly" / "2026-11-21").exists() and ledger(tmp_path) == before
    done = nightly(tmp_path, landing, D(2026, 11, 21), accept_shrink=tuple(no_grounds), accept_mass_change=True)
    events = pl.read_parquet(Path(done["path"]) / "ZK100" / "grants.parquet")
    assert set(events["event"]) == {"CANCELLED"}


def test_w_member_missing_holds_the_grant(tmp_path, two_members_after):
    """W-MEMBER-MISSING and S-HOLD: a person with an open grant vanishes from members: held, not stopped."""
    landing = two_members_after(tmp_path, D(2026, 11, 20))
    rows = valid_rows()
    members = [m for m in json.loads(json.dumps(rows["members"], default=str))]
    assert members  # the builder member (ZK100) stays; the second one vanishes
    second_gone = pl.read_parquet(landing / "members" / "delivery_date=2026-11-01" / "part-00000.parquet").filter(
        pl.col("insz") != INSZ_2000
    )
    write_delivery(landing, "members", D(2026, 11, 21), second_gone)
    done = nightly(tmp_path, landing, D(2026, 11, 21), accept_shrink=("members",))
    worklist = pl.read_parquet(Path(done["path"]) / "ZK200" / "worklist.parquet")
    assert set(worklist["code"]) >= {"W-MEMBER-MISSING", "W-HELD"}
    assert pl.read_parquet(Path(done["path"]) / "ZK200" / "grants.parquet").height == 0  # no STOPPED, no CANCELLED
