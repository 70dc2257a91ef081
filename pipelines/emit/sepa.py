"""payments.xml: one zorgkas's payment run as an ISO 20022 SEPA credit transfer (pain.001.001.09).

docs/spec/outputs.md, "payments.xml": debtor the zorgkas account from the reference data, one
transaction per `end_to_end_id` with the summed amount and a remittance text naming the
budget and months; valid against the official XSD; its number of transactions and control
sum equal payments.parquet. Deterministic: the same inputs give the same bytes.

Structure, from the official pain.001.001.09 XSD shipped with sepaxml (package data):
Document/CstmrCdtTrfInitn with GrpHdr (MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty/Nm) and
one PmtInf (PmtInfId, PmtMtd TRF, BtchBookg, NbOfTxs, CtrlSum, PmtTpInf/SvcLvl/Cd SEPA,
ReqdExctnDt/Dt, Dbtr/Nm, DbtrAcct/Id/IBAN, DbtrAgt/FinInstnId/BICFI, ChrgBr SLEV) holding
the CdtTrfTxInf elements (PmtId/EndToEndId, Amt/InstdAmt Ccy=EUR, Cdtr/Nm, CdtrAcct/Id/IBAN,
RmtInf/Ustrd). The creditor agent (BIC) is left out: SEPA payments are IBAN-only.

Characters: the EPC's restricted Latin set (a-z A-Z 0-9 / - ? : ( ) . , ' + and space).
Names are transliterated into it (accents dropped, ß -> ss, & -> +, anything else a
space); identifiers must already be in it. Because nothing outside that set reaches the
XML, no text needs XML escaping, so the transactions are formatted as strings with polars
(about 0.5 s for 120,000 transactions) instead of one lxml element per field.

Left out on purpose: the debtor's `creditor_id` (a SEPA creditor identifier belongs to
direct debits, pain.008; a credit transfer has no place for it), postal addresses, and
any category purpose code.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal
from functools import cache
from importlib import resources

import polars as pl
from lxml import etree
from stdnum import bic as std_bic
from stdnum import iban as std_iban

from pipelines.ingest.iban import IBAN_VALID, compact_iban, with_iban_status
from pipelines.settle.payments import PAYMENT_COLUMNS

PAIN_001 = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{PAIN_001}"
CURRENCY = "EUR"
NAME_MAX = 70  # EPC: Cdtr/Nm and Dbtr/Nm at most 70 characters (the XSD allows 140)
REMITTANCE_MAX = 140  # RmtInf/Ustrd, Max140Text
ID_MAX = 35  # MsgId, PmtInfId, EndToEndId: Max35Text
PMT_INF_SUFFIX = "-P1"  # PmtInfId = message_id + suffix: one payment information block per message
MESSAGE_ID_MAX = ID_MAX - len(PMT_INF_SUFFIX)

SEPA_CHARACTERS = r"A-Za-z0-9/\-?:().,'+ "
_SEPA_ID = rf"^[{SEPA_CHARACTERS}]{{1,{ID_MAX}}}$"
# characters that lose nothing but their accents are handled by NFKD; these have no decomposition
TRANSLITERATIONS = {
    "ß": "ss",
    "ẞ": "SS",
    "Æ": "AE",
    "æ": "ae",
    "Œ": "OE",
    "œ": "oe",
    "Ø": "O",
    "ø": "o",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ð": "D",
    "ð": "d",
    "Þ": "TH",
    "þ": "th",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "&": "+",
    "’": "'",
    "‘": "'",
    "‛": "'",
    "`": "'",
    "´": "'",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
}

BUDGET_LABELS = {
    "ZZB": "Zorgbudget zwaar zorgbehoevenden",
    "BOB": "Zorgbudget personen met een handicap",
    "ZZB-ABSENCE": "Zorgbudget afwezigheid schooljaar",
}
ABSENCE_BUDGET = "ZZB-ABSENCE"
ITEM_UNITS = {"ZZB": "months", "BOB": "months", "ZZB-ABSENCE": "school years"}


def sepa_text(text: pl.Expr, max_length: int) -> pl.Expr:
    """`text` in the SEPA restricted Latin set: accents dropped, known letters spelled out, the rest a space.

    Runs of spaces become one, the ends are trimmed, and the result is cut to `max_length`.
    """
    spelled = (
        text.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.replace_many(list(TRANSLITERATIONS), list(TRANSLITERATIONS.values()))
    )
    restricted = spelled.str.replace_all(rf"[^{SEPA_CHARACTERS}]", " ").str.replace_all(r"\s+", " ")
    return restricted.str.strip_chars().str.slice(0, max_length).str.strip_chars()


def sepa_id_valid(identifier: pl.Expr) -> pl.Expr:
    """An EPC identifier: 1 to 35 SEPA characters, not starting or ending with "/", without "//"."""
    return (
        identifier.str.contains(_SEPA_ID)
        & ~identifier.str.starts_with("/")
        & ~identifier.str.ends_with("/")
        & ~identifier.str.contains("//", literal=True)
    ).fill_null(False)


def remittance_item() -> pl.Expr:
    """What one payments row pays: "2026-09" for a month, "2024-2025" (or "2024-2025 x2") for absence budgets.

    An absence row's month is the 31 August that ends the school year (docs/spec/outputs.md).
    """
    year = pl.col("month").dt.year()
    school_year = pl.format("{}-{}", year - 1, year)
    absence = pl.when(pl.col("quantity") > 1).then(pl.format("{} x{}", school_year, pl.col("quantity")))
    return (
        pl.when(pl.col("budget") == ABSENCE_BUDGET)
        .then(absence.otherwise(school_year))
        .otherwise(pl.col("month").dt.strftime("%Y-%m"))
    )


def remittance_text() -> pl.Expr:
    """The unstructured remittance text of a transaction, at most 140 characters.

    The budget's label and every item in month order ("Zorgbudget zwaar zorgbehoevenden
    2026-09, 2026-10"); when that is too long, the first and last item and the count
    ("... 2025-01..2026-11 (23 months)").
    """
    label = pl.col("budget").replace_strict(BUDGET_LABELS, return_dtype=pl.String)
    unit = pl.col("budget").replace_strict(ITEM_UNITS, return_dtype=pl.String)
    items = pl.col("items")
    full = pl.format("{} {}", label, items.list.join(", "))
    short = pl.format("{} {}..{} ({} {})", label, items.list.first(), items.list.last(), items.list.len(), unit)
    return pl.when(full.str.len_chars() <= REMITTANCE_MAX).then(full).otherwise(short)


def _check_payments(payments: pl.DataFrame) -> None:
    """Raise ValueError for a frame that cannot become a payment file (counts only: no insz, name or IBAN)."""
    missing = [c for c in PAYMENT_COLUMNS if c not in payments.columns]
    if missing:
        raise ValueError(f"payments lack columns {missing}")
    if payments.height == 0:
        raise ValueError(
            "no payments: a payment run that pays nothing gets no payments.xml "
            "(pain.001 needs at least one transaction); write no file instead"
        )
    amount = payments.schema["amount"]
    if not isinstance(amount, pl.Decimal) or amount.scale != 2:
        raise ValueError(f"payments.amount must be Decimal(12,2), not {amount}")
    if payments.schema["month"] != pl.Date:
        raise ValueError(f"payments.month must be a Date, not {payments.schema['month']}")
    nulls = {c: n for c, n in payments.select(pl.col(*PAYMENT_COLUMNS).null_count()).row(0, named=True).items() if n}
    if nulls:
        raise ValueError(f"payments have nulls: {nulls}")
    zorgkassen = payments["zorgkas"].n_unique()
    if zorgkassen != 1:
        raise ValueError(f"payments of {zorgkassen} zorgkassen: one payment file holds one zorgkas's members")
    budgets = payments.filter(~pl.col("budget").is_in(list(BUDGET_LABELS)))
    if budgets.height:
        raise ValueError(f"{budgets.height} payments rows have an unknown budget (expected {list(BUDGET_LABELS)})")
    bad_ids = payments.filter(~sepa_id_valid(pl.col("end_to_end_id"))).height
    if bad_ids:
        raise ValueError(
            f"{bad_ids} payments rows have an end_to_end_id that is not 1-35 SEPA characters "
            "(or starts or ends with '/', or holds '//')"
        )
    bad_quantity = payments.filter(pl.col("quantity") < 1).height
    if bad_quantity:
        raise ValueError(f"{bad_quantity} payments rows have a quantity below 1")
    twice = payments.select(pl.struct("end_to_end_id", "month").is_duplicated().sum()).item()
    if twice:
        raise ValueError(f"{twice} payments rows pay the same month twice in one transaction")


def transactions(payments: pl.DataFrame) -> pl.DataFrame:
    """One row per end_to_end_id, sorted by it: summed amount, SEPA name, compact IBAN, remittance text.

    Raises ValueError when rows of one end_to_end_id disagree on person, budget, IBAN or
    name, when a transaction is not a positive amount (PAY-RECOVERY: never negative),
    when an IBAN fails `stdnum.iban.is_valid` (W-IBAN-MISSING withholds those payments
    before they get here) or when a name has no SEPA character left.
    """
    _check_payments(payments)
    rows = payments.select(
        "end_to_end_id",
        "insz",
        "budget",
        "month",
        "amount",
        compact_iban(pl.col("iban")).alias("iban"),
        sepa_text(pl.col("name"), NAME_MAX).alias("name"),
        remittance_item().alias("item"),
    )
    grouped = rows.group_by("end_to_end_id").agg(
        pl.col("amount").sum(),
        pl.col("budget").first(),
        pl.col("iban").first(),
        pl.col("name").first(),
        pl.col("item").sort_by("month").alias("items"),
        pl.struct(
            pl.col("insz").n_unique().alias("insz"),
            pl.col("budget").n_unique().alias("budget"),
            pl.col("iban").n_unique().alias("iban"),
            pl.col("name").n_unique().alias("name"),
        ).alias("_distinct"),
    )
    for field in ["insz", "budget", "iban", "name"]:
        disagreeing = grouped.filter(pl.col("_distinct").struct.field(field) > 1).height
        if disagreeing:
            raise ValueError(f"{disagreeing} end_to_end_ids have rows with different {field} values")
    not_positive = grouped.filter(pl.col("amount") <= 0).height
    if not_positive:
        raise ValueError(f"{not_positive} transactions have an amount of zero or less")
    unnamed = grouped.filter(pl.col("name") == "").height
    if unnamed:
        raise ValueError(f"{unnamed} creditor names have no character left in the SEPA character set")
    ibans = with_iban_status(grouped.select(pl.col("iban").unique()))
    invalid = ibans.filter(pl.col("iban_status") != IBAN_VALID).height
    if invalid:
        raise ValueError(f"{invalid} creditor IBANs are not valid (stdnum.iban.is_valid); they must not be paid")
    return grouped.select("end_to_end_id", "amount", "name", "iban", remittance_text().alias("remittance")).sort(
        "end_to_end_id"
    )


def _checked_debtor(debtor: dict) -> tuple[str, str, str]:
    """The debtor's SEPA name, compact IBAN and BIC; ValueError when one is unusable."""
    missing = [k for k in ("name", "iban", "bic") if not debtor.get(k)]
    if missing:
        raise ValueError(f"debtor lacks {missing}")
    name = pl.select(sepa_text(pl.lit(str(debtor["name"])), NAME_MAX)).item()
    iban = std_iban.compact(str(debtor["iban"]))
    bic = std_bic.compact(str(debtor["bic"]))
    if not name:
        raise ValueError("debtor name has no character left in the SEPA character set")
    if not std_iban.is_valid(iban):
        raise ValueError("debtor IBAN is not valid")
    if not std_bic.is_valid(bic):
        raise ValueError("debtor BIC is not valid")
    return name, iban, bic


