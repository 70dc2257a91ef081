"""overview.xlsx (pipelines/emit/overview.py): typed cells, frozen header, autofilter, the codes sheet,
splitting beyond a sheet's rows, and byte identity. The workbook is read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import polars as pl
import pytest

from pipelines.emit import xlsx
from pipelines.emit.overview import (
    CODES_COLUMNS,
    DATE_FORMAT,
    MAX_WIDTH,
    MONEY_FORMAT,
    codes_in,
    overview_xlsx,
)

MONEY = pl.Decimal(12, 2)


def grants() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "insz": ["01082041759", "85073003328"],
            "zorgkas": ["ZK100", "ZK100"],
            "budget": ["ZZB", "BOB"],
            "event": ["NEW", "STOPPED"],
            "first_month": [dt.date(2024, 12, 1), dt.date(2026, 1, 1)],
            "last_month": [None, dt.date(2026, 10, 1)],
            "monthly_amount": [Decimal("140.00"), Decimal("1234.56")],
            "grounds": [["G-BELRAI"], ["G-BOB", "E-WAITING"]],
            "evidence": [["belrai_screeners:BR000000044"], []],
            "decided_on": [dt.date(2026, 11, 26)] * 2,
        },
        schema_overrides={"monthly_amount": MONEY},
    )


def worklist() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "insz": ["02431206049", "09122648408"],
            "zorgkas": ["ZK100", "ZK100"],
            "code": ["W-HELD", "W-APPLY-SPECIAL"],
            "since": [dt.date(2026, 11, 26), dt.date(2026, 3, 1)],
            "detail": ["held: R-ENUM in residence_periods, X-UNKNOWN-WORD in text", '=HYPERLINK("x")'],
            "evidence": [[], ["medsoc_scales:MS000000027"]],
        }
    )


def recoveries_empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "insz": pl.String,
            "zorgkas": pl.String,
            "budget": pl.String,
            "month": pl.Date,
            "amount": MONEY,
            "paid_on": pl.Date,
            "reason": pl.List(pl.String),
        }
    )


CODES = pl.DataFrame(
    [
        (
            "G-BELRAI",
            "Zwaar zorgbehoevend (BelRAI)",
            "Een erkende dienst stelde ...",
            "Besoin de soins (BelRAI)",
            "Un service agréé ...",
        ),
        ("G-BOB", "Budget voor ondersteuning", "VAPH ...", "Budget de soutien", "VAPH ..."),
        (
            "R-ENUM",
            "Ongeldige waarde",
            "De waarde staat niet in de lijst.",
            "Valeur invalide",
            "La valeur n'est pas dans la liste.",
        ),
        (
            "W-HELD",
            "Vastgehouden",
            "Een rij van deze persoon staat in quarantaine.\nGeen beslissing.",
            "Retenu",
            "Une ligne est en quarantaine.",
        ),
        ("W-APPLY-SPECIAL", "Aanvraag nodig", "...", "Demande nécessaire", "..."),
        ("L-APPEAL", "Beroep", "Komt in deze sheets niet voor", "Recours", "..."),
    ],
    schema=list(CODES_COLUMNS),
    orient="row",
)


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture(scope="module")
def book() -> openpyxl.Workbook:
    sheets = {"grants": grants(), "worklist": worklist(), "recoveries": recoveries_empty()}
    return workbook(overview_xlsx(sheets, CODES, created=dt.date(2026, 11, 26)))


def test_sheets_in_the_order_given_then_codes(book):
    assert book.sheetnames == ["grants", "worklist", "recoveries", "codes"]


def test_insz_is_text_with_its_leading_zero(book):
    cell = book["grants"]["A2"]
    assert cell.value == "01082041759"
    assert cell.data_type == "s"
    assert cell.number_format == "@"


def test_dates_are_excel_dates_with_a_date_format_and_months_show_as_months(book):
    cell = book["grants"]["E2"]  # first_month: a month, shown as 2024-12
    assert cell.is_date and cell.value == dt.datetime(2024, 12, 1)
    assert cell.number_format == "yyyy-mm"
    assert book["grants"]["J2"].number_format == DATE_FORMAT  # decided_on: a day
    assert book["grants"]["F2"].value is None  # an open grant: no last month
    assert book["grants"]["F3"].value == dt.datetime(2026, 10, 1)


def test_money_is_a_number_with_two_decimals(book):
    cell = book["grants"]["G3"]
    assert cell.data_type == "n" and cell.value == pytest.approx(1234.56)
    assert cell.number_format in ("0.00", "#,##0.00") and cell.number_format == MONEY_FORMAT


def test_lists_are_joined_and_empty_lists_are_empty_cells(book):
    assert book["grants"]["H3"].value == "G-BOB; E-WAITING"
    assert book["grants"]["I3"].value is None


def test_text_that_looks_like_a_formula_stays_text(book):
    cell = book["worklist"]["E3"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("x")'


def test_header_row_is_frozen_and_filtered(book):
    for name in ("grants", "worklist", "codes"):
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert sheet["A1"].font.b
    assert rows(book["grants"])[0] == tuple(grants().columns)


def test_an_empty_frame_is_a_sheet_with_its_header_only(book):
    sheet = book["recoveries"]
    assert rows(sheet) == [tuple(recoveries_empty().columns)]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:G1"


def test_column_widths_follow_the_data_within_limits(book):
    widths = {k: v.width for k, v in book["grants"].column_dimensions.items()}
    assert widths["A"] >= len("01082041759") and widths["I"] >= len("belrai_screeners:BR000000044")
    long = pl.DataFrame({"detail": ["x" * 500], "n": [1]})
    sheet = workbook(overview_xlsx({"long": long}, CODES))["long"]
    assert sheet.column_dimensions["A"].width <= MAX_WIDTH + 1  # openpyxl reads the width with its padding
    assert sheet["A2"].value == "x" * 500  # the width is capped, never the value


def test_codes_sheet_explains_every_code_that_appears_in_nl_and_fr(book):
    header, *body = rows(book["codes"])
    assert header == (*CODES_COLUMNS, "sheets")
    by_code = {r[0]: r for r in body}
    # grounds (list column), code column, and a known code in the detail text; sorted by code
    assert list(by_code) == ["E-WAITING", "G-BELRAI", "G-BOB", "R-ENUM", "W-APPLY-SPECIAL", "W-HELD"]
    assert by_code["W-HELD"][1:5] == (
        "Vastgehouden",
        "Een rij van deze persoon staat in quarantaine.\nGeen beslissing.",
        "Retenu",
        "Une ligne est en quarantaine.",
    )
    assert by_code["R-ENUM"][5] == "worklist"
    assert by_code["E-WAITING"][1:5] == (None, None, None, None)  # appears, but no text: shown empty
    assert "L-APPEAL" not in by_code and "X-UNKNOWN-WORD" not in by_code
    assert book["codes"]["C2"].alignment.wrap_text


def test_codes_in_lists_the_sheets_where_a_code_appears():
    sheets = {"a": pl.DataFrame({"rule": ["R-ID", "R-ID"]}), "b": pl.DataFrame({"rules": [["R-NULL", "R-ID"]]})}
    found = codes_in(sheets)
    assert found.to_dicts() == [{"code": "R-ID", "sheets": ["a", "b"]}, {"code": "R-NULL", "sheets": ["b"]}]
    assert codes_in({"x": pl.DataFrame({"insz": ["1"]})}).height == 0


def test_same_input_same_bytes_and_the_creation_date_is_the_run_date():
    sheets = {"grants": grants(), "worklist": worklist()}
    first = overview_xlsx(sheets, CODES, created=dt.date(2026, 11, 26))
    assert overview_xlsx(sheets, CODES, created=dt.date(2026, 11, 26)) == first
    assert overview_xlsx(sheets, CODES, created=dt.date(2026, 11, 27)) != first
    with zipfile.ZipFile(io.BytesIO(first)) as package:
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
    assert "2026-11-26T00:00:00Z" in core
    assert workbook(overview_xlsx(sheets, CODES)).properties.created == dt.datetime(2000, 1, 1)


def test_a_sheet_written_in_slices_holds_every_row_in_order(monkeypatch):
    """pipelines/emit/xlsx.py makes a sheet's XML a slice of rows at a time: the slices join seamlessly."""
    sheets = {"grants": grants(), "worklist": worklist(), "recoveries": recoveries_empty()}
    whole = overview_xlsx(sheets, CODES)
    monkeypatch.setattr(xlsx, "SLICE_ROWS", 1)
    sliced = overview_xlsx(sheets, CODES)
    assert sliced == whole
    many = pl.DataFrame({"insz": [f"{i:011d}" for i in range(25)], "n": list(range(25))})
    monkeypatch.setattr(xlsx, "SLICE_ROWS", 7)
    assert rows(workbook(overview_xlsx({"many": many}, CODES))["many"])[1:] == list(many.iter_rows())


