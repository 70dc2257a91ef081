"""Letters to members (docs/spec/rules.md §9): content per kind and language, formatting, L-APPEAL, ids, print order,
and rendered PDFs read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.io.letters import LETTERS_PARQUET_COLUMNS, render_letters
from flows.reference import load_reference
from pipelines.decide.decisions import CONDITIONS, GROUND_CODES
from pipelines.decide.exclusions import BOB_EXCLUSIONS, ZZB_EXCLUSIONS
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.emit.letters import content
from pipelines.emit.letters.appeal import appeal_deadline, appeal_terms, is_working_day, receipt_date
from pipelines.emit.letters.content import LETTER_COLUMNS, MOTIVATION_COLUMNS
from pipelines.emit.letters.language import (
    date_text,
    letter_texts,
    money_text,
    month_text,
    score_text,
    with_rule_texts,
)
from pipelines.premium.invoices import INVOICE_COLUMNS
from pipelines.settle.grants import EVENT_COLUMNS, EVENT_ORDER
from pipelines.settle.payments import RECOVERY_COLUMNS

D = dt.date
M = Decimal
RUN = D(2026, 11, 26)
NBSP, NNBSP = "\u00a0", "\u202f"
TERMS = appeal_terms(RUN, 90, 5, M("75.00"), M("37.50"))
ZORGKASSEN = load_reference().zorgkassen

JAN, MARIE, PIET, ANNA = "85073112305", "00120555686", "85073112406", "90010112345"


def _spaces(text: str) -> str:
    """Babel's no-break spaces as plain spaces, to compare with docs/spec/rules.md's examples."""
    return text.replace(NBSP, " ").replace(NNBSP, " ")


def members() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "insz": [JAN, MARIE, PIET, ANNA],
            "name": ["Jan Peeters", "Marie Dubois", "Piet Zonder Adres", "Anna de Vries"],
            "language": ["NL", "fr", None, "NL"],
            "street": ["Kerkstraat 1", "Rue Haute 5", None, "Dorpsstraat 3"],
            "postal_code": ["9000", "1000", "2000", "1012 AB"],
            "city": ["Gent", "Bruxelles", "Antwerpen", "Amsterdam"],
            "country": ["BE", None, None, "NL"],
        }
    )


def events(rows: list[tuple]) -> pl.DataFrame:
    """rows: (insz, budget, event, first_month, last_month, monthly_amount)."""
    full = [(i, "ZK100", b, f, last, m, ["G-BELRAI"], [], e, RUN) for i, b, e, f, last, m in rows]
    order = ["insz", "zorgkas", "budget", "first_month", "last_month", "monthly_amount", "grounds", "evidence"]
    order += ["event", "decided_on"]
    return pl.DataFrame(full, schema={c: EVENT_COLUMNS[c] for c in order}, orient="row").select(EVENT_ORDER)


def motivation(rows: list[tuple]) -> pl.DataFrame:
    """rows: (insz, budget, first_month, code, outcome, feed, record_id, record_date, end, score, kind)."""
    return pl.DataFrame(rows, schema=MOTIVATION_COLUMNS, orient="row")


def payments(rows: list[tuple]) -> pl.DataFrame:
    """rows: (insz, budget, month, amount)."""
    return pl.DataFrame(
        rows,
        schema={"insz": pl.String, "budget": pl.String, "month": pl.Date, "amount": pl.Decimal(12, 2)},
        orient="row",
    )


def decision_case() -> pl.DataFrame:
    ev = events(
        [
            (JAN, "ZZB", "NEW", D(2026, 9, 1), None, M("140.00")),
            (MARIE, "BOB", "STOPPED", D(2025, 1, 1), D(2026, 9, 1), M("300.00")),
            (PIET, "ZZB", "CONTINUED", D(2025, 1, 1), None, M("140.00")),
            (PIET, "BOB", "CANCELLED", D(2026, 3, 1), None, M("300.00")),
        ]
    )
    pay = payments(
        [
            (JAN, "ZZB", D(2026, 11, 1), M("140.00")),
            (JAN, "ZZB", D(2026, 9, 1), M("140.00")),
            (JAN, "ZZB", D(2026, 10, 1), M("140.00")),
            (JAN, "BOB", D(2026, 11, 1), M("300.00")),  # another budget: not in the ZZB letter
            (PIET, "ZZB", D(2026, 11, 1), M("140.00")),  # CONTINUED: no letter
        ]
    )
    mot = motivation(
        [
            (
                JAN,
                "ZZB",
                D(2026, 9, 1),
                "ZZB-START",
                "HOLDS",
                "belrai_screeners",
                "BS-1",
                D(2026, 5, 15),
                None,
                None,
                None,
            ),
            (
                JAN,
                "ZZB",
                D(2026, 9, 1),
                "G-BELRAI",
                "HOLDS",
                "belrai_screeners",
                "BS-1",
                D(2026, 5, 15),
                None,
                14.5,
                "GEZINSZORG",
            ),
            (JAN, "ZZB", D(2026, 9, 1), "E-RESIDENCE", "HOLDS", None, None, None, None, None, None),
            (MARIE, "BOB", D(2025, 1, 1), "E-ALIVE", "FAILS", "members", None, D(2026, 9, 12), None, None, "DEATH"),
            (
                MARIE,
                "BOB",
                D(2025, 1, 1),
                "G-BOB",
                "HOLDS",
                "vaph_support",
                "V-9",
                D(2024, 12, 3),
                None,
                None,
                "SUPPORT_NEED",
            ),
            (
                PIET,
                "BOB",
                D(2026, 3, 1),
                "X-BOB-PVB",
                "FAILS",
                "vaph_support",
                "V-7",
                D(2026, 2, 1),
                D(2027, 1, 31),
                None,
                "PVB",
            ),
        ]
    )
    allowance = pl.DataFrame({"insz": [MARIE]})
    return content.decision_letters(ev, pay, mot, members(), TERMS, allowance)


def recovery_case() -> pl.DataFrame:
    rows = [
        (MARIE, "ZK100", "BOB", D(2026, 11, 1), M("300.00"), D(2026, 10, 26), ["E-ALIVE"]),
        (MARIE, "ZK100", "BOB", D(2026, 10, 1), M("300.00"), D(2026, 9, 28), ["E-ALIVE"]),
        (MARIE, "ZK100", "ZZB", D(2026, 10, 1), M("140.00"), D(2026, 9, 28), ["E-ALIVE", "X-VAPH-PVB"]),
        (JAN, "ZK100", "ZZB", D(2026, 8, 1), M("140.00"), D(2026, 8, 26), ["ZZB-START"]),
    ]
    return content.recovery_letters(pl.DataFrame(rows, schema=RECOVERY_COLUMNS, orient="row"), members(), TERMS)


def request_case() -> pl.DataFrame:
    rows = [
        (JAN, "ZK100", "W-IBAN-MISSING", D(2026, 10, 1), "2 payments withheld", [], None),
        (MARIE, "ZK100", "W-CHECK-RESIDENCE", D(2026, 6, 1), "ZZB", [], None),
        (MARIE, "ZK100", "W-CHECK-RESIDENCE", D(2026, 6, 1), "BOB", [], None),  # same (person, code, since): one letter
        (PIET, "ZK100", "W-APPLY-SPECIAL", D(2026, 11, 2), "", ["facility_stays:S1"], None),
        (ANNA, "ZK100", "W-APPLY-FACILITY", D(2026, 7, 1), "", ["facility_stays:S2"], None),
        (ANNA, "ZK100", "W-HELD", RUN, "held", [], None),  # no letter
        (JAN, "ZK100", "W-NRTH-TRANSITION", D(2026, 1, 1), "", [], None),  # no letter
    ]
    return content.request_letters(pl.DataFrame(rows, schema=WORKLIST_COLUMNS, orient="row"), members(), RUN)


def invoice_case() -> pl.DataFrame:
    rows = [
        ("ZK100-2027-0000000041", JAN, "ZK100", 2027, M("100.00"), False, ["P-LIABLE"], "+++000/0000/04141+++"),
        (
            "ZK100-2027-0000000042",
            MARIE,
            "ZK100",
            2027,
            M("35.00"),
            True,
            ["P-LIABLE", "P-REDUCED"],
            "+++000/0000/04242+++",
        ),
    ]
    rows = [(*r, D(2027, 4, 30), D(2027, 1, 2)) for r in rows]
    return content.invoice_letters(pl.DataFrame(rows, schema=INVOICE_COLUMNS, orient="row"), members())


def by_insz(letters: pl.DataFrame, insz: str) -> dict:
    rows = letters.filter(pl.col("insz") == insz).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# --- formatting (L-LANGUAGE) -------------------------------------------------------------------------

# fmt: off
FORMATS = [
    # name                               function     value                language  Babel 2.18's text (spaces as docs/spec/rules.md writes them)
    ("date in Dutch",                    date_text,   D(2026, 11, 26),     "NL",     "26 november 2026"),
    ("date in French",                   date_text,   D(2026, 11, 26),     "FR",     "26 novembre 2026"),
    ("first of the month in French",     date_text,   D(2027, 1, 1),       "FR",     "1er janvier 2027"),
    ("month in Dutch",                   month_text,  D(2026, 11, 1),      "NL",     "november 2026"),
    ("month in French",                  month_text,  D(2026, 8, 1),       "FR",     "août 2026"),
    ("money in Dutch: sign first",       money_text,  M("140.00"),         "NL",     "€ 140,00"),
    ("money in French: sign last",       money_text,  M("140.00"),         "FR",     "140,00 €"),
    ("thousands in Dutch",               money_text,  M("1234.50"),        "NL",     "€ 1.234,50"),
    ("thousands in French",              money_text,  M("1234.50"),        "FR",     "1 234,50 €"),
    ("reduced appeal fee in Dutch",      money_text,  M("37.50"),          "NL",     "€ 37,50"),
    ("score with a decimal comma",       score_text,  14.5,                "FR",     "14,5"),
    ("whole score without decimals",     score_text,  13.0,                "NL",     "13"),
]
# fmt: on


@pytest.mark.parametrize("name, function, value, language, expected", FORMATS, ids=[c[0] for c in FORMATS])
def test_formatting_per_language(name, function, value, language, expected):
    assert _spaces(function(value, language)) == expected


def test_money_keeps_babels_no_break_spaces():
    """Babel puts U+00A0 between sign and amount (and U+202F between French thousands): kept, so that a line
    never breaks inside an amount."""
    assert money_text(M("140.00"), "NL") == f"€{NBSP}140,00"
    assert money_text(M("140.00"), "FR") == f"140,00{NBSP}€"
    assert money_text(M("1234.50"), "FR") == f"1{NNBSP}234,50{NBSP}€"


def test_nl_and_fr_texts_have_the_same_keys():
    texts = letter_texts()

    def keys(node, prefix=""):
        if isinstance(node, dict):
            return {k for key, value in node.items() for k in keys(value, f"{prefix}{key}.")} | {prefix}
        if isinstance(node, list):
            return {f"{prefix}[{len(node)}]"}
        return {prefix}

    assert keys(texts["NL"]) == keys(texts["FR"])


def test_every_rule_code_of_a_decision_record_has_a_motivation_text():
    possible = [(c, "HOLDS") for c in GROUND_CODES + ["ZZB-START", "G-BOB", "M-GRANT", "M-APPEAL"] + CONDITIONS]
    possible += [(c, "FAILS") for c in ["ZZB-START", "G-BOB", "G-ABSENCE", "T-NRTH-2017"] + CONDITIONS]
    possible += [(c, "FAILS") for c in ZZB_EXCLUSIONS + BOB_EXCLUSIONS]
    pairs = pl.DataFrame(possible, schema={"code": pl.String, "outcome": pl.String}, orient="row")
    assert content.missing_rule_texts(pairs) == []


def test_rule_texts_can_come_from_elsewhere():
    """The codes reference (data/reference/codes.yaml) can later replace the package's motivation sentences."""
    texts = with_rule_texts(letter_texts(), {"NL": {"E-ALIVE": {"FAILS": "Overleden."}}})
    assert texts["NL"]["rules"]["E-ALIVE"]["FAILS"] == "Overleden."
    assert texts["NL"]["rules"]["E-AFFILIATED"] == letter_texts()["NL"]["rules"]["E-AFFILIATED"]
    assert texts["FR"]["rules"]["E-ALIVE"] == letter_texts()["FR"]["rules"]["E-ALIVE"]


