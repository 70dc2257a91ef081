"""`vsb explain INSZ --as-of D [--lang NL|FR]`: one person's decision record, month by month, with rule codes
and records, in the zorgkas employee's language.

The person's rows are read from the deliveries of D, put through the same row rules and the
same decide pipeline as the nightly run (every month of the window), so the answer is the
nightly run's decision for D, with the months outside any right explained too.

Two steps that a comparison (a reform beside the baseline) can reuse: `person_record(ctx, insz)` builds
the record, codes and data only (what --json prints, and what tests/e2e/golden/ holds); `render(record,
lang)` writes it for a person, every label, status word, budget name and rule line from
data/reference/codes.yaml in that language (Dutch by default: the language of most zorgkas staff;
French with --lang FR). The work-list `detail` is machine text and stays in --json only.

The insz never becomes a Prefect parameter (parameters are stored and shown by Prefect): the
flow is built around it in a closure, with only the run date and folders as parameters.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
from prefect import flow

from flows.codes import Codes, load_codes
from flows.context import Options, RunContext, start
from flows.decide import run_decisions
from flows.ingest import Ingested, ingest
from flows.io.landing import FeedError
from flows.reference import Reference
from pipelines.ingest.insz import r_id_valid
from schemas.feeds import FEEDS

DEFAULT_LANGUAGE = "NL"
MEMBER_FIELDS = (
    "zorgkas",
    "birth_date",
    "death_date",
    "domicile_region",
    "affiliation_basis",
    "affiliation_start",
    "affiliation_end",
    "eu_insured_since",
    "iban_status",
)


class NotAMember(FeedError):
    """The person is not in the members delivery of D: nothing is decided (docs/spec/rules.md §0)."""


def explain_context(landing: Path, as_of: dt.date) -> RunContext:
    """The context of a lookup: the deliveries of D, whatever their size (a shrink is the night's concern)."""
    everything = frozenset(FEEDS)  # one person's record: no feed-level refusal
    return start(
        "explain", as_of, landing, Path("."), Path("."), Options(accept_shrink=everything, accept_quarantine=everything)
    )


def load_person(ctx: RunContext, insz: str) -> Ingested:
    """The person's rows of every feed for D, through the same row rules as the nightly run."""

    return ingest(ctx, where=pl.col("insz") == insz)


def check_insz(insz: str, as_of: dt.date) -> None:
    """A clear error for a number that cannot be an insz (the number itself is not repeated: errors are logged)."""
    if not pl.select(r_id_valid(pl.lit(insz), as_of.year)).item():
        raise FeedError("the number given is not a valid national or BIS number (R-ID): check its 11 digits")


def explain_person(insz: str, landing: Path, as_of: dt.date, reference: Reference | None = None) -> dict:
    """The decision record of one person on the deliveries of `as_of` in `landing` (codes and data only);
    under a reform's `reference` (flows/explain_reform.py) when given."""
    check_insz(insz, as_of)
    ctx = explain_context(landing, as_of)
    if reference is not None:
        ctx = ctx.with_reference(reference)
    return person_record(ctx, insz)


def person_record(ctx: RunContext, insz: str) -> dict:
    """The decision record of one person under the context's parameters, as a plain structure (--json).

    `rules` lists every code the record names; `render` gives their texts."""
    person = load_person(ctx, insz)
    record = {
        "insz": insz,
        "as_of": ctx.run_date.isoformat(),
        "deliveries": {f: d.delivery_date.isoformat() for f, d in person.deliveries.items()},
        "member": None,
        "quarantined_rows": quarantined_rows(person),
        "cases": case_records(person),
        "budgets": {},
        "absence_budgets": [],
        "worklist": [],
        "rules": [],
    }
    members = person.valid("members")
    if members.height == 0:
        return record
    member = members.row(0, named=True)
    record["member"] = {k: _iso(member[k]) for k in MEMBER_FIELDS if k in member}
    decided = run_decisions(ctx, person, full_window=True)
    record["budgets"] = {budget: budget_months(decided.months, budget) for budget in ("ZZB", "BOB")}
    record["absence_budgets"] = absence_budgets(decided.absences)
    record["worklist"] = [
        {"code": r["code"], "since": r["since"].isoformat(), "detail": r["detail"], "evidence": r["evidence"]}
        for r in decided.worklist.iter_rows(named=True)
    ]
    record["rules"] = codes_named(record)
    return record


def _iso(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def quarantined_rows(person: Ingested) -> list[dict]:
    """The person's quarantined rows: feed, file, row number, first rule broken and its column."""
    fields = ("source_file", "row_number", "rule", "column")
    return [
        {"feed": feed} | {k: r[k] for k in fields}
        for feed, staged in person.feeds.items()
        for r in staged.quarantine.iter_rows(named=True)
    ]


CASE_FIELDS = ("record_id", "budget", "kind", "received_date", "decided_date", "refers_to", "first_month", "last_month")


def case_records(person: Ingested) -> list[dict]:
    """The person's valid case_decisions rows (docs/spec/rules.md §10: applications, decisions by hand, appeals), in
    the order they happened (decided or received), the record ids the months' evidence names."""
    cases = person.valid("case_decisions").sort(
        "budget", pl.coalesce("decided_date", "received_date"), "record_id", nulls_last=True
    )
    return [{k: _iso(r[k]) for k in CASE_FIELDS} for r in cases.iter_rows(named=True)]


def budget_months(months: pl.DataFrame, budget: str) -> list[dict]:
    """Every month of the window for one budget: its decision, amount when entitled, codes and records."""
    return [
        {
            "month": r["month"].isoformat()[:7],
            "status": r["status"],
            "amount": str(r["monthly_amount"]) if r["entitled"] else None,
            "holds": r["holds"],
            "fails": r["fails"],
            "evidence": r["evidence"],
        }
        for r in months.filter(pl.col("budget") == budget).iter_rows(named=True)
    ]


def absence_budgets(absences: pl.DataFrame) -> list[dict]:
    keys = ("school_year", "quantity", "due", "holds", "fails", "evidence")
    return [
        {k: r[k] for k in keys} | {"on": r["month"].isoformat(), "amount": str(r["amount"])}
        for r in absences.iter_rows(named=True)
    ]


def codes_named(record: dict) -> list[str]:
    """Every rule code the record names (months, absence budgets, work list, quarantined rows), sorted."""
    used = {c for months in record["budgets"].values() for r in months for c in r["holds"] + r["fails"]}
    used |= {c for a in record["absence_budgets"] for c in a["holds"] + a["fails"]}
    used |= {w["code"] for w in record["worklist"]} | {q["rule"] for q in record["quarantined_rows"]}
    return sorted(used)


# --- the record for a person -----------------------------------------------------------------------


class _Words:
    """The record's words in one language, from codes.yaml."""

    def __init__(self, lang: str, codes: Codes):
        self.lang, self.codes = lang, codes

    def __call__(self, label: str, **values) -> str:
        return self.codes.term("record", label, self.lang).format(**values)

    def term(self, kind: str, value: str) -> str:
        return self.codes.term(kind, value, self.lang)

    def title(self, code: str) -> str:
        return self.codes.title(code, self.lang)


def render(record: dict, lang: str = DEFAULT_LANGUAGE, codes: Codes | None = None) -> str:
    """The decision record as text for a zorgkas employee answering an appeal, in `lang` (NL or FR)."""
    words = _Words(lang, codes or load_codes())
    out = [words("heading", insz=record["insz"], as_of=record["as_of"])]
    out.append(words("deliveries") + ": " + ", ".join(f"{f} {d}" for f, d in record["deliveries"].items()))
    for q in record["quarantined_rows"]:
        where = f"{q['feed']} {q['source_file']} {words('row')} {q['row_number']}"
        out.append(f"! {words('quarantined')}: {where}: {q['rule']} ({words('column')} {q['column']})")
    if record["member"] is None:
        out.append(words("not_a_member"))
    else:
        out.append(_member_line(record["member"], words))
        out += _case_lines(record["cases"], words)
        for budget, months in record["budgets"].items():
            out += ["", f"{budget}: {words.term('budget', budget)}", *_month_lines(months, words)]
        out += _absence_lines(record["absence_budgets"], words) + _worklist_lines(record["worklist"], words)
    if record["rules"]:
        out += ["", words("rules"), *(f"  {code}: {words.title(code)}" for code in record["rules"])]
    return "\n".join(out)


def _member_line(member: dict, words: _Words) -> str:
    parts = [
        words("member", zorgkas=member["zorgkas"]),
        words("born", date=member["birth_date"]),
        words(
            "affiliated" if member["affiliation_end"] else "affiliated_open",
            basis=member["affiliation_basis"],
            start=member["affiliation_start"],
            end=member["affiliation_end"],
        ),
    ]
    if member.get("death_date"):
        parts.append(words("died", date=member["death_date"]))
    iban = words("iban", status=words.term("iban_status", member["iban_status"]))
    return ", ".join(parts) + "; " + iban


def _runs(months: list[dict]):
    """Consecutive months with the same decision, reasons and records, as (first, last, month)."""
    same = ("status", "amount", "holds", "fails", "evidence")
    runs: list[list] = []
    for r in months:
        if runs and all(runs[-1][2][k] == r[k] for k in same):
            runs[-1][1] = r["month"]
        else:
            runs.append([r["month"], r["month"], r])
    return [tuple(run) for run in runs]


def _month_lines(months: list[dict], words: _Words) -> list[str]:
    lines = [f"  {words('months'):20} {words('decision'):26} {words('amount'):>7}  {words('why')}"]
    for first, last, r in _runs(months):
        why = [f"{words(key)} {' '.join(r[key])}" for key in ("fails", "holds") if r[key]]
        span = first if first == last else words("span", first=first, last=last)
        line = f"  {span:20} {words.term('status', r['status']):26} {r['amount'] or '':>7}  {'; '.join(why)}"
        lines.append(line + (f"  [{', '.join(r['evidence'])}]" if r["evidence"] else ""))
    return lines


def _case_lines(cases: list[dict], words: _Words) -> list[str]:
    """The case records (applications, decisions by hand and on appeal), one line each."""
    if not cases:
        return []
    lines = ["", words("cases")]
    for c in cases:
        parts = [f"{c['record_id']}: {words.term('case_kind', c['kind'])} ({c['budget']})"]
        if c["received_date"]:
            parts.append(words("received", date=c["received_date"]))
        if c["decided_date"]:
            parts.append(words("decided", date=c["decided_date"]))
        if c["first_month"]:
            month = "case_months" if c["last_month"] else "case_months_open"
            parts.append(words(month, first=c["first_month"][:7], last=(c["last_month"] or "")[:7]))
        if c["refers_to"]:
            parts.append(words("refers_to", id=c["refers_to"]))
        lines.append("  " + ", ".join(parts))
    return lines


def _absence_lines(absences: list[dict], words: _Words) -> list[str]:
    if not absences:
        return []
    lines = ["", words("absences")]
    for a in absences:
        line = words("school_year", year=a["school_year"], quantity=a["quantity"], amount=a["amount"], on=a["on"])
        line += ", " + words("due" if a["due"] else "not_due")
        line += f"; {words('fails')} {' '.join(a['fails'])}" if a["fails"] else ""
        lines.append(f"  {line}  [{', '.join(a['evidence'])}]")
    return lines


def _worklist_lines(worklist: list[dict], words: _Words) -> list[str]:
    if not worklist:
        return []
    lines = ["", words("worklist")]
    for w in worklist:
        evidence = f"  [{', '.join(w['evidence'])}]" if w["evidence"] else ""
        lines.append(f"  {w['code']} {words('since', date=w['since'])}: {words.title(w['code'])}{evidence}")
    return lines


def as_json(record: dict, lang: str = DEFAULT_LANGUAGE, codes: Codes | None = None) -> str:
    """The record as JSON, with the title and explanation of each code it names in `lang`."""
    codes = codes or load_codes()
    texts = {c: {"title": codes.title(c, lang), "explanation": codes.explanation(c, lang)} for c in record["rules"]}
    return json.dumps(record | {"language": lang.upper(), "rules": texts}, indent=2, ensure_ascii=False)


def explain(
    insz: str,
    as_of: dt.date,
    landing: Path,
    as_json_text: bool = False,
    prefect: bool | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """The decision record of one person as text (or JSON) to print; a NotAMember error (its record's text
    attached as `shown`) when the person is not in the members delivery of D.

    With a Prefect server configured (PREFECT_API_URL) or `prefect=True`, it runs as the flow
    `vsb-explain`, so the lookup is recorded (without the insz). Without a server it answers
    directly: starting Prefect's temporary server alone takes about 5 s, and an employee
    answering an appeal must have the answer in under 5 s (benchmarks/decide.py: 0.9 s at 7M).
    """
    load_codes().term("record", "heading", lang)  # an unknown language fails before any reading
    if prefect is None:
        prefect = bool(os.environ.get("PREFECT_API_URL"))
    if not prefect:
        record = explain_person(insz, landing, as_of)
    else:

        @flow(name="vsb-explain", flow_run_name="explain-{as_of}", validate_parameters=False)
        def run_explain(as_of: dt.date, landing: Path) -> dict:
            return explain_person(insz, landing, as_of)

        record = run_explain(as_of=as_of, landing=landing)
    text = as_json(record, lang) if as_json_text else render(record, lang)
    if record["member"] is None:
        members = record["deliveries"].get("members", "?")
        found = "; its quarantined rows are listed above" if record["quarantined_rows"] else ""
        error = NotAMember(
            f"not a member in the members delivery {members} used for {as_of.isoformat()}{found}: "
            "check the number and the date"
        )
        error.shown = text if record["quarantined_rows"] else None
        raise error
    return text
