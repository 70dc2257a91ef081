"""The letters of a run, one row per letter (docs/spec/rules.md §9): L-DECISION, L-RECOVERY, L-REQUEST, L-INVOICE.

Pure and vectorised: polars frames in, one frame of LETTER_COLUMNS out, in print order. A row holds
what its Typst template (templates/<kind>.typ) fills into the sentences of texts/<language>.yaml:
every value already formatted in the letter's language (language.py), never a sentence itself, so
that a run of millions of invoices does not hold millions of copies of the same paragraph. The
flow (flows/io/letters.py) renders the rows into letters/NNNN.pdf.

Inputs the engine provides (columns; a frame may have more):
- events: grants.EVENT_COLUMNS (insz, zorgkas, budget, event, first_month, last_month, monthly_amount, ...);
- payments: this run's paid rows: insz, budget, month, amount (payments.PAID_COLUMNS has them);
- motivation: MOTIVATION_COLUMNS, one row per (insz, budget, first_month, code, evidence record);
- recoveries: payments.RECOVERY_COLUMNS;
- worklist rows: worklist.WORKLIST_COLUMNS, already reduced to the rows whose letter is due (the first
  run in which a (person, code, since) appears: the flow keeps the letters ledger);
- invoices: premium.INVOICE_COLUMNS;
- members: insz, name and the optional language, street, postal_code, city, country (docs/spec/feeds.md);
- increased_allowance: insz of the members with an increased-allowance period active on the letter's date.
A held person (S-HOLD) gets no letter: the engine leaves them out of these inputs.

Letter ids (`letter_ids`): "<letter date>-<zorgkas>-<DEC|REC|REQ|INV>-<n>", n the letter's place among
the run's letters of that zorgkas and kind in (insz, subject) order, and for invoices the invoice's
reference base (unique within the zorgkas for ever, so an invoice rerun on the same date that issues
the invoices not issued before cannot reuse an id). The same run gives the same ids; the id is short
enough to say on the phone, and reveals nothing of the insz (a hash of an insz could be reversed by
trying the 10^9 possible numbers; polars' own hash is not stable across versions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipelines.emit.letters.appeal import AppealTerms, appeal_fee
from pipelines.emit.letters.language import DEFAULT_LANGUAGE, LANGUAGES, letter_texts, with_text
from pipelines.emit.letters.payment import PaymentTerms, recovery_reference, with_epc

KINDS = {"L-DECISION": "DEC", "L-RECOVERY": "REC", "L-REQUEST": "REQ", "L-INVOICE": "INV"}
DECISION_EVENTS = ["NEW", "CHANGED", "STOPPED", "CANCELLED"]  # CONTINUED gives no letter
REQUEST_CODES = ["W-IBAN-MISSING", "W-CHECK-RESIDENCE", "W-APPLY-SPECIAL", "W-APPLY-FACILITY"]
OUTCOMES = ["HOLDS", "FAILS"]

MOTIVATION_COLUMNS = {
    "insz": pl.String,
    "budget": pl.String,  # ZZB | BOB
    "first_month": pl.Date,  # the grant's first month, as in the event: the key of the letter
    "code": pl.String,  # the rule code that decided (G-BELRAI, ZZB-START, E-ALIVE, X-VAPH-PVB, ...)
    "outcome": pl.String,  # HOLDS | FAILS, as in the decision record's holds and fails lists
    "feed": pl.String,  # the record behind it: belrai_screeners, medsoc_scales, facility_stays, vaph_support,
    #                     members, residence_periods; null when the rule rests on no single record
    "record_id": pl.String,  # assessment_id, decision_id, stay_id, record_id; null for members rows
    "record_date": pl.Date,  # assessment_date, valid_from, admission_date, start_date, death_date, ...
    "record_end_date": pl.Date,  # valid_until, discharge_date, end_date; null when open
    "score": pl.Float64,  # total_score, score, or the sum of the ZTK pillars; null when none
    "record_kind": pl.String,  # service_kind, scale_kind, facility_kind, support_kind, DEATH, AFFILIATION_END
}
# a run of consecutive months of one budget with the same amount (and paid on the same day): `month` the first,
# `last` the last (null for a single month), `count` how many, `each` the amount of one month, `amount` the run's
MONTH_ROW = pl.Struct(
    {
        "budget": pl.String,
        "month": pl.String,
        "last": pl.String,
        "count": pl.String,
        "each": pl.String,
        "amount": pl.String,
        "paid_on": pl.String,
    }
)
MOTIVATION_ITEM = pl.Struct(
    {
        "code": pl.String,
        "outcome": pl.String,
        "feed": pl.String,
        "record_id": pl.String,
        "date": pl.String,
        "end_date": pl.String,
        "score": pl.String,
        "kind": pl.String,
    }
)
# a decision by hand or on appeal (rules.md §10): who decided (ZORGKAS | AGENCY), when, and on what received when
BY_HAND = pl.Struct({"by": pl.String, "decided": pl.String, "received": pl.String})
APPEAL_BLOCK = pl.Struct(
    {"days": pl.String, "receipt": pl.String, "deadline": pl.String, "fee": pl.String, "reduced": pl.Boolean}
)
LETTER_COLUMNS = {
    "letter_id": pl.String,
    "insz": pl.String,
    "zorgkas": pl.String,
    "kind": pl.String,  # L-DECISION | L-RECOVERY | L-REQUEST | L-INVOICE
    "subject": pl.String,  # the event, recovery, W- code or invoice the letter is about
    "language": pl.String,  # NL | FR
    "texts": pl.String,  # which texts: the language and the voice (L-ADDRESSEE: NL, NL-HEIRS, FR-PARENTS, ...)
    "letter_date": pl.Date,
    "date_text": pl.String,
    "name": pl.String,
    "postal_code": pl.String,
    "address": pl.List(pl.String),  # the address block's lines; empty when the address is incomplete
    "address_missing": pl.Boolean,
    "died": pl.String,  # L-ADDRESSEE: the member's date of death, for a letter to the heirs; null otherwise
    "topic": pl.String,  # which text: NEW_OPEN, STOPPED, ... (decision), the W- code, REDUCED | NORMAL
    "budget": pl.String,  # decision
    "first_month": pl.String,
    "last_month": pl.String,
    "monthly_amount": pl.String,
    "months": pl.List(MONTH_ROW),  # decision: paid in this run; recovery: the months to pay back
    "paid_note": pl.String,  # decision: PAID, ENDED, NONE or LATER (`paid_note`)
    "earlier": pl.Boolean,  # decision: a NEW grant from the window's first month (L-REASON: earlier months)
    "total": pl.String,
    "motivation": pl.List(MOTIVATION_ITEM),  # decision: the rules and records; recovery: the failing codes
    "since": pl.String,  # request
    "premium_year": pl.String,  # invoice
    "amount": pl.String,
    "allowance_date": pl.String,
    "due_date": pl.String,
    "structured_reference": pl.String,  # invoice (P-REFERENCE) and recovery (L-RECOVERY)
    "payment_due": pl.Date,  # invoice and recovery: the day by which to pay (letters.parquet `due_date`)
    "epc": pl.String,  # invoice and recovery: the EPC QR code's payload (payment.py); the renderer draws it
    "appeal": APPEAL_BLOCK,  # decision and recovery letters (L-APPEAL); null otherwise, and on an appeal's outcome
    "by_hand": BY_HAND,  # decision: the decision by hand or on appeal the grant holds by (rules.md §10); else null
}
# the columns a template reads (the JSON handed to Typst): not the insz, nor the date as a date; blocks.py turns
# `epc` into the QR code's SVG (`qr`) in the worker that renders the file
TEMPLATE_COLUMNS = [c for c in LETTER_COLUMNS if c not in ("insz", "letter_date", "postal_code", "payment_due")]
_FAR = dt.date(9999, 12, 1)


# --- members: language, name and address ------------------------------------------------------------


def _optional(members: pl.DataFrame, column: str) -> pl.Expr:
    if column in members.columns:
        return pl.col(column).cast(pl.String).str.strip_chars()
    return pl.lit(None, pl.String).alias(column)


def l_language(language: pl.Expr) -> pl.Expr:
    """L-LANGUAGE: the letter's language is the member's `language` (NL or FR), NL when absent.

    docs/spec/rules.md §9. Every sentence, rule text, date and amount of the letter is then in that language and its
    Belgian conventions (pipelines/emit/letters/language.py). A value other than NL or FR cannot pass
    ingest (R-ENUM); NL covers a null and an absent column alike.
    """
    language = language.str.to_uppercase()
    return pl.when(language.is_in(list(LANGUAGES))).then(language).otherwise(pl.lit(DEFAULT_LANGUAGE))


def member_blocks(members: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """The language (`l_language`) and the address block of the members among `persons` (insz).

    Columns: insz, language (the member's NL or FR; NL when absent or anything else), name, postal_code,
    address (name, street, postal code and city, and the country when it is not BE), address_missing
    (street, postal_code or city absent or empty: the block stays empty, docs/spec/feeds.md).
    """
    wanted = members.join(persons.select("insz").unique(), on="insz", how="semi")
    picked = wanted.select(
        "insz",
        l_language(_optional(wanted, "language")).alias("language"),
        pl.col("name").cast(pl.String),
        _optional(wanted, "street").alias("street"),
        _optional(wanted, "postal_code").alias("postal_code"),
        _optional(wanted, "city").alias("city"),
        _optional(wanted, "country").str.to_uppercase().alias("country"),
        _optional_date(wanted, "birth_date").alias("_birth"),
        _optional_date(wanted, "death_date").alias("_death"),
    )
    picked = with_text(picked, "country", "country", "country_text")
    missing = pl.any_horizontal([pl.col(c).is_null() | (pl.col(c) == "") for c in ("street", "postal_code", "city")])
    lines = pl.concat_list(
        pl.col("name"), pl.col("street"), pl.format("{} {}", "postal_code", "city"), pl.col("country_text")
    ).list.drop_nulls()
    return picked.select(
        "insz",
        "language",
        "name",
        "postal_code",
        pl.when(missing).then(pl.lit([], pl.List(pl.String))).otherwise(lines).alias("address"),
        missing.alias("address_missing"),
        "_birth",
        "_death",
    )


def _optional_date(members: pl.DataFrame, column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Date) if column in members.columns else pl.lit(None, pl.Date)


def l_addressee(letter_date: pl.Expr) -> pl.Expr:
    """L-ADDRESSEE: a letter about a member who died on or before the letter's date is addressed to the heirs of the
    deceased ("Aan de erfgenamen van wijlen <name>", "Aux héritiers de feu <name>") at the member's address, speaks of
    the member in the third person and the past tense, and states the date of death. A letter about a member younger
    than 18 on the letter's date is addressed to the parents or the legal representative ("Aan de ouders of de
    wettelijke vertegenwoordiger van <name>", "Aux parents ou au représentant légal de <name>").

    docs/spec/rules.md §9. The letter's voice from the members' `_death` and `_birth` (death_date, birth_date):
    HEIRS, PARENTS or SELF (language.VOICES); a member turns 18 on the 18th anniversary of the birth (a birth on
    29 February: on 28 February of a common year). `_addressed` applies it: the address's first line, the texts
    of the voice (texts/<language>.yaml `voices`) and the date of death.
    """
    died = pl.col("_death").is_not_null() & (pl.col("_death") <= letter_date)
    minor = pl.col("_birth").is_not_null() & (pl.col("_birth").dt.offset_by("18y") > letter_date)
    return pl.when(died).then(pl.lit("HEIRS")).when(minor).then(pl.lit("PARENTS")).otherwise(pl.lit("SELF"))


def _addressee_line(texts: dict[str, dict[str, Any]]) -> pl.Expr:
    """The address block's first line in the letter's language and voice: the name, or the addressee of
    L-ADDRESSEE with the name filled in."""
    line = pl.col("name")
    for language in LANGUAGES:
        for voice, sentence in texts[language]["addressee"].items():
            before, _, after = sentence.partition("{name}")
            chosen = (pl.col("language") == language) & (pl.col("_voice") == voice)
            line = pl.when(chosen).then(pl.concat_str(pl.lit(before), pl.col("name"), pl.lit(after))).otherwise(line)
    return line


def _addressed(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (with letter_date, language, name, address, _birth, _death) with L-ADDRESSEE applied: `texts` (the key
    of the language and voice), the address's first line, and `died` (the date of death, for the heirs)."""
    for column in ("_birth", "_death"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.Date).alias(column))
    frame = frame.with_columns(l_addressee(pl.col("letter_date")).alias("_voice"))
    voices = sorted(set(frame["_voice"].unique().to_list()) - {"SELF"})
    key = pl.col("language")
    for voice in voices:
        key = pl.when(pl.col("_voice") == voice).then(pl.format("{}-{}", "language", pl.lit(voice))).otherwise(key)
    frame = frame.with_columns(
        key.alias("texts"),
        pl.when(pl.col("_voice") == "HEIRS").then(pl.col("_death")).alias("_died"),
    )
    if voices:
        first = _addressee_line(letter_texts())
        address = pl.when(pl.col("address").list.len() > 0).then(pl.concat_list(first, pl.col("address").list.slice(1)))
        frame = frame.with_columns(address.otherwise(pl.col("address")).alias("address"))
    return with_text(frame, "_died", "date", "died")