# --- L-APPEAL -----------------------------------------------------------------------------------------

# fmt: off
APPEALS = [
    # name                                              letter date        receipt (5th working day)  deadline (receipt + 90)
    ("Thursday: five weekdays, over a weekend",         D(2026, 11, 26),   D(2026, 12, 3),            D(2027, 3, 3)),
    ("Friday: the weekend does not count",              D(2026, 11, 27),   D(2026, 12, 4),            D(2027, 3, 4)),
    ("Saturday: counting starts on Monday",             D(2026, 11, 28),   D(2026, 12, 4),            D(2027, 3, 4)),
    ("across Armistice Day (Wed 11 November)",          D(2026, 11, 5),    D(2026, 11, 13),           D(2027, 2, 11)),
    ("across Christmas (Fri 25 December)",              D(2026, 12, 21),   D(2026, 12, 29),           D(2027, 3, 29)),
    ("across New Year's Day (Fri 1 January)",           D(2026, 12, 28),   D(2027, 1, 5),             D(2027, 4, 5)),
    ("across Easter Monday (29 March 2027)",            D(2027, 3, 25),    D(2027, 4, 2),             D(2027, 7, 1)),
]
# fmt: on


@pytest.mark.parametrize("name, letter_date, receipt, deadline", APPEALS, ids=[c[0] for c in APPEALS])
def test_appeal_deadline(name, letter_date, receipt, deadline):
    assert receipt_date(letter_date, 5) == receipt
    assert appeal_deadline(letter_date, 90, 5) == deadline


