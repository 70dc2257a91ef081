"""The letters of a run (docs/spec/rules.md §9): what the run keeps for them, the letters it builds, and their files.

- `take_letter_inputs`, before the night lets its feeds' rows go (flows/settle.py `for_settlement`): the names,
  languages and addresses of the persons who may get a letter, the records behind their decisions (the
  motivation), and who has an increased allowance on D (the appeal fee);
- `night_letters`, once the night is settled: L-DECISION per grant event, L-RECOVERY per person with recoveries,
  L-REQUEST per work-list row first seen (the letters ledger, flows/state/letters_ledger.py), never for a held
  person (S-HOLD);
- `emit_letters`: each zorgkas's <zorgkas>/letters/NNNN.pdf and letters.parquet (flows/io/letters.py renders
  them in worker processes, in the staging folder, before the seal);
- `invoice_letters_of`: L-INVOICE for the invoices of an invoice run.

The texts are the letters' own (pipelines/emit/letters/texts), written to the member ("u", "vous"); every rule of
a motivation is headed by its title from the codes reference (data/reference/codes.yaml), the name a zorgkas
employee sees for it in `vsb explain` and overview.xlsx, so that a member who calls and the employee who answers
speak of the same rule. The codes reference's explanations are written for staff and are not printed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from flows.codes import load_codes
from flows.context import RunContext
from flows.io.letters import LetterPress
from flows.io.outbox import FileLog
from flows.progress import log_counts
from flows.reference import load_agency
from flows.state.state import Before
from flows.tasks import step
from pipelines.emit.files import zorgkas_slices
from pipelines.emit.letters.appeal import AppealTerms, appeal_terms
from pipelines.emit.letters.content import (
    DECISION_EVENTS,
    REQUEST_CODES,
    decided_by_hand,
    decision_letters,
    empty_letters,
    invoice_letters,
    recovery_letters,
    request_letters,
    requests_of,
    shifted_ids,
)
from pipelines.emit.letters.language import letter_texts, with_agency
from pipelines.emit.letters.motivation import (
    RECORD_COLUMNS,
    case_records,
    evidence_records,
    member_records,
    motivation,
    recovery_motivation,
    residence_records,
)
from pipelines.emit.letters.payment import PaymentTerms
from pipelines.settle.settlement import Settlement
from pipelines.timeline import active_on
from schemas.outputs import Letters, check

# name, language and address; birth and death dates for L-ADDRESSEE (a minor's parents, a deceased member's heirs)
MEMBER_LETTER_COLUMNS = [
    "insz", "name", "language", "street", "postal_code", "city", "country", "birth_date", "death_date"
]  # fmt: skip
KIND_KEYS = {"L-DECISION": "decision", "L-RECOVERY": "recovery", "L-REQUEST": "request", "L-INVOICE": "invoice"}


@dataclass(frozen=True)
class LetterInputs:
    """What the letters of a night need of the feeds, kept for the persons who may get one."""

    members: pl.DataFrame  # MEMBER_LETTER_COLUMNS (the optional ones when delivered)
    records: pl.DataFrame  # motivation.RECORD_COLUMNS
    allowance: pl.DataFrame  # insz: an increased-allowance period active on D (L-APPEAL: the reduced fee)
    seconds: float = 0.0  # the time it took (the run report's timings)


@dataclass(frozen=True)
class NightLetters:
    """What a night's letters are made of; a zorgkas's letters are built when its files are written (`letters_of`):
    a go-live night has a letter for every grant, and the letters of every zorgkas are never held at once."""

    events: pl.DataFrame  # grants.EVENT_COLUMNS of the persons not held
    payments: pl.DataFrame  # payments.PAID_COLUMNS of this run, of the persons not held
    motivation: pl.DataFrame  # content.MOTIVATION_COLUMNS of the decision events
    recoveries: pl.DataFrame  # payments.RECOVERY_COLUMNS of the persons not held
    request_letters: pl.DataFrame  # content.LETTER_COLUMNS of the request letters due (few: built at once)
    requests: pl.DataFrame  # their rows of the letters ledger: insz, code, since, letter_id
    inputs: LetterInputs
    terms: AppealTerms
    payment_run: bool
    seconds: float = 0.0  # taking the inputs and the letters' parts (the run report's timings)
    recovery_reasons: pl.DataFrame | None = None  # content.MOTIVATION_COLUMNS of the recoveries (L-REASON)
    payment: PaymentTerms | None = None  # how recoveries are paid back (L-RECOVERY)
    window_first: dt.date | None = None  # the evaluation window's first month (L-REASON, a NEW grant from it)
    by_hand: pl.DataFrame | None = None  # content.decided_by_hand: the events that hold by hand or on appeal (§10)
    offsets: pl.DataFrame | None = None  # letter numbers used by earlier versions of the date (letter_numbers.py)

    def letters_of(self, code: str) -> pl.DataFrame:
        """content.LETTER_COLUMNS of the zorgkas `code`: its decision, recovery and request letters."""
        members, allowance, terms = self.inputs.members, self.inputs.allowance, self.terms
        events, paid, recovered = (
            f.filter(pl.col("zorgkas") == code) for f in (self.events, self.payments, self.recoveries)
        )
        decisions = decision_letters(
            events, paid, self.motivation, members, terms, allowance, self.payment_run, self.window_first, self.by_hand
        )
        # a recovery letter's number is also its structured reference's: numbered after the offset when built
        recoveries = recovery_letters(
            recovered, members, terms, allowance, self.recovery_reasons, self.payment, self.offsets
        )
        decisions = shifted_ids(decisions, self.offsets)
        return pl.concat([decisions, recoveries, self.request_letters.filter(pl.col("zorgkas") == code)])


def allowance_active_on(day: dt.date):
    """For `ingest(narrow=...)`: only the increased-allowance rows active on `day`."""
    return lambda members: lambda rows: rows.filter(active_on(pl.col("start_date"), pl.col("end_date"), pl.lit(day)))


def member_letter_columns(members: pl.DataFrame) -> pl.DataFrame:
    """The members' name, language and address columns that the delivery holds."""
    return members.select([c for c in MEMBER_LETTER_COLUMNS if c in members.columns])