def _with_members(frame: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the member's block; a person missing from `members` gets NL and no address."""
    blocks = member_blocks(members, frame)
    return frame.join(blocks, on="insz", how="left", maintain_order="left").with_columns(
        pl.col("language").fill_null(DEFAULT_LANGUAGE),
        pl.col("address").fill_null(pl.lit([], pl.List(pl.String))),
        pl.col("address_missing").fill_null(True),
    )


# --- ids, print order, common columns -----------------------------------------------------------------


def letter_ids(letters: pl.DataFrame, number: str | None = None) -> pl.DataFrame:
    """`letters` (zorgkas, kind, insz, subject, letter_date) with a stable `letter_id`, in the same order.

    "<letter date YYYYMMDD>-<zorgkas>-<DEC|REC|REQ|INV>-<n>": n is `number` when given (an invoice's
    reference base), else the letter's place (from 1) among the letters of its zorgkas, kind and date in
    (insz, subject) order. See the module docstring for why not a hash. Only the key columns are sorted.
    """
    if number:
        n = pl.col(number).cast(pl.Int64)
    else:
        keys = ["zorgkas", "kind", "letter_date", "insz", "subject"]
        ordered = letters.select(keys).with_row_index("_row").sort(keys)
        place = ordered.select(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("zorgkas", "kind", "letter_date"))
        n = pl.lit(pl.zeros(letters.height, pl.Int64, eager=True).scatter(ordered["_row"], place.to_series()))
    return letters.with_columns(
        pl.format(
            "{}-{}-{}-{}",
            pl.col("letter_date").dt.strftime("%Y%m%d"),
            pl.col("zorgkas"),
            pl.col("kind").replace_strict(KINDS, return_dtype=pl.String),
            n.cast(pl.String).str.zfill(7),
        ).alias("letter_id")
    )


def print_order(letters: pl.DataFrame) -> pl.DataFrame:
    """The print shop's order (docs/spec/outputs.md): language, then postal code (letters without one last), then id."""
    return letters.sort("language", "postal_code", "letter_id", nulls_last=True)


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    """LETTER_COLUMNS exactly: the kind's own columns, typed nulls for the others."""
    return frame.select(
        [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c) for c, t in LETTER_COLUMNS.items()]
    )