def test_working_days_are_weekdays_without_belgian_holidays():
    assert not is_working_day(D(2026, 11, 11))  # Armistice Day, a Wednesday
    assert not is_working_day(D(2026, 7, 21))  # National Day, a Tuesday
    assert not is_working_day(D(2026, 11, 28))  # Saturday
    assert is_working_day(D(2026, 11, 12))


def test_appeal_fee_reduced_with_increased_allowance():
    letters = decision_case()
    assert _spaces(by_insz(letters, MARIE)["appeal"]["fee"]) == "37,50 €"
    assert by_insz(letters, MARIE)["appeal"]["reduced"] is True
    assert _spaces(by_insz(letters, JAN)["appeal"]["fee"]) == "€ 75,00"
    assert by_insz(letters, JAN)["appeal"]["reduced"] is False


# --- content per kind and language --------------------------------------------------------------------


def test_decision_letters_one_per_event_but_continued():
    letters = decision_case()
    assert letters.columns == list(LETTER_COLUMNS)
    assert sorted(letters["subject"].to_list()) == [
        "BOB CANCELLED 2026-03",
        "BOB STOPPED 2025-01..2026-09",
        "ZZB NEW 2026-09",
    ]
    assert set(letters["kind"]) == {"L-DECISION"}


def test_decision_letter_in_dutch():
    jan = by_insz(decision_case(), JAN)
    assert (jan["language"], jan["topic"], jan["budget"]) == ("NL", "NEW_OPEN", "ZZB")
    assert (jan["first_month"], jan["last_month"], _spaces(jan["monthly_amount"])) == (
        "september 2026",
        None,
        "€ 140,00",
    )
    assert jan["date_text"] == "26 november 2026"
    # L-REASON: the months paid, consecutive months of one amount on one line
    assert [(m["month"], m["last"], m["count"], _spaces(m["each"]), _spaces(m["amount"])) for m in jan["months"]] == [
        ("september 2026", "november 2026", "3", "€ 140,00", "€ 420,00"),
    ]
    assert _spaces(jan["total"]) == "€ 420,00"
    # grounds first, then the right, then conditions; the record behind each
    assert [m["code"] for m in jan["motivation"]] == ["G-BELRAI", "ZZB-START", "E-RESIDENCE"]
    belrai = jan["motivation"][0]
    assert (belrai["date"], belrai["score"], belrai["kind"], belrai["record_id"]) == (
        "15 mei 2026",
        "14,5",
        "gezinszorg",
        "BS-1",
    )
    assert jan["motivation"][2]["feed"] is None
    assert jan["appeal"] == {
        "days": "90",
        "receipt": "3 december 2026",
        "deadline": "3 maart 2027",
        "fee": jan["appeal"]["fee"],
        "reduced": False,
    }
    assert jan["address"] == ["Jan Peeters", "Kerkstraat 1", "9000 Gent"] and not jan["address_missing"]