def _checked_message_id(message_id: str) -> str:
    ok = pl.select(sepa_id_valid(pl.lit(message_id, pl.String))).item() and len(message_id) <= MESSAGE_ID_MAX
    if not ok:
        raise ValueError(
            f"message_id {message_id!r} must be 1-{MESSAGE_ID_MAX} SEPA characters, "
            "not starting or ending with '/', without '//'"
        )
    return message_id


_TRANSACTION = (
    "      <CdtTrfTxInf><PmtId><EndToEndId>{}</EndToEndId></PmtId>"
    f'<Amt><InstdAmt Ccy="{CURRENCY}">{{}}</InstdAmt></Amt>'
    "<Cdtr><Nm>{}</Nm></Cdtr><CdtrAcct><Id><IBAN>{}</IBAN></Id></CdtrAcct>"
    "<RmtInf><Ustrd>{}</Ustrd></RmtInf></CdtTrfTxInf>"
)


_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>{message_id}</MsgId>
      <CreDtTm>{creation}</CreDtTm>
      <NbOfTxs>{count}</NbOfTxs>
      <CtrlSum>{control_sum}</CtrlSum>
      <InitgPty><Nm>{debtor_name}</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>{message_id}{suffix}</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <BtchBookg>true</BtchBookg>
      <NbOfTxs>{count}</NbOfTxs>
      <CtrlSum>{control_sum}</CtrlSum>
      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>
      <ReqdExctnDt><Dt>{execution_date}</Dt></ReqdExctnDt>
      <Dbtr><Nm>{debtor_name}</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>{debtor_iban}</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>{debtor_bic}</BICFI></FinInstnId></DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