def test_text_that_xml_cannot_carry_as_is_is_made_safe():
    texts = ["a & b <c> d", " lead", "trail ", "_x0041_", "line\r\nbreak", "bell\x07", "", None]
    sheet = workbook(overview_xlsx({"t": pl.DataFrame({"detail": texts})}, CODES))["t"]
    # Excel shows "_x005F_x0041_" as the literal _x0041_ (its own escape); openpyxl does not unescape it
    assert [r[0] for r in rows(sheet)[1:]] == [
        "a & b <c> d",
        " lead",
        "trail ",
        "_x005F_x0041_",
        "line\r\nbreak",
        "bell\ufffd",
        None,
        None,
    ]


def test_a_non_finite_number_is_an_error_cell():
    sheet = workbook(overview_xlsx({"n": pl.DataFrame({"score": [1.5, float("inf"), None]})}, CODES))["n"]
    assert [r[0] for r in rows(sheet)[1:]] == [1.5, "#NUM!", None]


def test_a_frame_longer_than_a_sheet_continues_on_numbered_sheets():
    payments = pl.DataFrame(
        {"insz": [f"{i:011d}" for i in range(7)], "amount": [Decimal("140.00")] * 7}, schema_overrides={"amount": MONEY}
    )
    book = workbook(overview_xlsx({"payments": payments}, CODES, max_rows_per_sheet=3))
    assert book.sheetnames == ["payments", "payments (2)", "payments (3)", "codes"]
    parts = [rows(book[n]) for n in book.sheetnames[:3]]
    assert all(p[0] == ("insz", "amount") for p in parts)
    assert [r[0] for p in parts for r in p[1:]] == payments["insz"].to_list()
    assert book["payments (3)"].auto_filter.ref == "A1:B2"