def test_decision_letter_in_french():
    marie = by_insz(decision_case(), MARIE)
    assert (marie["language"], marie["topic"]) == ("FR", "STOPPED")
    assert (marie["first_month"], marie["last_month"]) == ("janvier 2025", "septembre 2026")
    assert marie["months"] == [] and marie["total"] is None
    assert [(m["code"], m["outcome"], m["date"], m["kind"]) for m in marie["motivation"]] == [
        ("G-BOB", "HOLDS", "3 décembre 2024", "handicap reconnu avec besoin de soutien"),
        ("E-ALIVE", "FAILS", "12 septembre 2026", "décès"),
    ]
    assert (marie["appeal"]["receipt"], marie["appeal"]["deadline"]) == ("3 décembre 2026", "3 mars 2027")


def test_language_absent_is_dutch_and_incomplete_address_is_empty():
    piet = by_insz(decision_case(), PIET)
    assert piet["language"] == "NL"
    assert piet["address"] == [] and piet["address_missing"] is True
    assert piet["topic"] == "CANCELLED_OPEN"
    assert piet["motivation"][0]["end_date"] == "31 januari 2027"


def test_address_abroad_names_the_country_in_the_letters_language():
    anna = by_insz(request_case(), ANNA)
    assert anna["address"] == ["Anna de Vries", "Dorpsstraat 3", "1012 AB Amsterdam", "Nederland"]


def test_a_person_missing_from_members_gets_dutch_and_no_address():
    rows = [("11111111111", "ZK100", "W-IBAN-MISSING", D(2026, 10, 1), "", [], None)]
    letter = content.request_letters(pl.DataFrame(rows, schema=WORKLIST_COLUMNS, orient="row"), members(), RUN).row(
        0, named=True
    )
    assert (letter["language"], letter["address"], letter["address_missing"]) == ("NL", [], True)


def test_unknown_rule_code_is_a_clear_error():
    mot = motivation([(JAN, "ZZB", D(2026, 9, 1), "G-NOPE", "HOLDS", None, None, None, None, None, None)])
    ev = events([(JAN, "ZZB", "NEW", D(2026, 9, 1), None, M("140.00"))])
    with pytest.raises(ValueError, match="G-NOPE/HOLDS"):
        content.decision_letters(ev, payments([]), mot, members(), TERMS)