def _finish(frame: pl.DataFrame, number: str | None = None) -> pl.DataFrame:
    frame = with_text(_addressed(frame), "letter_date", "date", "date_text")
    return print_order(_conform(letter_ids(frame, number)))


def empty_letters() -> pl.DataFrame:
    """No letter: an empty frame of LETTER_COLUMNS."""
    return pl.DataFrame(schema=LETTER_COLUMNS)


def _appeal_block(frame: pl.DataFrame, terms: AppealTerms, increased_allowance: pl.DataFrame | None) -> pl.DataFrame:
    """L-APPEAL: the appeal block of each letter, in its language (days, receipt, deadline, fee, reduced)."""
    if increased_allowance is None:
        increased_allowance = pl.DataFrame(schema={"insz": pl.String})
    allowance = increased_allowance.select("insz").unique().with_columns(pl.lit(True).alias("increased_allowance"))
    frame = frame.join(allowance, on="insz", how="left", maintain_order="left").with_columns(
        appeal_fee(terms), pl.lit(terms.receipt).alias("_receipt"), pl.lit(terms.deadline).alias("_deadline")
    )
    frame = with_text(frame, "appeal_fee", "money", "_fee")
    frame = with_text(frame, "_receipt", "date", "_receipt_text")
    frame = with_text(frame, "_deadline", "date", "_deadline_text")
    block = pl.struct(
        days=pl.lit(str(terms.appeal_days)),
        receipt=pl.col("_receipt_text"),
        deadline=pl.col("_deadline_text"),
        fee=pl.col("_fee"),
        reduced=pl.col("increased_allowance").fill_null(False),
    )
    return frame.with_columns(block.alias("appeal"))


