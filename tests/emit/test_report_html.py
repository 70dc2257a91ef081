"""_report.html (pipelines/emit/report.py): self-contained, counts and codes only, one renderer for
nightly, invoice and fine reports, trend charts as inline SVG; opened in Debian's headless Chromium."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import lxml.html
import polars as pl
import pytest
from PIL import Image

from pipelines.emit.report import (
    TRENDS_COLUMNS,
    chart_svg,
    mass_change_counts,
    per_zorgkas_counts,
    person_counts,
    personal_data,
    report_html,
    run_seconds,
    threshold_warnings,
    trend_row,
)
from tests.helpers import browser

SAMPLE = json.loads((Path(__file__).parent / "report_sample.json").read_text())
INSZ = re.compile(r"(?<!\d)\d{11}(?!\d)")
IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
MONEY = pl.Decimal(12, 2)


def sample_report() -> dict:
    return copy.deepcopy(SAMPLE["report"])


def sample_trends() -> pl.DataFrame:
    return pl.DataFrame(SAMPLE["trends"]).with_columns(pl.col("run_date").str.to_date())


INVOICE_REPORT = {
    "run": {"kind": "invoices", "date": "2027-01-02", "premium_year": 2027, "status": "published"},
    "feeds": {
        "members": {"delivery_date": "2027-01-01", "rows_read": 2016, "rows_valid": 1998, "rows_quarantined": 18}
    },
    "invoices": {
        "issued": 1750,
        "issued_earlier_on_this_date": 0,
        "liable": 1790,
        "liable_already_invoiced_by_other_runs": 0,
        "held": 12,
        "deceased_not_invoiced": 3,
        "per_zorgkas": {
            "ZK100": {"invoices": 900, "reduced": 120, "amount": "51480.00"},
            "ZK200": {"invoices": 850, "reduced": 95, "amount": "49005.00"},
        },
    },
    "warnings": [],
    "timings_seconds": {"ingest members": 0.12, "invoice": 0.4, "publish": 0.3},
}
FINE_REPORT = {
    "run": {"kind": "fines", "date": "2027-10-15", "fine_year": 2027},
    "fines": {
        "candidates": 40,
        "proposed": 38,
        "proposed_earlier": 0,
        "held": 2,
        "per_zorgkas": {"ZK100": {"fines": 38, "amount": "9500.00"}},
    },
    "timings_seconds": {"fine candidates": 0.2},
}


@pytest.fixture(scope="module")
def page() -> str:
    return report_html(sample_report(), sample_trends())


# --- self-contained, counts only --------------------------------------------------------------------


def test_no_reference_to_anything_outside_the_page(page):
    assert not re.search(r"""\b(src|href)\s*=""", page, re.IGNORECASE)
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}  # the SVG namespace


def test_no_insz_name_or_iban_in_the_page(page):
    assert not INSZ.search(page)
    assert not IBAN.search(page)
    assert personal_data(page) == []


@pytest.mark.parametrize(
    "warning",
    ["member 01082041759 has no IBAN", "payee BE87068104824994 refused", "IBAN NL91ABNA0417164300"],
)
def test_a_report_carrying_an_insz_or_iban_is_refused(warning):
    report = sample_report() | {"warnings": [warning]}
    with pytest.raises(ValueError, match="counts only"):
        report_html(report)


def test_the_code_version_may_hold_digits():
    report = sample_report()
    report["run"]["code_version"] = "0.1.0+012345678901"
    assert "code version 0.1.0+012345678901" in report_html(report)


def test_same_report_same_page(page):
    assert report_html(sample_report(), sample_trends()) == page


# --- what the nightly page shows ---------------------------------------------------------------------


def test_the_run_and_its_counts_per_zorgkas(page):
    tree = lxml.html.fromstring(page)
    assert tree.findtext(".//h1") == "Nightly run 2026-11-26"
    facts = dict(
        zip(tree.xpath("//dl[@class='facts']//dt/text()"), tree.xpath("//dl[@class='facts']//dd//text()"), strict=True)
    )
    assert facts["Payment run"] == "yes" and facts["Status"] == "published"
    table = section(tree, "Per zorgkas")
    rows = {
        r.xpath("./th/text()")[0]: [c.text_content() for c in r.xpath("./td|./th")[1:]]
        for r in table.xpath(".//tr")[2:]
    }
    assert rows["ZK100"] == ["25", "494", "25", "€88,360.00", "42"]
    assert rows["Total"] == ["82", "1,457", "82", "€253,400.00", "106"]


def test_work_list_per_code_quarantine_per_feed_and_rule_holds_guards_timings(page):
    tree = lxml.html.fromstring(page)
    work = section(tree, "Work list per code").text_content()
    assert "W-HELD" in work and "W-VOLUNTARY-ARREARS" in work
    quarantine = section(tree, "Quarantine per feed and rule").text_content()
    assert "vaph_support" in quarantine and "R-DUPLICATE" in quarantine and "29.6%" in quarantine
    assert "34 missing, 7 invalid" in quarantine
    assert "97 persons held" in section(tree, "Holds").text_content()
    guards = section(tree, "Guards and warnings").text_content()
    assert "S-MASS-CHANGE" in guards and "1,200" in guards and "6.8% of active; limit 10%" in guards
    assert "facility_stays" in guards and "accepted" in guards
    timings = section(tree, "Timings per step").text_content()
    assert "settle and publish" in timings and "0.9 s" in timings


def test_a_chart_per_trend_each_an_inline_svg(page):
    tree = lxml.html.fromstring(page)
    figures = section(tree, "Trends").xpath(".//figure")
    captions = [f.findtext("figcaption") for f in figures]
    assert captions == ["Active grants", "Payment rows", "Amount paid (EUR)", "Quarantine rate", "Run time"]
    assert [len(f.xpath(".//*[local-name()='svg']")) for f in figures] == [1] * 5
    assert page.count("<svg") == 5
    assert "38 nightly runs, 2026-10-20 to 2026-11-26" in page


def test_codes_carry_their_titles_when_given():
    codes = pl.DataFrame({"code": ["W-HELD"], "title_nl": ["Vastgehouden"], "title_fr": ["Retenu"]})
    page = report_html(sample_report(), codes=codes)
    assert '<abbr title="Vastgehouden / Retenu">W-HELD</abbr>' in page


def test_without_trends_the_page_says_so():
    assert "No earlier runs in the state." in report_html(sample_report(), None)
    fines_only = sample_trends().with_columns(kind=pl.lit("fines"))
    assert "No earlier nightly runs in the state." in report_html(sample_report(), fines_only)


# --- one renderer, three kinds of run -----------------------------------------------------------------


def test_invoice_report_shows_its_counts_and_no_nightly_sections():
    tree = lxml.html.fromstring(report_html(INVOICE_REPORT))
    assert tree.findtext(".//h1") == "Premium invoice run 2027-01-02"
    invoices = section(tree, "Premium invoices").text_content()
    assert "Issued in this run1,750" in invoices and "€100,485.00" in invoices and "215" in invoices
    titles = tree.xpath("//h2/text()")
    assert "Per zorgkas" not in titles and "Decisions" not in titles and "Fine candidates" not in titles
    assert "Premium year" in tree.xpath("//dl[@class='facts']//dt/text()")


def test_fine_report_shows_its_counts():
    tree = lxml.html.fromstring(report_html(FINE_REPORT))
    assert tree.findtext(".//h1") == "Fine-candidate run 2027-10-15"
    assert "Proposed in this run38" in section(tree, "Fine candidates").text_content()
    assert "not given" in tree.xpath("//dl[@class='facts']//dd//text()")  # no status passed


def test_a_report_with_only_its_run_renders():
    page = report_html({"run": {"kind": "nightly", "date": "2026-11-27", "payment_run": False}})
    assert "Nightly run 2026-11-27" in page and "No earlier runs in the state." in page


# --- the pure helpers ------------------------------------------------------------------------------


def test_per_zorgkas_counts():
    events = pl.DataFrame({"zorgkas": ["ZK100", "ZK100", "ZK200"], "event": ["NEW", "STOPPED", "NEW"]})
    worklist = pl.DataFrame({"zorgkas": ["ZK200", "ZK200"], "code": ["W-HELD", "W-HELD"]})
    payments = pl.DataFrame(
        {"zorgkas": ["ZK100", "ZK100", "ZK100"], "end_to_end_id": ["a", "a", "b"], "amount": [Decimal("140.00")] * 3},
        schema_overrides={"amount": MONEY},
    )
    recoveries = pl.DataFrame({"zorgkas": [None], "amount": [Decimal("140.00")]}, schema_overrides={"amount": MONEY})
    counts = per_zorgkas_counts(events, worklist, payments, recoveries, zorgkassen=["ZK100", "ZK200", "ZK300"])
    assert counts == {
        "(none)": {
            "events": {},
            "worklist": {},
            "payments": {"rows": 0, "transactions": 0, "amount": "0.00"},
            "recoveries": {"rows": 1, "amount": "140.00"},
        },
        "ZK100": {
            "events": {"NEW": 1, "STOPPED": 1},
            "worklist": {},
            "payments": {"rows": 3, "transactions": 2, "amount": "420.00"},
            "recoveries": {"rows": 0, "amount": "0.00"},
        },
        "ZK200": {
            "events": {"NEW": 1},
            "worklist": {"W-HELD": 2},
            "payments": {"rows": 0, "transactions": 0, "amount": "0.00"},
            "recoveries": {"rows": 0, "amount": "0.00"},
        },
        "ZK300": {
            "events": {},
            "worklist": {},
            "payments": {"rows": 0, "transactions": 0, "amount": "0.00"},
            "recoveries": {"rows": 0, "amount": "0.00"},
        },
    }
    assert "payments" not in per_zorgkas_counts(events, worklist)["ZK100"]  # not a payment run


MASS_CHANGE = [
    # name                                         active  stopped  new  accepted  outcome
    ("a first run is exempt", 0, 0, 82, False, "exempt"),
    ("stops exactly at 2% of active", 100, 2, 0, False, "passed"),
    ("stops just past 2% of active", 100, 3, 0, False, "refused"),
    ("starts exactly 10% of active", 100, 0, 10, False, "passed"),
    ("starts just past 10% of active", 100, 0, 11, False, "refused"),
    ("past a limit, accepted by the operator", 100, 3, 0, True, "accepted"),
]


@pytest.mark.parametrize("name, active, stopped, new, accepted, outcome", MASS_CHANGE, ids=[c[0] for c in MASS_CHANGE])
def test_mass_change_counts(name, active, stopped, new, accepted, outcome):
    events = pl.DataFrame(
        {"event": ["STOPPED"] * stopped + ["NEW"] * new + ["CONTINUED"] * 5}, schema={"event": pl.String}
    )
    counts = mass_change_counts(events, active, 0.02, 0.10, accepted)
    assert counts == {
        "active_before": active,
        "stopped": stopped,
        "new": new,
        "max_stop_fraction": 0.02,
        "max_new_fraction": 0.10,
        "outcome": outcome,
    }


def test_trend_row_of_a_report_fits_the_trends_frame():
    row = trend_row(sample_report(), active_grants=1282)
    assert row == SAMPLE["trends"][-1] | {
        "run_date": dt.date(2026, 11, 26),
        "quarantine_rate": pytest.approx(144 / 10506),
    } | dict.fromkeys(["applications_open", "applications_overdue", "appeals_open"], 0)  # none in its work lists
    frame = pl.DataFrame([row], schema=TRENDS_COLUMNS)
    assert frame.height == 1
    not_paying = sample_report() | {"run": {"kind": "nightly", "date": "2026-11-27", "payment_run": False}}
    assert trend_row(not_paying)["payment_rows"] is None


def test_chart_of_one_point_or_flat_values_draws():
    one = chart_svg([(dt.date(2026, 11, 26), 5.0)], "one", "line")
    flat = chart_svg([(dt.date(2026, 11, 25), 0.0), (dt.date(2026, 11, 26), 0.0)], "flat", "bar")
    for svg in (one, flat):
        assert svg.startswith("<svg") and svg.endswith("</svg>") and "nan" not in svg
        lxml.html.fromstring(svg)


# --- in a real browser ------------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    browser.chromium() is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
)


@needs_chromium
def test_chromium_renders_the_page_with_its_charts_and_no_console_message(page, tmp_path):
    html = tmp_path / "_report.html"
    html.write_text(page, encoding="utf-8")
    png = tmp_path / "report.png"
    assert browser.screenshot(html, png) == []
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 2000)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50  # not blank: text, tables and charts
    counts = {colour: n for n, colour in colours}
    assert counts.get((0x1F, 0x5F, 0xA8), 0) > 500  # the charts' and bars' blue is painted
    assert counts.get((0xD9, 0x82, 0x2B), 0) > 20  # this run's point, in orange
    dom, messages = browser.dump_dom(html)
    assert messages == []
    tree = lxml.html.fromstring(dom)
    assert len(tree.xpath("//figure//*[local-name()='svg']")) == 5
    assert len(tree.xpath("//*[local-name()='svg']//*[local-name()='polyline']")) == 3
    assert tree.findtext(".//h1") == "Nightly run 2026-11-26"


@needs_chromium
def test_the_console_check_sees_an_error(tmp_path):
    """The check above is not vacuous: a page with a failing script shows its console messages."""
    html = tmp_path / "bad.html"
    html.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom'); missing();</script>")
    _, messages = browser.dump_dom(html)
    assert any("boom" in m for m in messages) and any("missing is not defined" in m for m in messages)


def section(tree, title: str):
    """The <section> whose <h2> is `title`."""
    found = tree.xpath(f"//section[h2[normalize-space(.)='{title}']]")
    assert found, f"no section {title!r}"
    return found[0]


# --- what each figure counts, the run time once, warnings above thresholds (issue 22) ----------------------------


def nested_report() -> dict:
    """A night whose step timings nest as the nightly run's do: "letters render" is part of "files", "letters" spans
    decide, settle and files."""
    report = copy.deepcopy(sample_report())
    report["timings_seconds"] = {
        "ingest members": 0.5, "decide": 1.0, "settle": 0.5, "files": 4.0, "letters render": 3.0, "letters": 3.2,
    }  # fmt: skip
    report["decisions"] = {"persons_entitled": 98, "persons_decided": 112, "months_entitled": 1708}
    report["feeds"] = {
        "vaph_support": {"rows_read": 81, "rows_valid": 57, "rows_quarantined": 24},
        "members": {"rows_read": 2017, "rows_valid": 1999, "rows_quarantined": 18},
    }
    report["holds"] = {"persons": 97, "by_rule": {"R-NULL": 97}}
    report["warnings"] = threshold_warnings(report["feeds"], 97, 2017, 0.05, 0.01)
    report["wall_seconds"] = 7.4  # the steps and the time between them
    return report


def test_the_run_time_counts_each_step_once():
    timings = nested_report()["timings_seconds"]
    assert run_seconds(timings) == 6.0  # not 12.2: the letters are inside decide, settle and files
    assert trend_row(nested_report())["seconds"] == 6.0


THRESHOLDS = [
    # name                                        quarantined  read  held  members  warnings
    ("a feed exactly at 5% quarantined",          5,           100,  0,    1000,    0),
    ("a feed just above 5% quarantined",          6,           100,  0,    1000,    1),
    ("held exactly 1% of the members",            0,           100,  10,   1000,    0),
    ("held just above 1%",                        0,           100,  11,   1000,    1),
    ("both",                                      30,          100,  50,   1000,    2),
    ("no rows read, no members",                  0,           0,    0,    0,       0),
]  # fmt: skip


@pytest.mark.parametrize("name, quarantined, read, held, members, expected", THRESHOLDS, ids=[t[0] for t in THRESHOLDS])
def test_warnings_above_the_thresholds(name, quarantined, read, held, members, expected):
    feeds = {"medsoc_scales": {"rows_read": read, "rows_quarantined": quarantined}}
    found = threshold_warnings(feeds, held, members, 0.05, 0.01)
    assert len(found) == expected
    assert not any(personal_data(w) for w in found)


def test_person_counts_name_what_they_count():
    periods = pl.DataFrame(
        {"insz": ["A", "A", "B", "C"], "entitled": [True, False, False, False]},
        schema_overrides={"entitled": pl.Boolean},
    )
    assert person_counts(periods) == {"persons_entitled": 1, "persons_decided": 3}


@needs_chromium
def test_chromium_shows_the_wall_time_the_steps_once_each_figure_by_its_name_and_the_warnings(tmp_path):
    html = tmp_path / "_report.html"
    html.write_text(report_html(nested_report(), sample_trends()), encoding="utf-8")
    dom, messages = browser.dump_dom(html)
    assert messages == []
    tree = lxml.html.fromstring(dom)
    tiles = {
        t.findtext(".//div[@class='label']"): t.findtext(".//div[@class='value']")
        for t in tree.xpath("//div[@class='tile']")
    }
    assert tiles["Wall time"] == "7.4 s" and tiles["Steps, each once"] == "6.0 s"  # (not 12.2 s: nested steps)
    assert "Run time" not in tiles
    assert tiles["Persons with an entitled month"] == "98"
    assert "Persons with a right" not in dom
    decisions = section(tree, "Decisions").text_content()
    assert "Persons decided (any period: entitled, not entitled or pending)" in decisions and "112" in decisions
    timings = section(tree, "Timings per step").text_content()
    flat = " ".join(timings.split())
    assert "The steps, each once6.0 s" in flat
    assert "Wall time, from the run's start to this report (the steps and the time between them)7.4 s" in flat
    assert "letters render (part of files)" in " ".join(timings.split())
    warnings = [li.text_content() for li in tree.xpath("//ul[@class='warnings']/li")]
    assert any("feed vaph_support: 24 of 81 rows quarantined (29.6%)" in w for w in warnings)
    assert any("97 persons held (S-HOLD), 4.8% of 2,017 members" in w for w in warnings)
    assert "No warnings." not in dom