def test_recovery_letter_per_person_with_months_total_and_reasons():
    letters = recovery_case()
    assert letters.height == 2 and set(letters["kind"]) == {"L-RECOVERY"}
    marie = by_insz(letters, MARIE)
    assert marie["subject"] == "PAY-RECOVERY 2026-11-26"
    assert [(m["budget"], m["month"], m["paid_on"]) for m in marie["months"]] == [
        ("BOB", "octobre 2026", "28 septembre 2026"),
        ("BOB", "novembre 2026", "26 octobre 2026"),
        ("ZZB", "octobre 2026", "28 septembre 2026"),
    ]
    assert _spaces(marie["total"]) == "740,00 €"
    assert [(m["code"], m["outcome"]) for m in marie["motivation"]] == [("E-ALIVE", "FAILS"), ("X-VAPH-PVB", "FAILS")]
    assert marie["appeal"]["days"] == "90"
    jan = by_insz(letters, JAN)
    assert _spaces(jan["total"]) == "€ 140,00" and jan["motivation"][0]["code"] == "ZZB-START"


def test_request_letters_for_the_four_codes_once_per_person_code_and_since():
    letters = request_case()
    assert sorted(zip(letters["insz"], letters["topic"], strict=True)) == sorted(
        [(JAN, "W-IBAN-MISSING"), (MARIE, "W-CHECK-RESIDENCE"), (PIET, "W-APPLY-SPECIAL"), (ANNA, "W-APPLY-FACILITY")]
    )
    assert by_insz(letters, MARIE)["since"] == "1er juin 2026"
    assert by_insz(letters, JAN)["subject"] == "W-IBAN-MISSING 2026-10-01"
    assert letters["appeal"].null_count() == letters.height


def test_invoice_letters_normal_and_reduced():
    letters = invoice_case()
    jan, marie = by_insz(letters, JAN), by_insz(letters, MARIE)
    assert (jan["topic"], _spaces(jan["amount"]), jan["allowance_date"], jan["due_date"]) == (
        "NORMAL",
        "€ 100,00",
        "1 januari 2026",
        "30 april 2027",
    )
    assert (marie["topic"], _spaces(marie["amount"]), marie["allowance_date"], marie["due_date"]) == (
        "REDUCED",
        "35,00 €",
        "1er janvier 2026",
        "30 avril 2027",
    )
    assert marie["structured_reference"] == "+++000/0000/04242+++" and marie["premium_year"] == "2027"
    assert marie["subject"] == "ZK100-2027-0000000042" and marie["date_text"] == "2 janvier 2027"


# --- ids and print order ------------------------------------------------------------------------------


def test_letter_ids_are_stable_and_unique():
    first = decision_case()
    again = decision_case()
    assert first["letter_id"].to_list() == again["letter_id"].to_list()
    assert first["letter_id"].n_unique() == first.height
    assert set(first["letter_id"]) == {
        "20261126-ZK100-DEC-0000001",
        "20261126-ZK100-DEC-0000002",
        "20261126-ZK100-DEC-0000003",
    }


def test_letter_ids_do_not_depend_on_the_input_order():
    frame = pl.DataFrame(
        {
            "zorgkas": ["ZK100", "ZK100", "ZK200", "ZK100"],
            "kind": ["L-REQUEST", "L-REQUEST", "L-REQUEST", "L-DECISION"],
            "insz": [MARIE, JAN, JAN, JAN],
            "subject": ["W-IBAN-MISSING 2026-10-01"] * 3 + ["ZZB NEW 2026-09"],
            "letter_date": [RUN] * 4,
        }
    )
    ids = dict(
        zip(frame["insz"] + frame["zorgkas"] + frame["kind"], content.letter_ids(frame)["letter_id"], strict=True)
    )
    shuffled = frame.reverse()
    again = dict(
        zip(
            shuffled["insz"] + shuffled["zorgkas"] + shuffled["kind"],
            content.letter_ids(shuffled)["letter_id"],
            strict=True,
        )
    )
    assert ids == again
    assert ids[MARIE + "ZK100L-REQUEST"] == "20261126-ZK100-REQ-0000001"  # insz 0012... sorts before 8507...
    assert ids[JAN + "ZK100L-REQUEST"] == "20261126-ZK100-REQ-0000002"
    assert ids[JAN + "ZK200L-REQUEST"] == "20261126-ZK200-REQ-0000001"


def test_invoice_letter_id_is_the_reference_base():
    assert sorted(invoice_case()["letter_id"]) == ["20270102-ZK100-INV-0000041", "20270102-ZK100-INV-0000042"]


def test_print_order_is_language_postal_code_letter_id():
    letters = pl.concat([decision_case(), recovery_case(), request_case(), invoice_case()])
    ordered = content.print_order(letters)
    keys = ordered.select("language", "postal_code", "letter_id").rows()
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    fr = [k for k in keys if k[0] == "FR"]
    nl = [k for k in keys if k[0] == "NL"]
    assert keys == fr + nl
    assert nl[0][1] == "1012 AB" and nl[-1][1] == "9000"
    assert [k[2] for k in nl if k[1] == "9000"] == sorted(k[2] for k in nl if k[1] == "9000")


def test_print_order_puts_letters_without_postal_code_last():
    frame = pl.DataFrame({"language": ["NL"] * 3, "postal_code": [None, "2000", "1000"], "letter_id": ["a", "b", "c"]})
    assert content.print_order(frame)["letter_id"].to_list() == ["c", "b", "a"]