"""
_TAIL = """
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
"""


def _transaction_lines(tx: pl.DataFrame) -> str:
    """One CdtTrfTxInf line per transaction (`transactions`), in its order."""
    line = pl.format(_TRANSACTION, "end_to_end_id", pl.col("amount").cast(pl.String), "name", "iban", "remittance")
    return tx.select(line.str.join("\n")).item()


def credit_transfer_xml(
    payments: pl.DataFrame,
    debtor: dict,
    message_id: str,
    creation: dt.datetime,
    execution_date: dt.date,
) -> bytes:
    """payments.xml for one zorgkas's payment run: a pain.001.001.09 credit transfer, UTF-8 bytes.

    `payments` has the payments.parquet columns (docs/spec/outputs.md) for one zorgkas; rows sharing
    an `end_to_end_id` become one transaction with the summed amount. `debtor` is the
    zorgkas row of data/reference/zorgkassen.csv (name, iban, bic; creditor_id unused).
    `message_id` (1-32 SEPA characters) is the MsgId; the PmtInfId is message_id + "-P1".
    `creation` gives CreDtTm to the second and must come from the run date, never the clock.

    Same inputs, same bytes, whatever the row order. No insz is written. Transactions are
    sorted by end_to_end_id, one per line.

    An empty payments frame raises ValueError: a pain.001 message must hold at least one
    transaction, and a zorgkas expects no payments.xml at all from a run that pays nothing
    (the caller writes none). Other unusable input (unknown budget, nulls, an invalid IBAN,
    a non-positive amount, rows of one end_to_end_id that disagree) raises ValueError too,
    with counts only: the message never carries an insz, a name or an IBAN.
    """
    debtor_name, debtor_iban, debtor_bic = _checked_debtor(debtor)
    message_id = _checked_message_id(message_id)
    tx = transactions(payments)
    head = _HEAD.format(
        namespace=NAMESPACE,
        message_id=message_id,
        suffix=PMT_INF_SUFFIX,
        creation=creation.replace(microsecond=0).isoformat(),
        count=tx.height,
        control_sum=f"{tx['amount'].sum():.2f}",
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
        debtor_bic=debtor_bic,
        execution_date=execution_date.isoformat(),
    )
    return (head + _transaction_lines(tx) + _TAIL).encode("utf-8")


@cache
def pain001_schema() -> etree.XMLSchema:
    """The official pain.001.001.09 XSD, as shipped in the sepaxml package (package data, parsed once)."""
    xsd = resources.files("sepaxml").joinpath("schemas", f"{PAIN_001}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


_SCHEMA_LOCK = threading.Lock()  # an XMLSchema keeps its error log on itself: one validation at a time


def validate_pain001(xml: bytes) -> list[str]:
    """The XSD errors of a pain.001.001.09 message ("line N: message"), empty when it is valid.

    The messages can quote values from the file (names, IBANs): show them to an operator,
    never put them in logs or reports.
    """
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    try:
        document = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as error:
        return [f"not well-formed XML: {error}"]
    schema = pain001_schema()
    with _SCHEMA_LOCK:
        if schema.validate(document):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]


def summary(xml: bytes) -> tuple[int, Decimal]:
    """The number of transactions and the control sum in the group header (GrpHdr) of a pain.001 message."""
    events = etree.iterparse(
        io.BytesIO(xml), events=("end",), tag=f"{{{NAMESPACE}}}GrpHdr", huge_tree=True, resolve_entities=False
    )
    for _, header in events:
        number = header.findtext(f"{{{NAMESPACE}}}NbOfTxs")
        control_sum = header.findtext(f"{{{NAMESPACE}}}CtrlSum")
        if number is None or control_sum is None:
            raise ValueError("GrpHdr lacks NbOfTxs or CtrlSum")
        return int(number), Decimal(control_sum)
    raise ValueError(f"no {PAIN_001} GrpHdr found")