def test_typed_cells_of_other_kinds():
    frame = pl.DataFrame(
        {
            "reduced": [True, False, None],
            "quantity": [1, 2, None],
            "score": [13.5, None, 0.25],
            "years": [[2024, 2025], [], None],
            "at": [dt.datetime(2026, 11, 26, 2, 30), None, None],
        }
    )
    sheet = workbook(overview_xlsx({"other": frame}, CODES))["other"]
    assert rows(sheet)[1:] == [
        (True, 1, 13.5, "2024; 2025", dt.datetime(2026, 11, 26, 2, 30)),
        (False, 2, None, None, None),
        (None, None, 0.25, None, None),
    ]
    assert sheet["A2"].data_type == "b"


def test_text_longer_than_a_cell_holds_is_cut_with_a_mark():
    sheet = workbook(overview_xlsx({"q": pl.DataFrame({"row": ["é" * 40_000, "ok"]})}, CODES))["q"]
    value = sheet["A2"].value
    assert len(value) == 32_767 and value.endswith("…") and sheet["A3"].value == "ok"


def test_refusals():
    with pytest.raises(ValueError, match="codes frame lacks"):
        overview_xlsx({"g": grants()}, CODES.drop("title_fr"))
    with pytest.raises(ValueError, match="kept for the codes"):
        overview_xlsx({"codes": grants()}, CODES)
    with pytest.raises(ValueError, match="not a valid Excel sheet name"):
        overview_xlsx({"a/b": grants()}, CODES)


def test_the_package_is_a_sound_zip_of_well_formed_xml():
    from lxml import etree

    data = overview_xlsx({"grants": grants(), "worklist": worklist()}, CODES, created=dt.date(2026, 11, 26))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None  # every entry's CRC checks
        names = package.namelist()
        assert names[0] == "[Content_Types].xml" and "xl/worksheets/sheet3.xml" in names
        for name in names:
            etree.fromstring(package.read(name))


# --- for people: headers and work-list details in the zorgkas's language -----------------------------------------

READERS = [
    # language  headers of grants (first five)                                                   a work-list detail
    ("NL", ["INSZ", "Zorgkas", "Zorgbudget", "Gebeurtenis", "Eerste maand"], "tegengehouden: R-ENUM in residence_periods, X-UNKNOWN-WORD in text"),
    ("FR", ["NISS", "Caisse d'assurance soins", "Budget de soins", "Événement", "Premier mois"], "retenu : R-ENUM in residence_periods, X-UNKNOWN-WORD in text"),
]  # fmt: skip


@pytest.mark.parametrize("language, headers, detail", READERS, ids=[r[0] for r in READERS])
def test_headers_and_details_in_the_zorgkas_language(language, headers, detail):
    from flows.io.overview import readers_words

    words, details = readers_words(language)
    sheets = {"grants": grants(), "worklist": worklist()}
    book = workbook(overview_xlsx(sheets, CODES, headers=words, details=details))
    assert [c.value for c in book["grants"][1]][:5] == headers
    shown = rows(book["worklist"])
    assert shown[1][4] == detail
    assert shown[2][4] == '=HYPERLINK("x")'  # a detail no pattern knows stays as it is
    assert "insz" not in [c.value for c in book["grants"][1]]


def test_every_detail_the_engine_writes_has_its_words():
    """Each pattern of the codes reference's `detail` terms matches the detail it was written for."""
    from flows.io.overview import readers_words

    written = [
        "WZC stay, special category COMA_NAH", "PVT in VL, not recognised by Flanders", "WZC in BXL, recognised by Flanders",
        "ZZB: ask for proof of EU/EEA/Swiss insurance or of residence", "open grant, person missing from the members feed",
        "held: R-ENUM in residence_periods", "4 payments withheld: IBAN missing", "1 payments withheld: IBAN invalid",
        "2 premium years in default: 2023, 2025", "NRTH record from before the 2017 transition",
    ]  # fmt: skip
    for language in ("NL", "FR"):
        _, details = readers_words(language)
        frame = pl.DataFrame({"detail": written})
        from pipelines.emit.overview import readable

        shown = readable(frame, {}, details)["detail"].to_list()
        assert all(a != b for a, b in zip(written, shown, strict=True)), (language, shown)
