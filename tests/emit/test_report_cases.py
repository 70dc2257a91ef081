"""Applications and appeals for operators (docs/spec/outputs.md, run report and Prefect; rules.md §10): _report.html
shows open applications, those past their legal term and open appeals per zorgkas; the Prefect summary and table
artifacts count them."""

from __future__ import annotations

import datetime as dt

import lxml.html
import polars as pl

from pipelines.emit.report import CASE_COUNTS, TRENDS_COLUMNS, case_counts, personal_data, report_html, trend_row
from pipelines.emit.summary import key_figures, zorgkas_table
from tests.emit.test_report_html import sample_report, section

D = dt.date
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
    # ZK200's overdue application is open too: the column names M-APPLICATION, not the within-term W-APPLICATION-OPEN
    assert "M-APPLICATION" in cells[0][1] and "W-APPLICATION-OPEN" not in cells[0][1]


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


# --- the trend of the nights (issue 21 point 5: "a chart over the trends too") ---------------------------------------


def case_trends() -> pl.DataFrame:
    """Three earlier nights, the first from before the state kept the case counts (null), and this run's row."""
    rows = [
        {"run_date": D(2026, 11, 23), "kind": "nightly", "active_grants": 1100},
        {"run_date": D(2026, 11, 24), "kind": "nightly", "active_grants": 1120, **cases(4, 0, 0)},
        {"run_date": D(2026, 11, 25), "kind": "nightly", "active_grants": 1159, **cases(5, 1, 2)},
        trend_row(report(), active_grants=1282),
    ]
    return pl.DataFrame(rows, schema=TRENDS_COLUMNS)


def cases(open_: int, overdue: int, appeals: int) -> dict:
    return {"applications_open": open_, "applications_overdue": overdue, "appeals_open": appeals}


def test_the_run_trend_row_carries_its_case_totals_a_premium_run_none():
    assert {k: trend_row(report())[k] for k in CASE_COUNTS} == cases(6, 3, 1)
    invoices = {"run": {"kind": "invoices", "date": "2027-01-02"}, "invoices": {"issued": 3}}
    assert {k: trend_row(invoices)[k] for k in CASE_COUNTS} == dict.fromkeys(CASE_COUNTS)


def test_a_chart_of_open_applications_overdue_ones_and_open_appeals_over_the_nights():
    page = report_html(report(), case_trends())
    tree = lxml.html.fromstring(page)
    figure = section(tree, "Trends").xpath(".//figure[figcaption='Applications and appeals open']")
    assert len(figure) == 1
    svg = figure[0].xpath(".//*[local-name()='svg']")
    lines = svg[0].xpath(".//*[local-name()='polyline']")
    assert len(lines) == 3  # one a total, each over the three nights that have them (not the one from before)
    assert [len(line.get("points").split()) for line in lines] == [3, 3, 3]
    tips = [t.text for t in svg[0].xpath(".//*[local-name()='circle']/*[local-name()='title']")]
    assert "2026-11-25: Applications open 5" in tips and "2026-11-26: Applications open 6" in tips
    assert "2026-11-26: Applications past their legal term 3" in tips and "2026-11-26: Appeals open 1" in tips
    legend = figure[0].xpath(".//div[@class='legend']")[0].text_content()
    assert "Applications open" in legend and "Appeals open" in legend
    assert personal_data(page) == []


def test_no_cases_chart_without_case_counts_in_the_trends():
    """A state from before the counts (every row null), or trends without the columns: the other charts only."""
    older = case_trends().with_columns(pl.lit(None, pl.Int64).alias(c) for c in CASE_COUNTS)
    for trends in (older, older.drop(*CASE_COUNTS)):
        figures = section(lxml.html.fromstring(report_html(report(), trends)), "Trends").xpath(".//figure")
        assert [f.findtext("figcaption") for f in figures] == [
            "Active grants",
            "Payment rows",
            "Quarantine rate",
            "Run time",
        ]