def take_letter_inputs(ctx: RunContext, ingested, decided, before: Before | None) -> LetterInputs:
    """Before the feeds' rows go: who may get a letter this night (a decided person, a work-list person, or one the
    state has a grant or a payment of: `letter_persons`) with their name and address, the records their decided
    periods name, and who has an increased allowance on D.

    `before` None (a night decided on a Dask worker, flows/nightly.py `decide_night_job`): the state is the driver's,
    and the nights before this one may not be published yet, so every member may get a letter (a superset: the
    letters themselves are built on the driver, against the state, when the night is settled)."""
    started, (first, _) = time.perf_counter(), ctx.window
    if before is not None:
        in_state = before.letter_persons(first)
    else:
        in_state = ingested.valid("members").select("insz")
    decided_persons = [decided.periods.select("insz"), decided.absences.select("insz"), decided.worklist.select("insz")]
    persons = pl.concat([*decided_persons, in_state]).unique()
    members = ingested.valid("members")
    mine = member_letter_columns(members.join(persons, on="insz", how="semi"))
    residence_fails = decided.periods.filter(pl.col("fails").list.contains("E-RESIDENCE")).select("insz").unique()
    valid = ingested.valid
    records = pl.concat(
        [
            evidence_records(
                valid("belrai_screeners"), valid("medsoc_scales"), valid("facility_stays"), valid("vaph_support"),
                persons, ctx.params.nrth_transition_date,
            ),
            member_records(members.join(persons, on="insz", how="semi")),
            residence_records(valid("residence_periods").join(residence_fails, on="insz", how="semi")),
            case_records(valid("case_decisions").join(persons, on="insz", how="semi")),
        ]
    )  # fmt: skip
    allowance = valid("increased_allowance").select("insz").unique().join(persons, on="insz", how="semi")
    records = compact(records.select(list(RECORD_COLUMNS)))
    return LetterInputs(compact(mine), records, allowance, time.perf_counter() - started)


def compact(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows in buffers of their own size (flows/decide.py `compact`): kept past the feeds' release."""
    return pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))


def appeal_of(ctx: RunContext) -> AppealTerms:
    """L-APPEAL of the letters dated D: the parameters in force on D (data/reference/parameters.yaml)."""
    p = ctx.params
    return appeal_terms(ctx.run_date, p.appeal_days, p.appeal_receipt_working_days, p.appeal_fee, p.appeal_fee_reduced)