# --- motivation ---------------------------------------------------------------------------------------


def _code_rank(code: pl.Expr) -> pl.Expr:
    """Motivation order: the grounds and the right first, then the conditions, then exclusions."""
    return (
        pl.when(code.str.starts_with("G-"))
        .then(0)
        .when(code == "ZZB-START")
        .then(1)
        .when(code.str.starts_with("E-"))
        .then(2)
        .when(code.str.starts_with("X-") | code.str.starts_with("T-"))
        .then(3)
        .otherwise(4)
    )


def missing_rule_texts(pairs: pl.DataFrame, texts: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The (code, outcome) pairs of `pairs` that have no motivation sentence in some language, as "CODE/OUTCOME"."""
    texts = texts or letter_texts()
    missing = set()
    for code, outcome in pairs.select("code", "outcome").unique().iter_rows():
        for language in LANGUAGES:
            if not texts[language]["rules"].get(code, {}).get(outcome):
                missing.add(f"{code}/{outcome}")
    return sorted(missing)


def _check_rule_texts(pairs: pl.DataFrame) -> None:
    missing = missing_rule_texts(pairs)
    if missing:
        raise ValueError(f"no motivation text in texts/nl.yaml and texts/fr.yaml for {', '.join(missing)}")


def _kind_labels() -> pl.DataFrame:
    texts = letter_texts()
    rows = [(language, kind, label) for language in LANGUAGES for kind, label in texts[language]["kinds"].items()]
    return pl.DataFrame(
        rows, schema={"language": pl.String, "record_kind": pl.String, "_kind": pl.String}, orient="row"
    )


def _motivation_items(keys: pl.DataFrame, motivation: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Per `_letter` of `keys` (with `on` and language), the motivation items in order, formatted."""
    rows = keys.join(motivation.select(list(MOTIVATION_COLUMNS)), on=on, how="inner")
    _check_rule_texts(rows)
    rows = with_text(rows, "record_date", "date", "_date")
    rows = with_text(rows, "record_end_date", "date", "_end_date")
    rows = with_text(rows, "score", "score", "_score")
    rows = rows.join(_kind_labels(), on=["language", "record_kind"], how="left").with_columns(
        pl.coalesce("_kind", "record_kind").alias("_kind")
    )
    item = pl.struct(
        code="code",
        outcome="outcome",
        feed="feed",
        record_id="record_id",
        date="_date",
        end_date="_end_date",
        score="_score",
        kind="_kind",
    )
    return (
        rows.sort("_letter", _code_rank(pl.col("code")), "code", "outcome", "record_date", "record_id", nulls_last=True)
        .unique(["_letter", "code", "outcome", "feed", "record_id", "record_date"], keep="first", maintain_order=True)
        .group_by("_letter", maintain_order=True)
        .agg(item.alias("motivation"))
    )


# --- L-DECISION ---------------------------------------------------------------------------------------


def decision_topic() -> pl.Expr:
    """Which decision text: NEW, CHANGED and CANCELLED for an open or a closed grant, and STOPPED."""
    open_or_closed = pl.when(pl.col("last_month").is_null()).then(pl.lit("_OPEN")).otherwise(pl.lit("_CLOSED"))
    return (
        pl.when(pl.col("event") == "STOPPED")
        .then(pl.lit("STOPPED"))
        .otherwise(pl.concat_str(pl.col("event"), open_or_closed))
        .alias("topic")
    )


def _decision_rows(events: pl.DataFrame) -> pl.DataFrame:
    """One row per decision event (`_letter` numbers them): its key, topic and subject ("ZZB NEW 2026-09..")."""
    last = pl.col("last_month")
    until = pl.when(last.is_null()).then(pl.lit("")).otherwise(pl.format("..{}", last.dt.strftime("%Y-%m")))
    subject = pl.format("{} {} {}{}", "budget", "event", pl.col("first_month").dt.strftime("%Y-%m"), until)
    return (
        events.filter(pl.col("event").is_in(DECISION_EVENTS))
        .select(
            "insz",
            "zorgkas",
            "budget",
            "event",
            pl.col("first_month").alias("_first"),
            last.alias("_last"),
            pl.col("monthly_amount").alias("_monthly"),
            decision_topic(),
            subject.alias("subject"),
        )
        .with_row_index("_letter")
    )


def month_runs(rows: pl.DataFrame) -> pl.DataFrame:
    """Per `_letter`, its months (rows: _letter, language, budget, month, amount, paid_on) as `months`, a list of
    MONTH_ROW: each run of consecutive months of one budget with the same amount and payment date on one line
    ("november 2024 tot en met oktober 2026 (24 maanden van € 300,00): € 7.200,00"), and `_total`."""
    rows = rows.sort("_letter", "budget", "paid_on", "month", nulls_last=True)
    before = [pl.col(c).shift(1).over("_letter") for c in ("budget", "month", "amount", "paid_on")]
    same = (
        (pl.col("budget") == before[0])
        & (pl.col("month") == before[1].dt.offset_by("1mo"))
        & (pl.col("amount") == before[2])
        & pl.col("paid_on").eq_missing(before[3])
    )
    runs = (
        rows.with_columns((~same.fill_null(False)).cum_sum().over("_letter").alias("_run"))
        .group_by("_letter", "_run", maintain_order=True)
        .agg(
            pl.col("language", "budget", "paid_on").first(),
            pl.col("month").first().alias("_first"),
            pl.col("month").last().alias("_last"),
            pl.len().alias("_count"),
            pl.col("amount").first().alias("_each"),
            pl.col("amount").sum().alias("_amount"),
        )
        .with_columns(pl.when(pl.col("_count") > 1).then(pl.col("_last")).alias("_last"))
    )
    for column, kind, alias in (
        ("_first", "month", "_first_text"),
        ("_last", "month", "_last_text"),
        ("_each", "money", "_each_text"),
        ("_amount", "money", "_amount_text"),
        ("paid_on", "date", "_paid_on_text"),
    ):
        runs = with_text(runs, column, kind, alias)
    row = pl.struct(
        budget="budget",
        month="_first_text",
        last="_last_text",
        count=pl.col("_count").cast(pl.String),
        each="_each_text",
        amount="_amount_text",
        paid_on="_paid_on_text",
    )
    return runs.group_by("_letter", maintain_order=True).agg(
        row.alias("months"), pl.col("_amount").sum().alias("_total")
    )


def _paid_months(keys: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Per `_letter` of `keys`, the months of its budget paid in this run within the grant's months (`month_runs`)."""
    paid = keys.join(payments.select("insz", "budget", "month", "amount"), on=["insz", "budget"]).filter(
        pl.col("month").is_between(pl.col("_first"), pl.col("_last").fill_null(_FAR))
    )
    return month_runs(paid.with_columns(pl.lit(None, pl.Date).alias("paid_on")))


def decision_letters(
    events: pl.DataFrame,
    payments: pl.DataFrame,
    motivation: pl.DataFrame,
    members: pl.DataFrame,
    appeal: AppealTerms,
    increased_allowance: pl.DataFrame | None = None,
    payment_run: bool = True,
    window_first: dt.date | None = None,
    by_hand: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """L-DECISION: one letter per grant event NEW, CHANGED, STOPPED or CANCELLED (none for CONTINUED).

    The decision (budget, first month, last month if any, monthly amount), the months and amounts
    paid in this run for that budget within the grant's months, the motivation (every rule that
    decided it, with the record behind it: `motivation` rows with the event's insz, budget and
    first_month) and the appeal route (L-APPEAL). Dated `appeal.letter_date` (the run date D).
    `payment_run`: whether this run pays; a grant decided on another night is paid with the next payment.
    `window_first`: the evaluation window's first month: a NEW grant from that month says that earlier months are
    not part of the decision (L-REASON, `earlier`). `by_hand` (`decided_by_hand`): the events that hold by hand or
    on appeal name that decision (rules.md §10); those on appeal carry no appeal route.
    """
    letters = _with_members(_decision_rows(events), members).with_columns(
        ((pl.col("event") == "NEW") & (pl.col("_first") == pl.lit(window_first, pl.Date)))
        .fill_null(False)
        .alias("earlier")
    )
    letters = with_text(letters, "_first", "month", "first_month")
    letters = with_text(letters, "_last", "month", "last_month")
    letters = with_text(letters, "_monthly", "money", "monthly_amount")
    keys = letters.select("_letter", "insz", "budget", "_first", "_last", "language")
    per_letter = _paid_months(keys, payments)
    items = _motivation_items(keys.rename({"_first": "first_month"}), motivation, on=["insz", "budget", "first_month"])
    letters = (
        letters.join(per_letter, on="_letter", how="left", maintain_order="left")
        .join(items, on="_letter", how="left", maintain_order="left")
        .with_columns(
            pl.col("months").fill_null(pl.lit([], pl.List(MONTH_ROW))),
            pl.col("motivation").fill_null(pl.lit([], pl.List(MOTIVATION_ITEM))),
        )
    )
    letters = with_text(letters, "_total", "money", "total").with_columns(paid_note(payment_run))
    letters = _appeal_block(letters, appeal, increased_allowance).with_columns(
        pl.lit("L-DECISION").alias("kind"), pl.lit(appeal.letter_date).alias("letter_date")
    )
    return _finish(_with_by_hand(letters, by_hand))


def decided_by_hand(events: pl.DataFrame, granted: pl.DataFrame, month_of_run: dt.date) -> pl.DataFrame:
    """Per decision event (insz, budget, first_month) whose latest month (its last month, or the month of D while
    open) is granted by hand or on appeal (`granted`: pipelines/decide/cases.py `granted_by_hand`), the decision
    its letter names (rules.md §10): `by` ZORGKAS or AGENCY, decided_date and received_date (of the application
    or the appeal; null when the application predates the feed). A month granted both ways holds on appeal (the
    agency's rows apply last, M-APPEAL); among several, the latest decision."""
    latest = pl.coalesce(pl.col("last_month"), pl.lit(month_of_run)).alias("month")
    keys = events.filter(pl.col("event").is_in(DECISION_EVENTS)).select("insz", "budget", "first_month", latest)
    return (
        keys.join(granted.select(BY_HAND_COLUMNS), on=["insz", "budget", "month"])
        .sort("on_appeal", "decided_date", "record_id", descending=True, nulls_last=True)
        .unique(["insz", "budget", "first_month"], keep="first", maintain_order=True)
        .select(
            "insz",
            "budget",
            "first_month",
            pl.when("on_appeal").then(pl.lit("AGENCY")).otherwise(pl.lit("ZORGKAS")).alias("by"),
            "decided_date",
            "received_date",
        )
    )


BY_HAND_COLUMNS = ["insz", "budget", "month", "record_id", "on_appeal", "decided_date", "received_date"]


def _with_by_hand(letters: pl.DataFrame, by_hand: pl.DataFrame | None) -> pl.DataFrame:
    """The decision letters with `by_hand` (`decided_by_hand`): the decision they name; a letter about the agency's
    decision on appeal has no appeal route (L-APPEAL: the agency has already ruled; the template says so)."""
    if by_hand is None or by_hand.height == 0:
        return letters.with_columns(pl.lit(None, BY_HAND).alias("by_hand"))
    keyed = letters.join(
        by_hand.rename({"first_month": "_first", "by": "_by"}), on=["insz", "budget", "_first"], how="left"
    )
    keyed = with_text(with_text(keyed, "decided_date", "date", "_decided"), "received_date", "date", "_received")
    note = pl.when(pl.col("_by").is_not_null()).then(pl.struct(by="_by", decided="_decided", received="_received"))
    on_appeal = pl.col("_by").fill_null("") == "AGENCY"
    return keyed.with_columns(
        note.alias("by_hand"),
        pl.when(on_appeal).then(pl.lit(None, APPEAL_BLOCK)).otherwise(pl.col("appeal")).alias("appeal"),
    )


def paid_note(payment_run: bool) -> pl.Expr:
    """What a decision letter says of this run's payment: PAID (the months below), ENDED (a stopped or cancelled
    grant, nothing paid), NONE (a payment run that pays nothing of it) or LATER (not a payment run)."""
    ended = pl.col("event").is_in(["STOPPED", "CANCELLED"])
    return (
        pl.when(pl.col("months").list.len() > 0)
        .then(pl.lit("PAID"))
        .when(ended)
        .then(pl.lit("ENDED"))
        .otherwise(pl.lit("NONE" if payment_run else "LATER"))
        .alias("paid_note")
    )


# --- L-RECOVERY ---------------------------------------------------------------------------------------


def _reason_items(keyed: pl.DataFrame) -> pl.DataFrame:
    """Per `_letter`, the codes that now fail (the recoveries' reasons), each once, as FAILS motivation items."""
    reasons = (
        keyed.select("_letter", pl.col("reason").alias("code"))
        .explode("code")
        .drop_nulls("code")
        .unique()
        .with_columns(pl.lit("FAILS").alias("outcome"))
    )
    _check_rule_texts(reasons)
    empty = pl.lit(None, pl.String)
    details = {c: empty for c in ("feed", "record_id", "date", "end_date", "score", "kind")}
    return (
        reasons.sort("_letter", _code_rank(pl.col("code")), "code")
        .group_by("_letter", maintain_order=True)
        .agg(pl.struct(code="code", outcome="outcome", **details).alias("motivation"))
    )


def recovery_letters(
    recoveries: pl.DataFrame,
    members: pl.DataFrame,
    appeal: AppealTerms,
    increased_allowance: pl.DataFrame | None = None,
    motivation: pl.DataFrame | None = None,
    payment: PaymentTerms | None = None,
) -> pl.DataFrame:
    """L-RECOVERY: one letter per person and payment run with recoveries (PAY-RECOVERY).

    The months (budget, month, amount, the date it was paid), the total, the reason in plain words and the
    appeal route. The reason: `motivation` (MOTIVATION_COLUMNS of the recoveries, motivation.py
    `recovery_motivation`: the facts that changed, L-REASON), else the rule codes that now fail. How to pay back
    (`payment`): the structured reference of the letter (payment.py), the due date and the EPC QR code's payload.
    """
    rows = recoveries.select("insz", "zorgkas", "budget", "month", "amount", "paid_on", "reason")
    letters = (
        rows.select("insz", "zorgkas")
        .unique()
        .sort("insz", "zorgkas")
        .with_row_index("_letter")
        .with_columns(
            pl.format("PAY-RECOVERY {}", pl.lit(appeal.letter_date.isoformat())).alias("subject"),
            pl.int_range(1, pl.len() + 1).over("zorgkas").alias("_number"),
        )
    )
    letters = _with_members(letters, members)
    keyed = rows.join(letters.select("_letter", "insz", "zorgkas", "language"), on=["insz", "zorgkas"])
    if motivation is None:
        items = _reason_items(keyed)
    else:
        items = _motivation_items(letters.select("_letter", "insz", "language"), motivation, on=["insz"])
    letters = letters.join(month_runs(keyed), on="_letter", how="left", maintain_order="left").join(
        items, on="_letter", how="left", maintain_order="left"
    )
    letters = with_text(letters, "_total", "money", "total").with_columns(
        pl.col("motivation").fill_null(pl.lit([], pl.List(MOTIVATION_ITEM))),
        pl.lit("RECOVERY").alias("topic"),
    )
    if payment is not None:
        letters = recovery_reference(letters, appeal.letter_date, "_number")
        letters = with_epc(letters, payment.accounts, "_total").with_columns(
            pl.lit(payment.due_date).alias("_due"), pl.lit(payment.due_date).alias("payment_due")
        )
        letters = with_text(letters, "_due", "date", "due_date")
    letters = _appeal_block(letters, appeal, increased_allowance).with_columns(
        pl.lit("L-RECOVERY").alias("kind"), pl.lit(appeal.letter_date).alias("letter_date")
    )
    return _finish(letters, number="_number")


# --- L-REQUEST ----------------------------------------------------------------------------------------


def request_letters(worklist_rows: pl.DataFrame, members: pl.DataFrame, letter_date: dt.date) -> pl.DataFrame:
    """L-REQUEST: a letter asking the member to act, one per (person, code, since) of W-IBAN-MISSING,
    W-CHECK-RESIDENCE, W-APPLY-SPECIAL and W-APPLY-FACILITY among `worklist_rows`.

    The rows are those whose letter is due in this run (the flow's letters ledger sends each
    (person, code, since) once); a W-CHECK-RESIDENCE row for each budget gives one letter.
    """
    letters = (
        worklist_rows.filter(pl.col("code").is_in(REQUEST_CODES))
        .select("insz", "zorgkas", "code", pl.col("since").alias("_since"))
        .unique()
        .with_columns(
            pl.col("code").alias("topic"),
            pl.format("{} {}", "code", pl.col("_since").dt.strftime("%Y-%m-%d")).alias("subject"),
            pl.lit(letter_date).alias("letter_date"),
            pl.lit("L-REQUEST").alias("kind"),
        )
    )
    letters = _with_members(letters, members)
    letters = with_text(letters, "_since", "date", "since")
    return _finish(letters)


def requests_of(letters: pl.DataFrame) -> pl.DataFrame:
    """The (insz, code, since) and letter_id of the L-REQUEST letters among `letters`: what the letters ledger keeps."""
    asked = letters.filter(pl.col("kind") == "L-REQUEST")
    since = pl.col("subject").str.split(" ").list.last().str.to_date("%Y-%m-%d")
    return asked.select("insz", pl.col("topic").alias("code"), since.alias("since"), "letter_id")


# --- L-INVOICE ----------------------------------------------------------------------------------------


def invoice_letters(
    invoices: pl.DataFrame, members: pl.DataFrame, accounts: pl.DataFrame | None = None
) -> pl.DataFrame:
    """L-INVOICE: each premium invoice is a letter, dated its invoice date (the run date D).

    Year, amount, normal or reduced and why (P-REDUCED: the increased allowance on 1 January Y-1),
    due date, structured reference; the template adds the zorgkas account (IBAN, BIC) from the
    letterhead and that the OCMW/CPAS can help. The letter's number is the invoice's reference base
    (the last part of invoice_id), so the id is unique within the zorgkas across runs. With `accounts` (the
    zorgkassen reference: code, name, iban, bic), the EPC QR code's payload (payment.py).
    """
    letters = invoices.select(
        "insz",
        "zorgkas",
        pl.col("invoice_id").alias("subject"),
        pl.col("invoice_id").str.split("-").list.last().cast(pl.Int64).alias("_number"),
        pl.col("invoice_date").alias("letter_date"),
        pl.col("premium_year").cast(pl.String).alias("premium_year"),
        pl.col("amount").alias("_amount"),
        pl.when(pl.col("reduced")).then(pl.lit("REDUCED")).otherwise(pl.lit("NORMAL")).alias("topic"),
        pl.date(pl.col("premium_year") - 1, 1, 1).alias("_allowance_date"),
        pl.col("due_date").alias("_due"),
        pl.col("due_date").alias("payment_due"),
        "structured_reference",
        pl.lit("L-INVOICE").alias("kind"),
    )
    letters = with_epc(_with_members(letters, members), accounts, "_amount")
    letters = with_text(letters, "_amount", "money", "amount")
    letters = with_text(letters, "_allowance_date", "date", "allowance_date")
    letters = with_text(letters, "_due", "date", "due_date")
    return _finish(letters, number="_number")
