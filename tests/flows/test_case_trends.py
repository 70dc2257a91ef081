"""The trend of applications and appeals (issue 21 point 5; docs/spec/outputs.md, run report): each night's open
applications, those past their legal term and open appeals kept in `run_trends` in the run's own transaction, a
state from before the columns opened and carried on, and `vsb rebuild-state` filling them from `_report.json`."""

from __future__ import annotations

import datetime as dt
import json

import lxml.html

from flows.state.rebuild import add_run, rebuild_state
from flows.state.state import State
from flows.state.store import connect, open_state, transaction
from flows.state.trends import TABLE, earlier_trends, record_trend
from tests.emit.test_report_html import section
from tests.flows.test_cases_nights import landing_over_nights
from tests.helpers.runs import nightly

D = dt.date
CASES = "applications_open, applications_overdue, appeals_open"


def trends_rows(state) -> list[tuple]:
    with connect(str(state), read_only=True) as con:
        return con.sql(
            f"SELECT kind, run_key, run_date, active_grants, {CASES} FROM run_trends ORDER BY ALL"
        ).fetchall()


def test_a_state_from_before_the_case_columns_opens_and_keeps_its_rows(tmp_path):
    older = tmp_path / "older.duckdb"
    with connect(older) as con:  # a state as vsb wrote it before issue 21: its run_trends without the case columns
        con.execute("CREATE TABLE runs (kind VARCHAR, run_key VARCHAR, folder VARCHAR, manifest_sha256 VARCHAR)")
        con.execute("CREATE TABLE vsb_state (schema_version INTEGER NOT NULL); INSERT INTO vsb_state VALUES (1)")
        con.execute(TABLE)
        con.execute(
            "INSERT INTO run_trends VALUES ('nightly', '2026-11-25', DATE '2026-11-25', 1159, 0, NULL, 0.01, 1)"
        )
    with open_state(older) as con, transaction(con):
        row = {"run_date": D(2026, 11, 26), "active_grants": 1282, "applications_open": 6}
        record_trend(con, "nightly", "2026-11-26", row | {"applications_overdue": 3, "appeals_open": 1})
        frame = earlier_trends(con, "nightly", "-", D(2026, 11, 30))
    assert frame.select("run_date", "applications_open", "applications_overdue", "appeals_open").rows() == [
        (D(2026, 11, 25), None, None, None),  # from before: unknown, not zero
        (D(2026, 11, 26), 6, 3, 1),
    ]
    with open_state(older):  # opened again: nothing to add
        pass
    assert trends_rows(older)[-1] == ("nightly", "2026-11-26", D(2026, 11, 26), 1282, 6, 3, 1)


def test_rebuild_fills_the_case_columns_from_the_report(tmp_path):
    folder = tmp_path / "out" / "nightly" / "2026-11-26"
    folder.mkdir(parents=True)
    worklist = {"W-APPLICATION-OPEN": 2, "W-APPLICATION-OVERDUE": 1, "W-APPEAL-OPEN": 4, "W-HELD": 9}
    report = {
        "run": {"kind": "nightly", "date": "2026-11-26", "payment_run": False},
        "grants": {"active_after": 12},
        "per_zorgkas": {"ZK100": {"worklist": worklist}, "ZK200": {"worklist": {"W-APPLICATION-OVERDUE": 2}}},
    }
    (folder / "_report.json").write_text(json.dumps(report))
    info = {"kind": "nightly", "run_key": "2026-11-26", "run_date": "2026-11-26", "seq": 1, "payment_run": False}
    with State.open(tmp_path / "vsb.duckdb", "rebuild-state", "test") as state, state.transaction():
        add_run(state, tmp_path / "out", info, "nightly/2026-11-26", "0" * 64)
    assert trends_rows(tmp_path / "vsb.duckdb") == [("nightly", "2026-11-26", D(2026, 11, 26), 12, 5, 3, 4)]


def test_nights_keep_their_case_totals_drawn_in_the_next_report_and_rebuilt_alike(tmp_path):
    """The application received 2026-08-01 and the appeal of 2026-10-30 come in the delivery of 2026-11-01."""
    landing = landing_over_nights(tmp_path)
    for day in (D(2026, 10, 26), D(2026, 11, 26)):
        nightly(tmp_path, landing, day, accept_mass_change=True)
    kept = trends_rows(tmp_path / "state" / "vsb.duckdb")
    assert [row[4:] for row in kept] == [(0, 0, 0), (1, 1, 1)]  # open and past its term on 11-26; the appeal open
    page = lxml.html.fromstring((tmp_path / "out" / "nightly" / "2026-11-26" / "_report.html").read_bytes())
    figure = section(page, "Trends").xpath(".//figure[figcaption='Applications and appeals open']")
    assert len(figure) == 1 and len(figure[0].xpath(".//*[local-name()='polyline']")) == 3

    assert rebuild_state(tmp_path / "out", tmp_path / "rebuilt.duckdb")["runs"] == 2
    assert trends_rows(tmp_path / "rebuilt.duckdb") == kept