# --- rendering ----------------------------------------------------------------------------------------

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext is not installed (Debian: apt-get install -y poppler-utils)"
)


def all_letters() -> pl.DataFrame:
    return pl.concat([decision_case(), recovery_case(), request_case(), invoice_case()])


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF (pdftotext separates pages with a form feed), spaces made plain."""
    out = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return [_spaces(" ".join(page.split())) for page in out.split("\f")[:-1]]


def letter_text(out: Path, row: dict) -> str:
    pages = pdf_pages(out / row["file"])
    return " ".join(pages[row["first_page"] - 1 : row["first_page"] - 1 + row["pages"]])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, pl.DataFrame, pl.DataFrame]:
    out = tmp_path_factory.mktemp("letters")
    letters = all_letters()
    return out, letters, render_letters(letters, out, ZORGKASSEN, workers=2)


def test_render_returns_the_letters_parquet_rows(rendered):
    out, letters, rows = rendered
    assert rows.schema == pl.Schema(LETTERS_PARQUET_COLUMNS)
    assert rows.height == letters.height == 11
    assert rows["letter_id"].to_list() == content.print_order(letters)["letter_id"].to_list()
    assert set(rows["file"]) == {"0001.pdf"} and sorted(p.name for p in out.iterdir()) == ["0001.pdf"]
    ends = (rows["first_page"] + rows["pages"]).to_list()
    assert rows["first_page"].to_list() == [1] + ends[:-1]  # each letter starts on a new page, none skipped
    assert rows.filter(pl.col("insz") == PIET)["address_missing"].to_list() == [True, True]


@needs_pdftotext
def test_rendered_letters_read_back_in_their_language(rendered):
    out, _, rows = rendered
    text = {(r["kind"], r["insz"]): letter_text(out, r) for r in rows.iter_rows(named=True)}
    assert len(pdf_pages(out / "0001.pdf")) == rows["pages"].sum()

    jan = text[("L-DECISION", JAN)]
    for expected in [
        "Zorgkas CM",
        "Haachtsesteenweg 579",
        "1030 Brussel",
        "www.zorgkas-cm.example",
        "Jan Peeters",
        "Kerkstraat 1",
        "9000 Gent",
        "Datum: 26 november 2026",
        "Ons kenmerk: 20261126-ZK100-DEC-",
        "U hebt recht op het zorgbudget voor zwaar zorgbehoevenden vanaf september 2026. U krijgt € 140,00 per maand.",
        "september 2026 tot en met november 2026 (3 maanden van € 140,00): € 420,00",
        "Totaal: € 420,00",
        "Uw BelRAI Screener toont een zware en langdurige zorgnood. "
        "Gegevens: BelRAI Screener van 15 mei 2026, gezinszorg, score 14,5, ref. BS-1",
        "Deze brief geldt als ontvangen op 3 december 2026",
        "uiterlijk op 3 maart 2027",
        "dossiertaks van € 75,00",
    ]:
        assert expected in jan, expected

    marie = text[("L-DECISION", MARIE)]
    for expected in [
        "Date : 26 novembre 2026",
        "Votre budget de soins pour personnes handicapées prend fin.",
        "de janvier 2025 à septembre 2026 inclus",
        "Le titulaire du budget de soins est décédé",
        "Données : données de la caisse d'assurance soins : 12 septembre 2026, décès",
        "taxe de dossier de 37,50 €",
        "Comme vous avez droit à l'intervention majorée",
        "Rue Haute 5",
    ]:
        assert expected in marie, expected

    recovery = text[("L-RECOVERY", MARIE)]
    assert "Vous devez rembourser 740,00 € au total." in recovery
    assert "personnes handicapées novembre 2026 300,00 € 26 octobre 2026" in recovery
    assert "au plus tard le 3 mars 2027" in recovery

    assert "Geef ons uw rekeningnummer" in text[("L-REQUEST", JAN)]
    assert "sinds 1 oktober 2026" in text[("L-REQUEST", JAN)]
    assert "Envoyez-nous une preuve de séjour ou d'assurance" in text[("L-REQUEST", MARIE)]
    assert "Vraag uw zorgbudget aan" in text[("L-REQUEST", PIET)]
    assert "Nederland" in text[("L-REQUEST", ANNA)]
    assert "Niet akkoord?" not in text[("L-REQUEST", JAN)]

    invoice_nl, invoice_fr = text[("L-INVOICE", JAN)], text[("L-INVOICE", MARIE)]
    for expected in [
        "Uw zorgpremie 2027",
        "Voor 2027 is dat € 100,00.",
        "U betaalt het gewone bedrag, omdat u op 1 januari 2026 geen recht had op een verhoogde tegemoetkoming",
        "Te betalen vóór: 30 april 2027",
        "+++000/0000/04141+++",
        "BE72 7351 0000 0116",
        "VSBZBEB1",
        "Het OCMW van uw gemeente kan u helpen.",
    ]:
        assert expected in invoice_nl, expected
    for expected in [
        "Votre prime d'assurance soins 2027",
        "Vous payez le montant réduit, car vous aviez droit à l'intervention majorée au 1er janvier 2026.",
        "Le CPAS de votre commune peut vous aider.",
        "+++000/0000/04242+++",
    ]:
        assert expected in invoice_fr, expected


def test_a_long_letter_runs_over_pages_and_the_next_starts_on_a_new_page(tmp_path):
    months = pl.date_range(D(2024, 12, 1), D(2026, 11, 1), "1mo", eager=True).to_list()
    ev = events(
        [(JAN, "ZZB", "NEW", months[0], None, M("140.00")), (MARIE, "ZZB", "NEW", months[0], None, M("140.00"))]
    )
    # amounts that change every month: a line a month (consecutive months of one amount share a line)
    pay = payments([(i, "ZZB", m, M("140.00") - n % 2) for i in (JAN, MARIE) for n, m in enumerate(months)])
    letters = content.decision_letters(
        ev, pay, motivation([]), members().with_columns(pl.lit("NL").alias("language")), TERMS
    )
    rows = render_letters(letters, tmp_path, ZORGKASSEN, workers=1)
    assert rows["pages"].to_list() == [2, 2]
    assert rows["first_page"].to_list() == [1, 3]
    if PDFTOTEXT:
        pages = pdf_pages(tmp_path / "0001.pdf")
        assert len(pages) == 4 and "Zorgkas CM" in pages[2].split("Datum")[0]


def test_render_is_byte_identical(tmp_path, rendered):
    out, letters, _ = rendered
    render_letters(letters.sample(fraction=1.0, shuffle=True, seed=7), tmp_path, ZORGKASSEN, workers=1)
    assert (tmp_path / "0001.pdf").read_bytes() == (out / "0001.pdf").read_bytes()


def test_files_hold_at_most_letters_per_file_letters(tmp_path, rendered):
    _, letters, whole = rendered
    rows = render_letters(letters, tmp_path, ZORGKASSEN, letters_per_file=4, workers=2)
    assert rows.group_by("file").len().sort("file").rows() == [("0001.pdf", 4), ("0002.pdf", 4), ("0003.pdf", 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001.pdf", "0002.pdf", "0003.pdf"]
    assert rows.filter(pl.col("file") == "0002.pdf")["first_page"][0] == 1
    assert rows["letter_id"].to_list() == whole["letter_id"].to_list()  # the same print order across files
    if PDFTOTEXT:
        for name, count in rows.group_by("file").agg(pl.col("pages").sum()).rows():
            assert len(pdf_pages(tmp_path / name)) == count


def test_render_refuses_more_than_10000_a_file(tmp_path):
    with pytest.raises(ValueError, match="letters_per_file must be 1..10000"):
        render_letters(all_letters(), tmp_path, ZORGKASSEN, letters_per_file=10_001)


def test_no_letters_no_file(tmp_path):
    rows = render_letters(content.empty_letters(), tmp_path, ZORGKASSEN)
    assert rows.height == 0 and list(tmp_path.iterdir()) == []


def test_zorgkassen_reference_has_the_letterhead():
    for column in ("street", "postal_code", "city", "phone", "web"):
        assert ZORGKASSEN[column].null_count() == 0, column


# --- issue 22: to whom, the voices, one name for the ZZB, how to pay ------------------------------------------------


def test_every_voice_has_the_same_keys_in_both_languages():
    texts = letter_texts()

    def keys(node, prefix=""):
        if isinstance(node, dict):
            return {k for key, value in node.items() for k in keys(value, f"{prefix}{key}.")} | {prefix}
        return {prefix}

    for voice in ("-HEIRS", "-PARENTS"):
        assert keys(texts["NL" + voice]) == keys(texts["FR" + voice]) == keys(texts["NL"])


def test_the_budgets_have_one_name_in_letters_and_the_codes_reference():
    """The ZZB is called by one name everywhere: the letters use the codes reference's terms (vsb explain, overview)."""
    from flows.codes import load_codes

    codes, texts = load_codes(), letter_texts()
    for language in ("NL", "FR"):
        for budget in ("ZZB", "BOB"):
            assert texts[language]["budgets"][budget] == codes.term("budget", budget, language)


