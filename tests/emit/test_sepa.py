"""payments.xml (docs/spec/outputs.md): a pain.001.001.09 credit transfer that validates and agrees with payments.parquet."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import polars as pl
import pytest
from stdnum import iban as std_iban

from pipelines.emit.sepa import NAME_MAX, REMITTANCE_MAX, credit_transfer_xml, sepa_text, summary, validate_pain001

DEBTOR = {"name": "Zorgkas CM", "iban": "BE72735100000116", "bic": "VSBZBEB1", "creditor_id": "BE07ZZZ0800000101"}
MESSAGE_ID = "VSB-ZK100-2026-11-26"
CREATION = dt.datetime(2026, 11, 26, 2, 0)
EXECUTION = dt.date(2026, 11, 27)
SCHEMA = {
    "end_to_end_id": pl.String,
    "insz": pl.String,
    "zorgkas": pl.String,
    "budget": pl.String,
    "month": pl.Date,
    "quantity": pl.Int64,
    "amount": pl.Decimal(12, 2),
    "iban": pl.String,
    "name": pl.String,
}
IBAN_A = "BE41063012345610"
IBAN_B = "BE71096123456769"
IBAN_C = "BE62510007547061"


def _row(e2e, insz, budget, month, amount, iban=IBAN_A, name="An Peeters", quantity=1, zorgkas="ZK100"):
    return (e2e, insz, zorgkas, budget, month, quantity, Decimal(amount), iban, name)


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _xml(payments: pl.DataFrame, **changes) -> bytes:
    args = {"debtor": DEBTOR, "message_id": MESSAGE_ID, "creation": CREATION, "execution_date": EXECUTION} | changes
    return credit_transfer_xml(payments, **args)


def _texts(xml: bytes, tag: str) -> list[str]:
    return [t.decode() for t in re.findall(rf"<{tag}>([^<]*)</{tag}>".encode(), xml)]


SMALL = _frame(
    [
        _row("E2E-ZZB-1", "85073112305", "ZZB", dt.date(2026, 10, 1), "140.00", name="Émile Dupré"),
        _row("E2E-ZZB-1", "85073112305", "ZZB", dt.date(2026, 9, 1), "140.00", name="Émile Dupré"),
        _row("E2E-BOB-2", "90010112345", "BOB", dt.date(2026, 11, 1), "300.00", IBAN_B, "Jürgen Straße"),
        _row("E2E-ABS-3", "12020212345", "ZZB-ABSENCE", dt.date(2025, 8, 31), "280.00", IBAN_C, "Lotte Ørsted", 2),
    ]
)


def _belgian_ibans(account: pl.Expr) -> pl.Expr:
    """Valid Belgian IBANs for 10-digit account numbers (bank code 735), as polars arithmetic."""
    check = pl.when(account % 97 == 0).then(97).otherwise(account % 97)
    bban = account * 100 + check
    iban_check = 98 - (bban * 1_000_000 + 111_400) % 97
    return pl.format("BE{}{}", iban_check.cast(pl.String).str.zfill(2), bban.cast(pl.String).str.zfill(12))


@pytest.fixture(scope="module")
def large() -> pl.DataFrame:
    """120,000 transactions: every third person is paid two months (two rows, one end_to_end_id)."""
    people = pl.DataFrame({"i": pl.int_range(120_000, dtype=pl.Int64, eager=True)})
    first = people.with_columns(pl.lit(dt.date(2026, 11, 1)).alias("month"))
    second = people.filter(pl.col("i") % 3 == 0).with_columns(pl.lit(dt.date(2026, 10, 1)).alias("month"))
    return (
        pl.concat([first, second])
        .select(
            pl.format("VSB-ZK100-{}", pl.col("i").cast(pl.String).str.zfill(8)).alias("end_to_end_id"),
            pl.col("i").add(80_000_000_000).cast(pl.String).alias("insz"),
            pl.lit("ZK100").alias("zorgkas"),
            pl.when(pl.col("i") % 5 == 0).then(pl.lit("BOB")).otherwise(pl.lit("ZZB")).alias("budget"),
            "month",
            pl.lit(1, pl.Int64).alias("quantity"),
            (pl.lit(Decimal("140.00")) + (pl.col("i") % 100).cast(pl.Decimal(12, 2)) / 100)
            .cast(pl.Decimal(12, 2))
            .alias("amount"),
            _belgian_ibans(7_350_000_000 + pl.col("i")).alias("iban"),
            pl.format("Zoë Müller-Łukasiewicz {}", pl.col("i")).alias("name"),
        )
        .cast(SCHEMA)
    )


@pytest.fixture(scope="module")
def large_xml(large) -> bytes:
    return _xml(large)


def test_small_batch_is_valid_and_groups_rows_by_end_to_end_id():
    xml = _xml(SMALL)
    assert validate_pain001(xml) == []
    assert summary(xml) == (3, Decimal("860.00"))
    assert _texts(xml, "EndToEndId") == ["E2E-ABS-3", "E2E-BOB-2", "E2E-ZZB-1"]
    assert re.findall(rb'<InstdAmt Ccy="EUR">([^<]*)</InstdAmt>', xml) == [b"280.00", b"300.00", b"280.00"]
    assert _texts(xml, "Ustrd") == [
        "Zorgbudget afwezigheid schooljaar 2024-2025 x2",
        "Zorgbudget personen met een handicap 2026-11",
        "Zorgbudget zwaar zorgbehoevenden 2026-09, 2026-10",
    ]
    assert _texts(xml, "Nm") == ["Zorgkas CM", "Zorgkas CM", "Lotte Orsted", "Jurgen Strasse", "Emile Dupre"]
    assert b"<BICFI>VSBZBEB1</BICFI>" in xml and b"<PmtInfId>VSB-ZK100-2026-11-26-P1</PmtInfId>" in xml
    assert b"<CreDtTm>2026-11-26T02:00:00</CreDtTm>" in xml and b"<Dt>2026-11-27</Dt>" in xml


def test_large_batch_is_valid_and_agrees_with_the_frame(large, large_xml):
    xml = large_xml
    assert validate_pain001(xml) == []
    assert summary(xml) == (large["end_to_end_id"].n_unique(), large["amount"].sum())
    assert summary(xml)[0] == 120_000
    assert xml.count(b"<CtrlSum>") == 2 and xml.count(b"<NbOfTxs>120000</NbOfTxs>") == 2


def test_output_is_byte_identical_whatever_the_row_order(large, large_xml):
    assert _xml(SMALL) == _xml(SMALL.reverse()) == _xml(SMALL.sample(fraction=1.0, shuffle=True, seed=7))
    assert _xml(large.sample(fraction=1.0, shuffle=True, seed=11)) == large_xml


def test_no_insz_in_the_xml(large, large_xml):
    xml = _xml(SMALL)
    assert not any(insz.encode() in xml for insz in SMALL["insz"])
    eleven_digits = set(re.findall(rb"(?<![0-9])[0-9]{11}(?![0-9])", large_xml))
    assert eleven_digits.isdisjoint(insz.encode() for insz in large["insz"])


# fmt: off
# name                                       raw                                  expected
NAME_CASES = [
    ("accents are dropped",                   "Émile Dupré-Çelik",                 "Emile Dupre-Celik"),
    ("sharp s is spelled out",                "Jürgen Straße",                     "Jurgen Strasse"),
    ("letters without decomposition",         "Øster Łukasz Æbelø Œuvre",          "Oster Lukasz AEbelo OEuvre"),
    ("ampersand becomes plus",                "Peeters & Zonen",                   "Peeters + Zonen"),
    ("typographic apostrophe",                "Jan ’t Hooft",                      "Jan 't Hooft"),
    ("XML specials become spaces",            'A <b>"x"</b>; y',                   "A b x /b y"),
    ("other scripts become spaces, trimmed",  "李 Wei  Zhang 明",                  "Wei Zhang"),
    ("cut to 70 characters",                  "Van " + "a" * 80,                   ("Van " + "a" * 80)[:70]),
    ("no trailing space after the cut",       "a" * 69 + " bcd",                   "a" * 69),
]
# fmt: on


@pytest.mark.parametrize(("name", "raw", "expected"), NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_names_in_the_sepa_character_set(name, raw, expected):
    assert pl.select(sepa_text(pl.lit(raw), NAME_MAX)).item() == expected


def test_transliterated_names_in_the_xml_are_sepa_characters_only(large_xml):
    names = set(re.findall(rb"<Cdtr><Nm>([^<]*)</Nm>", large_xml))
    assert all(re.fullmatch(rb"[A-Za-z0-9/\-?:().,'+ ]{1,70}", n) for n in names)
    assert b"Zoe Muller-Lukasiewicz 0" in names


def _months(first: dt.date, count: int) -> list[dt.date]:
    return [dt.date(first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1, 1) for k in range(count)]


# fmt: off
# name                                          budget  months  expected text
REMITTANCE_CASES = [
    ("12 ZZB months still fit in full",         "ZZB",  12,     "Zorgbudget zwaar zorgbehoevenden " + ", ".join(f"2025-{m:02d}" for m in range(1, 13))),
    ("13 ZZB months are shortened",             "ZZB",  13,     "Zorgbudget zwaar zorgbehoevenden 2025-01..2026-01 (13 months)"),
    ("23 months of arrears",                    "ZZB",  23,     "Zorgbudget zwaar zorgbehoevenden 2025-01..2026-11 (23 months)"),
    ("11 BOB months still fit in full",         "BOB",  11,     "Zorgbudget personen met een handicap " + ", ".join(f"2025-{m:02d}" for m in range(1, 12))),
    ("12 BOB months are shortened",             "BOB",  12,     "Zorgbudget personen met een handicap 2025-01..2025-12 (12 months)"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "budget", "months", "expected"), REMITTANCE_CASES, ids=[c[0] for c in REMITTANCE_CASES]
)
def test_remittance_text_names_budget_and_months_within_140(name, budget, months, expected):
    rows = [_row("E2E-1", "85073112305", budget, m, "140.00") for m in _months(dt.date(2025, 1, 1), months)]
    xml = _xml(_frame(rows))
    assert _texts(xml, "Ustrd") == [expected]
    assert len(expected) <= REMITTANCE_MAX
    assert validate_pain001(xml) == []


def test_absence_budgets_of_several_school_years_in_one_transaction():
    rows = [
        _row("E2E-1", "1", "ZZB-ABSENCE", dt.date(2024, 8, 31), "140.00"),
        _row("E2E-1", "1", "ZZB-ABSENCE", dt.date(2025, 8, 31), "280.00", quantity=2),
    ]
    xml = _xml(_frame(rows))
    assert _texts(xml, "Ustrd") == ["Zorgbudget afwezigheid schooljaar 2023-2024, 2024-2025 x2"]
    assert summary(xml) == (1, Decimal("420.00"))


def _with(frame: pl.DataFrame, **columns) -> pl.DataFrame:
    return frame.with_columns(**{k: v if isinstance(v, pl.Expr) else pl.lit(v) for k, v in columns.items()})


# fmt: off
# name                                         payments                                                                          message
REFUSED_CASES = [
    ("empty batch: no payments.xml",           SMALL.clear(),                                                                    "no payments"),
    ("an invalid creditor IBAN",               _with(SMALL.head(1), iban="BE41063012345611"),                                    "1 creditor IBANs are not valid"),
    ("a missing creditor IBAN",                _with(SMALL.head(1), iban=pl.lit(None, pl.String)),                              "nulls"),
    ("money as a float",                       SMALL.with_columns(pl.col("amount").cast(pl.Float64)),                           "Decimal(12,2)"),
    ("two zorgkassen in one file",             pl.concat([SMALL.head(1), _with(SMALL.tail(1), zorgkas="ZK200")]),               "2 zorgkassen"),
    ("an unknown budget",                      _with(SMALL.head(1), budget="XYZ"),                                               "unknown budget"),
    ("a negative amount (never netted)",       SMALL.head(1).with_columns(-pl.col("amount")),                                    "zero or less"),
    ("one id, two IBANs",                      pl.concat([SMALL.head(1), _with(SMALL.slice(1, 1), iban=IBAN_B)]),                "different iban"),
    ("one id, two persons",                    pl.concat([SMALL.head(1), _with(SMALL.slice(1, 1), insz="1")]),                   "different insz"),
    ("the same month twice",                   pl.concat([SMALL.head(1), SMALL.head(1)]),                                        "same month twice"),
    ("an end_to_end_id over 35 characters",    _with(SMALL.head(1), end_to_end_id="E" * 36),                                     "end_to_end_id"),
    ("an end_to_end_id with '//'",             _with(SMALL.head(1), end_to_end_id="A//B"),                                       "end_to_end_id"),
    ("a name without any SEPA character",      _with(SMALL.head(1), name="李明"),                                                "no character left"),
]
# fmt: on


@pytest.mark.parametrize(("name", "payments", "message"), REFUSED_CASES, ids=[c[0] for c in REFUSED_CASES])
def test_unusable_payments_are_refused_with_counts_only(name, payments, message):
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        _xml(payments)
    text = str(refused.value)
    assert not any(v in text for v in ["85073112305", IBAN_A, IBAN_B, "BE41063012345611", "Dupr"])


# fmt: off
# name                                    changes                                                         message
BAD_HEADER_CASES = [
    ("message id too long for PmtInfId",  {"message_id": "M" * 33},                                       "message_id"),
    ("message id starting with '/'",      {"message_id": "/VSB"},                                         "message_id"),
    ("invalid debtor IBAN",               {"debtor": DEBTOR | {"iban": "BE72735100000117"}},              "debtor IBAN"),
    ("invalid debtor BIC",                {"debtor": DEBTOR | {"bic": "VS1"}},                            "debtor BIC"),
    ("debtor without a name",             {"debtor": DEBTOR | {"name": ""}},                              "debtor lacks"),
]
# fmt: on


@pytest.mark.parametrize(("name", "changes", "message"), BAD_HEADER_CASES, ids=[c[0] for c in BAD_HEADER_CASES])
def test_unusable_header_is_refused(name, changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _xml(SMALL, **changes)


def test_validation_reports_schema_errors_and_broken_xml():
    xml = _xml(SMALL)
    assert validate_pain001(xml.replace(b'Ccy="EUR"', b'Ccy="euro"', 1)) != []
    assert any("NbOfTxs" in e for e in validate_pain001(xml.replace(b"<NbOfTxs>3</NbOfTxs>", b"<NbOfTxs>x</NbOfTxs>")))
    assert validate_pain001(xml[:-30])[0].startswith("not well-formed XML")


def test_a_sample_of_generated_ibans_is_valid_for_stdnum(large):
    assert all(std_iban.is_valid(v) for v in large["iban"].gather_every(997))
