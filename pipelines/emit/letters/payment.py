"""How a member pays the zorgkas: the structured reference of a recovery letter and the EPC QR code of invoice and
recovery letters (docs/spec/rules.md §9, L-RECOVERY and L-INVOICE).

Recovery references. A recovery letter carries a Belgian structured communication of its own, in P-REFERENCE's
format (`+++DDD/DDDD/DDDDD+++`: 10 digits of base and 2 check digits, pipelines/premium/invoices.py
`structured_reference`). The 10-digit base is `9 MMMM NNNNN`:
- `9`: a recovery. An invoice's base is the zorgkas's invoice sequence (P-REFERENCE), which stays below
  9,000,000,000 (invoices.REFERENCE_BASE_LIMIT: 9 billion invoices, some 3,000 years of a zorgkas's invoice
  runs), so no recovery reference can ever equal an invoice reference of the same zorgkas;
- `MMMM`: the letter's month, counted from January 2000 (0000) to August 2833 (9999): a payment run is the
  first run of its month on or after the payment day (PAY-MONTH), so a month has one payment run and so one
  set of recovery letters;
- `NNNNN`: the letter's place among that zorgkas's recovery letters of the run, in insz order, from 1 (the
  number in its letter id): at most 99,999 recovery letters a zorgkas and month (`recovery_bases` refuses more).
The same run gives the same references (a rerun, or a rebuilt state); the reference says nothing of the insz.

EPC QR code (the European Payments Council's "Quick Response Code: guidelines to enable data capture for the
initiation of a SEPA credit transfer", EPC069-12, version 002): the payload is twelve lines, of which the last
two may be left out when empty (`epc_payload`):

    BCD                 service tag
    002                 version (002: the BIC may be empty inside the EEA; we give it)
    1                   character set: 1 = UTF-8
    SCT                 identification: SEPA credit transfer
    VSBZBEB1            the beneficiary's BIC
    Zorgkas CM          the beneficiary's name (at most 70 characters)
    BE72735100000116    the beneficiary's IBAN
    EUR140.00           the amount: EUR and at most two decimals, 0.01 to 999999999.99
    (empty)             purpose code
    000001234567        remittance information, structured (at most 35 characters)
    (empty)             remittance information, unstructured: only when the structured line is empty

The Belgian structured communication goes on the *structured* remittance line, as its 12 digits without the
`+++` and the slashes: EPC069-12 defines that line as the creditor's reference ("ISO 11649 RF Creditor Reference
may be used": may, not must), and Febelfin gives the structured communication's digital form as the 12 digits;
written in the unstructured line it would reach the zorgkas as free text, and the payer's bank would not check
its digits (a mistyped or altered communication is what the check digits are for). The QR code is drawn by the
letter renderer (flows/io/letters.py) with segno, error correction level M, as EPC069-12 requires.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import polars as pl
import segno

from pipelines.premium.invoices import structured_reference

RECOVERY_BASE = 9 * 10**9  # the first recovery base: invoice bases stay below it (module docstring)
RECOVERY_MONTH_BASE = dt.date(2000, 1, 1)
RECOVERIES_PER_MONTH = 99_999  # NNNNN
EPC_HEADER = "BCD\n002\n1\nSCT\n"  # service tag, version, character set (UTF-8), identification
EPC_NAME_MAX = 70
EPC_QR_VERSION_MAX = 13  # EPC069-12: at most QR version 13 (331 bytes at level M)


@dataclass(frozen=True)
class PaymentTerms:
    """How the recovery letters of one date are paid back: by `due_date`, to the zorgkas's account (`accounts`:
    code, name, iban, bic, the zorgkassen reference)."""

    letter_date: dt.date
    due_date: dt.date
    accounts: pl.DataFrame


def recovery_bases(letter_date: dt.date, number: pl.Expr) -> pl.Expr:
    """The reference base `9 MMMM NNNNN` of recovery letters dated `letter_date`, `number` their place (from 1)
    among the zorgkas's recovery letters of that date (module docstring)."""
    months = (letter_date.year - RECOVERY_MONTH_BASE.year) * 12 + letter_date.month - 1
    return (pl.lit(RECOVERY_BASE + months * (RECOVERIES_PER_MONTH + 1), pl.Int64) + number.cast(pl.Int64)).alias(
        "reference_base"
    )


def recovery_reference(frame: pl.DataFrame, letter_date: dt.date, number: str) -> pl.DataFrame:
    """`frame` with the `structured_reference` of each recovery letter (its place among the zorgkas's recovery
    letters of the date in the column `number`); more than RECOVERIES_PER_MONTH letters is an error."""
    if frame.height and frame[number].max() > RECOVERIES_PER_MONTH:
        raise ValueError(
            f"more than {RECOVERIES_PER_MONTH:,} recovery letters for one zorgkas on {letter_date}: "
            "the recovery references (pipelines/emit/letters/payment.py) have no room for them"
        )
    return frame.with_columns(recovery_bases(letter_date, pl.col(number))).with_columns(structured_reference())


def epc_payload(name: pl.Expr, iban: pl.Expr, bic: pl.Expr, amount: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """The EPC QR code's payload (EPC069-12 version 002, module docstring) of a credit transfer of `amount` (a
    decimal, euro) to the account `iban`/`bic` of `name`, with the structured communication `reference`
    (+++DDD/DDDD/DDDDD+++) on the structured remittance line as its 12 digits."""
    digits = reference.str.replace_all(r"[^0-9]", "")
    return pl.concat_str(
        pl.lit(EPC_HEADER),
        bic,
        pl.lit("\n"),
        name.str.slice(0, EPC_NAME_MAX),
        pl.lit("\n"),
        iban.str.replace_all(" ", ""),
        pl.lit("\nEUR"),
        amount.cast(pl.Decimal(12, 2)).cast(pl.String),
        pl.lit("\n\n"),
        digits,
    ).alias("epc")


def with_epc(frame: pl.DataFrame, accounts: pl.DataFrame | None, amount: str) -> pl.DataFrame:
    """`frame` (zorgkas, structured_reference and the column `amount`) with `epc`: the payload of a transfer of
    `amount` to its zorgkas's account (`accounts`: code, name, iban, bic); null without `accounts`."""
    if accounts is None:
        return frame.with_columns(pl.lit(None, pl.String).alias("epc"))
    account = accounts.select(
        pl.col("code").alias("zorgkas"), pl.col("name").alias("_payee"), pl.col("iban").alias("_iban"), "bic"
    ).rename({"bic": "_bic"})
    joined = frame.join(account, on="zorgkas", how="left", maintain_order="left")
    payload = epc_payload(
        pl.col("_payee"), pl.col("_iban"), pl.col("_bic"), pl.col(amount), pl.col("structured_reference")
    )
    return joined.with_columns(payload).drop("_payee", "_iban", "_bic")


def qr_svg(payload: str) -> str:
    """The EPC QR code of `payload` as an SVG image: byte mode, UTF-8, error correction level M exactly (EPC069-12:
    no boost), with the quiet zone of four modules the QR standard asks for. Deterministic."""
    code = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False, mode="byte")
    if code.version > EPC_QR_VERSION_MAX:
        raise ValueError(f"an EPC QR code has at most version {EPC_QR_VERSION_MAX}, not {code.version}")
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, svgclass=None, lineclass=None, nl=False, border=4)
    return out.getvalue().decode("ascii")