ADDRESSEES = [
    # name                                    birth            death             voice
    ("an adult alive",                         D(1950, 1, 1),   None,             "SELF"),
    ("died on the letter's date",              D(1950, 1, 1),   RUN,              "HEIRS"),
    ("dies the day after the letter's date",   D(1950, 1, 1),   RUN + dt.timedelta(days=1), "SELF"),
    ("turns 18 on the letter's date",          D(2008, 11, 26), None,             "SELF"),
    ("turns 18 the day after",                 D(2008, 11, 27), None,             "PARENTS"),
    ("a child who died",                       D(2022, 9, 1),   D(2026, 8, 20),   "HEIRS"),
    ("no birth date",                          None,            None,             "SELF"),
]  # fmt: skip


@pytest.mark.parametrize("name, birth, death, voice", ADDRESSEES, ids=[a[0] for a in ADDRESSEES])
def test_l_addressee_at_the_edges(name, birth, death, voice):
    frame = pl.DataFrame({"_birth": [birth], "_death": [death]}, schema={"_birth": pl.Date, "_death": pl.Date})
    assert frame.select(content.l_addressee(pl.lit(RUN))).item() == voice


def test_a_letter_to_the_heirs_and_to_a_minors_parents():
    people = members().with_columns(
        pl.Series("birth_date", [D(1950, 1, 1), D(2015, 5, 5), None, None]),
        pl.Series("death_date", [D(2026, 10, 3), None, None, None], dtype=pl.Date),
    )
    ev = events([(JAN, "ZZB", "STOPPED", D(2025, 1, 1), D(2026, 10, 1), M("140.00")),
                 (MARIE, "ZZB", "NEW", D(2026, 9, 1), None, M("140.00"))])  # fmt: skip
    letters = content.decision_letters(ev, payments([]), motivation([]), people, TERMS)
    jan, marie = by_insz(letters, JAN), by_insz(letters, MARIE)
    assert (jan["texts"], jan["address"][0], jan["died"]) == (
        "NL-HEIRS",
        "Aan de erfgenamen van wijlen Jan Peeters",
        "3 oktober 2026",
    )
    assert (marie["texts"], marie["address"][0], marie["died"]) == (
        "FR-PARENTS",
        "Aux parents ou au représentant légal de Marie Dubois",
        None,
    )