def night_letters(
    ctx: RunContext,
    before: Before,
    inputs: LetterInputs,
    periods: pl.DataFrame,
    settlement: Settlement,
    by_hand_months: pl.DataFrame | None = None,
) -> NightLetters:
    """The letters of a night: a decision letter per event, a recovery letter per person with recoveries, a request
    letter per request row not sent by an earlier run (`before`: the state before the night's version); none for a
    held person (S-HOLD). `by_hand_months`: the months granted by hand or on appeal (BY_HAND_COLUMNS): the decision
    letters of grants that hold by them name the decision (rules.md §10)."""
    payment_run = before.payment_run
    started, held = time.perf_counter(), settlement.held.select("insz").unique()
    events = settlement.events.filter(pl.col("event").is_in(DECISION_EVENTS)).join(held, on="insz", how="anti")
    reasons = motivation(events, periods, inputs.records, ctx.run_date.replace(day=1))
    paid = settlement.payments.join(held, on="insz", how="anti")
    recovered = settlement.recoveries.join(held, on="insz", how="anti")
    granted = before.granted_evidence(recovered)
    recovery_reasons = recovery_motivation(recovered, periods, inputs.records, ctx.run_date.replace(day=1), granted)
    asked = settlement.worklist.filter(pl.col("code").is_in(REQUEST_CODES)).join(held, on="insz", how="anti")
    sent = before.requests_sent(asked, ctx.window[0])
    due = asked.join(sent, on=["insz", "code", "since"], how="anti")
    offsets = before.letter_offsets()  # a --replace version numbers after the earlier ones
    requests = shifted_ids(request_letters(due, inputs.members, ctx.run_date), offsets)
    seconds = inputs.seconds + time.perf_counter() - started
    parts = (events, paid, reasons, recovered, requests, requests_of(requests), inputs, appeal_of(ctx), payment_run)
    month_of_run = ctx.run_date.replace(day=1)
    by_hand = None if by_hand_months is None else decided_by_hand(events, by_hand_months, month_of_run)
    return NightLetters(*parts, seconds, recovery_reasons, payment_of(ctx), ctx.window[0], by_hand, offsets)


def payment_of(ctx: RunContext) -> PaymentTerms:
    """How the recoveries of the letters dated D are paid back (L-RECOVERY): by D + recovery_due_days."""
    due = ctx.run_date + dt.timedelta(days=ctx.params.recovery_due_days)
    return PaymentTerms(ctx.run_date, due, ctx.reference.zorgkassen)


@cache
def letter_texts_with_titles() -> dict[str, dict[str, Any]]:
    """The letters' texts, each rule headed by its title from the codes reference (module docstring); read-only."""
    texts, codes = with_agency(letter_texts(), load_agency()), load_codes()
    for key, t in texts.items():
        t["titles"] = {code: codes.title(code, key.split("-")[0]) for code in t["rules"]}
    return texts


@step("letters")
def emit_letters(ctx: RunContext, files: FileLog, letters_of: Callable[[str], pl.DataFrame]) -> dict[str, dict]:
    """Each zorgkas's <zorgkas>/letters/NNNN.pdf and letters.parquet (Letters model); returns each zorgkas's letter
    counts. `letters_of(code)`: the zorgkas's letters (content.LETTER_COLUMNS), built when its turn comes.

    One pool of workers renders every zorgkas's files: the next zorgkas's files are queued before the run waits
    for the current one's, so both cores stay busy, and at most two zorgkassen's letters are in memory (an
    invoice run's millions of letters are never all held at once).
    """
    totals: dict[str, dict] = {}
    waiting: list[str] = []
    # the workers' scratch folders inside the staging folder: removed with it, also after a kill (the next run)
    with LetterPress(ctx.reference.zorgkassen, texts=letter_texts_with_titles(), scratch=files.run.staging) as press:
        for code in ctx.reference.zorgkas_codes:
            letters = letters_of(code)
            if letters.height == 0:
                continue
            press.submit(code, letters, files.run.path(f"{code}/letters/0001.pdf").parent)
            del letters
            waiting.append(code)
            if len(waiting) == 2:
                done = waiting.pop(0)
                totals[done] = log_letters(files, done, press.rows(done))
        for done in waiting:
            totals[done] = log_letters(files, done, press.rows(done))
    log_counts("letters", {f"letters {code}": found["letters"] for code, found in totals.items()})  # in its task
    return totals


def log_letters(files: FileLog, where: str, rows: pl.DataFrame) -> dict:
    """letters.parquet of one zorgkas, and its PDF files in the file log (rows: letters a file)."""
    rows = check(Letters, rows.with_columns(pl.format("letters/{}", "file").alias("file")))
    for name, count in rows.group_by("file").len().sort("file").iter_rows():
        files.existing(f"{where}/{name}", count)
    files.parquet(f"{where}/letters.parquet", rows)
    return {"letters": rows.height, "by_kind": dict(sorted(rows.group_by("kind").len().iter_rows()))}


def invoice_letters_of(ctx: RunContext, invoices: pl.DataFrame, members: pl.DataFrame) -> Callable[[str], pl.DataFrame]:
    """`emit_letters`'s letters of each zorgkas of an invoice run: L-INVOICE for each of its invoices
    (premium.INVOICE_COLUMNS), with the members' name and address, built one zorgkas at a time."""
    slices = zorgkas_slices(invoices, ctx.reference.zorgkas_codes)

    def letters_of(code: str) -> pl.DataFrame:
        mine = slices[code]
        return invoice_letters(mine, members, ctx.reference.zorgkassen) if mine.height else empty_letters()

    return letters_of
