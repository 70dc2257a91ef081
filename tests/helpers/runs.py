"""Nightly runs on a small landing, as the flow tests make them (tests/flows/)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flows.state.store import connect
from tests.helpers.builders import INSZ_2000, valid_rows, write_landing

D = dt.date
PAYMENT_DAY = D(2026, 11, 26)
NOVEMBER = D(2026, 11, 1)


def two_members(landing: Path, delivery: dt.date = NOVEMBER, **changes) -> Path:
    """The builder's member (ZK100) and a second one (ZK200), each with a care-need ground and a BOB."""
    rows = valid_rows()
    second = {feed: [r | {"insz": INSZ_2000} for r in feed_rows] for feed, feed_rows in rows.items()}
    second["members"] = [
        rows["members"][0]
        | {
            "insz": INSZ_2000,
            "zorgkas": "ZK200",
            "name": "Bert Claes",
            "birth_date": D(2000, 12, 5),
            "affiliation_start": D(2018, 12, 5),
            "iban": "BE55735200000244",
        }
    ]
    for feed, key in (
        ("belrai_screeners", "assessment_id"),
        ("medsoc_scales", "decision_id"),
        ("facility_stays", "stay_id"),
        ("vaph_support", "record_id"),
    ):
        second[feed] = [r | {key: r[key] + "-2"} for r in second[feed]]
    second["premium_payments"] = []
    merged = {feed: rows[feed] + second[feed] for feed in rows}
    for feed, feed_rows in changes.items():
        merged[feed] = feed_rows
    return write_landing(landing, delivery, merged)


def nightly(tmp: Path, landing: Path, day: dt.date, **kw) -> dict:
    from flows.nightly import run_nightly

    kw.setdefault("quiet", True)
    return run_nightly(as_of=day, landing=landing, outbox=tmp / "out", state=tmp / "state" / "vsb.duckdb", **kw)


def ledger(tmp: Path) -> list[tuple]:
    con = connect(str(tmp / "state" / "vsb.duckdb"), read_only=True)
    try:
        return con.sql("SELECT insz, budget, month, amount, run_key FROM payment_ledger ORDER BY ALL").fetchall()
    finally:
        con.close()


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file of a published outbox except the reports (their timings)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ("_report.json", "_report.html")
    }


class PreparedNights:
    """The two members' landing (`two_members`) with the nights of `days` run on it, made once per pytest-xdist
    worker (the session fixture `two_members_after`, tests/conftest.py) and copied into each test that asks: the
    landing, outbox and state a test would otherwise make with the same nights, for the price of a copy."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[dt.date, ...], Path] = {}

    def __call__(self, tmp: Path, *days: dt.date) -> Path:
        """Copies landing/, out/ and state/ after `days` into `tmp`; returns the copy's landing."""
        import shutil

        if days not in self.made:
            work = self.folder / ("nights-" + "-".join(d.isoformat() for d in days))
            landing = two_members(work / "landing")
            for day in days:
                nightly(work, landing, day)
            self.made[days] = work
        for name in ("landing", "out", "state"):
            shutil.copytree(self.made[days] / name, tmp / name, symlinks=True)
        return tmp / "landing"