def test_a_recovery_reference_is_its_own_and_never_an_invoices():
    """L-RECOVERY: 9, the letter's month from January 2000, the letter's number: above every invoice base."""
    from stdnum.be import ogm_vcs

    from pipelines.emit.letters.payment import RECOVERY_BASE, recovery_reference
    from pipelines.premium.invoices import REFERENCE_BASE_LIMIT

    assert REFERENCE_BASE_LIMIT <= RECOVERY_BASE  # the last invoice base is below the first recovery base
    frame = pl.DataFrame({"_n": [1, 2, 99_999]})
    found = recovery_reference(frame, RUN, "_n")
    assert found["reference_base"].to_list() == [9_032_200_001, 9_032_200_002, 9_032_299_999]
    assert found["structured_reference"][0] == "+++903/2200/00190+++" and all(
        map(ogm_vcs.is_valid, found["structured_reference"])
    )
    assert recovery_reference(frame, RUN, "_n").equals(found)  # the same in a rerun
    next_month = recovery_reference(frame, D(2026, 12, 26), "_n")["reference_base"].to_list()
    assert not set(next_month) & set(found["reference_base"].to_list())
    with pytest.raises(ValueError, match="99,999 recovery letters"):
        recovery_reference(pl.DataFrame({"_n": [100_000]}), RUN, "_n")


def test_the_epc_payload_field_by_field():
    """L-INVOICE: EPC069-12 version 002: BCD, 002, 1 (UTF-8), SCT, BIC, name, IBAN, EUR amount, purpose (empty),
    the structured communication's 12 digits on the structured remittance line, no unstructured line."""
    from pipelines.emit.letters.payment import epc_payload, qr_svg

    frame = pl.DataFrame(
        {"amount": [M("100.00")], "ref": ["+++000/0000/04141+++"]}, schema_overrides={"amount": pl.Decimal(12, 2)}
    )
    payload = frame.select(
        epc_payload(
            pl.lit("Zorgkas CM"), pl.lit("BE72 7351 0000 0116"), pl.lit("VSBZBEB1"), pl.col("amount"), pl.col("ref")
        )
    ).item()
    assert payload.split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "VSBZBEB1",
        "Zorgkas CM",
        "BE72735100000116",
        "EUR100.00",
        "",
        "000000004141",
    ]
    assert len(payload.encode()) <= 331
    svg = qr_svg(payload)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and qr_svg(payload) == svg


def test_french_texts_put_a_no_break_space_before_a_colon_and_a_narrow_one_before_a_question_mark():
    import re

    def strings(node):
        if isinstance(node, dict):
            return [x for v in node.values() for x in strings(v)]
        if isinstance(node, list):
            return [x for v in node for x in strings(v)]
        return [node] if isinstance(node, str) else []

    for key in ("FR", "FR-HEIRS", "FR-PARENTS"):
        for text in strings(letter_texts()[key]):
            assert not re.search(r"[ ]:|\S:(?!//)", text.replace("{", "").replace("}", "")) or text.endswith(": "), text
            assert not re.search(r"[^\u202f][?;!]", text.replace("(?", "")), text
    assert letter_texts()["FR"]["labels"]["colon"] == "\u00a0: "
