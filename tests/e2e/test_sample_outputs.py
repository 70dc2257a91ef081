"""The sample night's outbox as zorgkas staff and operators open it (docs/spec/outputs.md): per zorgkas quarantine.parquet
(its held members' quarantined rows) and overview.xlsx (a typed sheet per file, the codes in NL and FR), work
lists with the titles of their codes, and _report.html, opened in Debian's headless Chromium, with the
per-zorgkas counts, the guards and the trends of the nights before.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from flows.io.overview import readers_words
from pipelines.emit.report import personal_data
from tests.helpers import browser

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "data" / "sample" / "landing"
CODES = ["ZK100", "ZK200", "ZK300", "ZK400", "ZK500", "ZK600"]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def outbox(tmp_path_factory):
    """The sample's payment night of 2026-11-26 and the two nights after it."""
    from flows.nightly import run_backfill

    tmp = tmp_path_factory.mktemp("sample")
    run_backfill(
        first=dt.date(2026, 11, 26), last=dt.date(2026, 11, 28), landing=LANDING, outbox=tmp / "out",
        state=tmp / "state" / "vsb.duckdb", quiet=True,
    )  # fmt: skip
    return tmp / "out" / "nightly"


def test_every_zorgkas_folder_has_its_quarantine_and_overview(outbox):
    for code in CODES:
        names = {p.name for p in (outbox / "2026-11-26" / code).iterdir()}
        assert {"quarantine.parquet", "overview.xlsx", "worklist.parquet", "worklist.csv"} <= names
        manifest = json.loads((outbox / "2026-11-26" / code / "manifest.json").read_text())
        assert {"quarantine.parquet", "overview.xlsx"} <= {f["name"] for f in manifest["files"]}


def test_a_zorgkas_quarantine_holds_the_rows_behind_its_w_held_work(outbox):
    night = outbox / "2026-11-26"
    everything = pl.concat([pl.read_parquet(p) for p in sorted((night / "quarantine").glob("*.parquet"))])
    total = 0
    for code in CODES:
        mine = pl.read_parquet(night / code / "quarantine.parquet")
        held = pl.read_parquet(night / code / "worklist.parquet").filter(pl.col("code") == "W-HELD")
        assert set(mine["insz"]) == set(held["insz"])  # every held member's rows, no one else's
        assert (mine["insz"] == mine["row"].str.json_path_match("$.insz")).all()
        assert mine.drop("insz").join(everything, on=everything.columns, how="anti").height == 0  # the same rows
        total += mine.height
    # the rows of an invalid insz, or of no zorgkas's member, stay only in the run's quarantine
    assert 0 < total < everything.height
    assert everything.filter(pl.col("rule") == "R-ID").join(
        pl.concat([pl.read_parquet(night / c / "quarantine.parquet") for c in CODES]).drop("insz"),
        on=everything.columns, how="semi",
    ).height == 0  # fmt: skip
    assert everything["row_number"].min() == 1  # a file's first row is row 1


def test_the_work_list_carries_the_title_of_its_code_in_dutch_and_french(outbox):
    worklist = pl.read_parquet(outbox / "2026-11-26" / "ZK100" / "worklist.parquet")
    held = worklist.filter(pl.col("code") == "W-HELD").row(0, named=True)
    assert held["title_nl"] == "Brongegevens verbeteren: dossier in de wacht"
    assert held["title_fr"] == "Corriger les données sources : dossier en attente"
    header = (outbox / "2026-11-26" / "ZK100" / "worklist.csv").read_text().splitlines()[0]
    assert header == "insz,zorgkas,code,since,detail,evidence,due,title_nl,title_fr"


def test_overview_xlsx_is_the_same_rows_typed_for_people(outbox):
    folder = outbox / "2026-11-26" / "ZK100"
    book = openpyxl.load_workbook(folder / "overview.xlsx")
    assert book.sheetnames == ["grants", "worklist", "payments", "quarantine", "letters", "codes"]
    headers, _ = readers_words("NL")  # ZK100's staff read Dutch (data/reference/zorgkassen.csv)
    for sheet in book.sheetnames[:-1]:
        frame = pl.read_parquet(folder / f"{sheet}.parquet")
        rows = list(book[sheet].iter_rows(values_only=True))
        assert rows[0] == tuple(headers.get(c, c) for c in frame.columns) and len(rows) == frame.height + 1
        assert [r[0] for r in rows[1:]] == frame.get_column(frame.columns[0]).to_list()  # insz with its zeros
    assert book["payments"]["B2"].data_type == "s" and book["payments"]["G2"].number_format == "#,##0.00"
    codes = {r[0]: r for r in book["codes"].iter_rows(min_row=2, values_only=True)}
    assert {"W-HELD", "R-ENUM", "G-BELRAI"} <= set(codes)
    assert all(r[1] and r[2] and r[3] and r[4] for r in codes.values())  # NL and FR title and explanation


def test_overview_xlsx_is_byte_identical_in_a_rerun(outbox, tmp_path):
    from flows.nightly import run_nightly

    again = run_nightly(
        as_of=dt.date(2026, 11, 26), landing=LANDING, outbox=tmp_path / "out", state=tmp_path / "s.duckdb", quiet=True
    )
    for code in CODES:
        first = (outbox / "2026-11-26" / code / "overview.xlsx").read_bytes()
        assert (Path(again["path"]) / code / "overview.xlsx").read_bytes() == first


def test_the_report_has_the_counts_per_zorgkas_the_guards_and_the_trends(outbox):
    report = json.loads((outbox / "2026-11-28" / "_report.json").read_text())
    assert list(report["per_zorgkas"]) == CODES
    zorgkas = report["per_zorgkas"]["ZK100"]
    assert {"events", "worklist", "quarantine", "letters"} <= set(zorgkas)
    letters = outbox / "2026-11-28" / "ZK100" / "letters.parquet"
    assert zorgkas["letters"] == (pl.read_parquet(letters).height if letters.exists() else 0)
    assert report["guards"]["mass_change"]["outcome"] == "passed" and report["guards"]["shrink"] == []
    paid = json.loads((outbox / "2026-11-26" / "_report.json").read_text())["per_zorgkas"]["ZK100"]["payments"]
    assert paid["rows"] > 0 and paid["transactions"] > 0 and float(paid["amount"]) > 0


def test_report_html_opens_in_chromium_with_three_nights_of_trends(outbox, tmp_path):
    if browser.chromium() is None:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    page = outbox / "2026-11-28" / "_report.html"
    text = page.read_text()
    assert personal_data(text.replace(json.loads((outbox / "2026-11-28" / "_report.json").read_text())["run"][
        "code_version"], "")) == []  # fmt: skip
    assert "3 nightly runs, 2026-11-26 to 2026-11-28" in text
    assert "<figcaption>Applications and appeals open</figcaption>" in text  # the sample has open cases (S15-S26)
    dom, messages = browser.dump_dom(page)
    assert messages == [] and dom.count("<svg") >= 3 and "Per zorgkas" in dom
    assert browser.screenshot(page, tmp_path / "report.png") == []
