"""Applications and appeals for operators (docs/spec/outputs.md, run report and Prefect; rules.md §10): _report.html
shows open applications, those past their legal term and open appeals per zorgkas; the Prefect summary and table
artifacts count them."""

from __future__ import annotations

import lxml.html

from pipelines.emit.report import case_counts, report_html
from pipelines.emit.summary import key_figures, zorgkas_table
from tests.emit.test_report_html import sample_report, section

WORK = {
    "ZK100": {"W-APPLICATION-OPEN": 3, "W-APPLICATION-OVERDUE": 2, "W-APPEAL-OPEN": 1, "W-HELD": 4},
    "ZK200": {"W-APPLICATION-OVERDUE": 1},
    "ZK300": {"W-IBAN-MISSING": 5},
}


def report() -> dict:
    found = sample_report()
    found["per_zorgkas"] = {code: {"events": {"NEW": 1}, "worklist": work} for code, work in WORK.items()}
    return found


def test_case_counts_an_overdue_application_is_open_and_past_its_term():
    assert case_counts(WORK["ZK100"]) == {"applications_open": 5, "applications_overdue": 2, "appeals_open": 1}
    assert case_counts({}) == {"applications_open": 0, "applications_overdue": 0, "appeals_open": 0}


def test_report_shows_applications_and_appeals_per_zorgkas():
    tree = lxml.html.fromstring(report_html(report()))
    rows = section(tree, "Applications and appeals").xpath(".//tr")
    cells = [[c.text_content().strip() for c in r.xpath("./th|./td")] for r in rows]
    assert cells[1:] == [
        ["ZK100", "5", "2", "1"],
        ["ZK200", "1", "1", "0"],
        ["ZK300", "0", "0", "0"],
        ["Total", "6", "3", "1"],
    ]
    assert "W-APPLICATION-OVERDUE" in cells[0][2] and "W-APPEAL-OPEN" in cells[0][3]


def test_summary_and_table_artifacts_count_them():
    figures = dict(key_figures(report()))
    assert (figures["Applications open"], figures["Applications past their legal term"]) == ("6", "3")
    assert figures["Appeals open"] == "1"
    table = {row["zorgkas"]: row for row in zorgkas_table(report())}
    assert (table["ZK100"]["applications open"], table["ZK100"]["past their term"], table["ZK100"]["appeals open"]) == (
        5,
        2,
        1,
    )
