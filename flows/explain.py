"""`vsb explain INSZ --as-of D`: one person's decision record, month by month, with rule codes and records.

The person's rows are read from the deliveries of D, put through the same row rules and the
same decide pipeline as the nightly run (every month of the window), so the answer is the
nightly run's decision for D, with the months outside any right explained too.

The insz never becomes a Prefect parameter (parameters are stored and shown by Prefect): the
flow is built around it in a closure, with only the run date and folders as parameters.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import re
from pathlib import Path

import polars as pl
from prefect import flow

from flows.context import Options, RunContext, start
from flows.decide import run_decisions
from flows.ingest import Ingested, ingest, ingest_feed
from flows.io.landing import FeedError
from flows.reference import Reference
from pipelines.decide import absence, bob, conditions, exclusions, grounds, worklist
from pipelines.ingest.insz import r_id_valid
from schemas.feeds import FEEDS

BUDGET_NAMES = {
    "ZZB": "care budget for severe care needs (zorgbudget zwaar zorgbehoevenden)",
    "BOB": "care budget for persons with a disability (zorgbudget personen met een handicap)",
}
_CODE_LINE = re.compile(r"^([A-Z]{1,3}-[A-Z0-9-]+): (.*)$")


def rule_texts() -> dict[str, str]:
    """Each rule code with the first line of the docstring of the function that implements it."""
    texts = {}
    for module in (grounds, conditions, exclusions, bob, absence, worklist):
        for _, function in inspect.getmembers(module, inspect.isfunction):
            first = (inspect.getdoc(function) or "").split("\n\n")[0].replace("\n", " ")
            match = _CODE_LINE.match(first)
            if match:
                texts.setdefault(match.group(1), match.group(2))
    texts.setdefault("ZZB-START", "inside the right of a care-need episode (from the 4th month after its start)")
    return texts


def explain_context(landing: Path, as_of: dt.date) -> RunContext:
    """The context of a lookup: the deliveries of D, whatever their size (a shrink is the night's concern)."""
    return start("explain", as_of, landing, Path("."), Path("."), Options(accept_shrink=frozenset(FEEDS)))


def load_person(ctx: RunContext, insz: str) -> Ingested:
    """The person's rows of every feed for D, through the same row rules as the nightly run."""

    def one(ctx_, feed, **kwargs):
        return ingest_feed(ctx_, feed, where=pl.col("insz") == insz, **kwargs)

    return ingest(ctx, ingest_one=one)


def explain_person(insz: str, landing: Path, as_of: dt.date, reference: Reference | None = None) -> dict:
    """The decision record of one person as a plain structure (what --json prints); under a reform's
    `reference` (flows/explain_reform.py) when given."""
    if not pl.select(r_id_valid(pl.lit(insz), as_of.year)).item():
        raise FeedError(f"{insz!r} is not a valid national or BIS number (R-ID)")
    ctx = explain_context(landing, as_of)
    if reference is not None:
        ctx = ctx.with_reference(reference)
    person = load_person(ctx, insz)
    quarantined = [
        {
            "feed": f,
            "source_file": r["source_file"],
            "row_number": r["row_number"],
            "rule": r["rule"],
            "column": r["column"],
        }
        for f, staged in person.feeds.items()
        for r in staged.quarantine.iter_rows(named=True)
    ]
    members = person.valid("members")
    record = {
        "insz": insz,
        "as_of": as_of.isoformat(),
        "deliveries": {f: d.delivery_date.isoformat() for f, d in person.deliveries.items()},
        "member": None,
        "quarantined_rows": quarantined,
        "budgets": {},
        "absence_budgets": [],
        "worklist": [],
        "rules": {},
    }
    if members.height == 0:
        return record
    m = members.row(0, named=True)
    record["member"] = {
        k: (v.isoformat() if isinstance(v, dt.date) else v)
        for k, v in m.items()
        if k
        in (
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
    }
    decided = run_decisions(ctx, person, full_window=True)
    for budget in ("ZZB", "BOB"):
        rows = decided.months.filter(pl.col("budget") == budget)
        record["budgets"][budget] = [
            {
                "month": r["month"].isoformat()[:7],
                "status": r["status"],
                "amount": str(r["monthly_amount"]) if r["entitled"] else None,
                "holds": r["holds"],
                "fails": r["fails"],
                "evidence": r["evidence"],
            }
            for r in rows.iter_rows(named=True)
        ]
    record["absence_budgets"] = [
        {
            "school_year": r["school_year"],
            "on": r["month"].isoformat(),
            "quantity": r["quantity"],
            "amount": str(r["amount"]),
            "due": r["due"],
            "holds": r["holds"],
            "fails": r["fails"],
            "evidence": r["evidence"],
        }
        for r in decided.absences.iter_rows(named=True)
    ]
    record["worklist"] = [
        {"code": r["code"], "since": r["since"].isoformat(), "detail": r["detail"], "evidence": r["evidence"]}
        for r in decided.worklist.iter_rows(named=True)
    ]
    used = {c for b in record["budgets"].values() for r in b for c in r["holds"] + r["fails"]}
    used |= {w["code"] for w in record["worklist"]} | {
        c for a in record["absence_budgets"] for c in a["holds"] + a["fails"]
    }
    texts = rule_texts()
    record["rules"] = {c: texts.get(c, "") for c in sorted(used)}
    return record


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


def render(record: dict) -> str:
    """The decision record as text for a zorgkas employee answering an appeal."""
    out = [f"Decision record of {record['insz']} as of {record['as_of']}"]
    out.append("Deliveries used: " + ", ".join(f"{f} {d}" for f, d in record["deliveries"].items()))
    for q in record["quarantined_rows"]:
        out.append(f"! quarantined: {q['feed']} {q['source_file']} row {q['row_number']}: {q['rule']} ({q['column']})")
    member = record["member"]
    if member is None:
        out.append("Not a member in the members feed of this date: nothing is decided (rules.md §0).")
        return "\n".join(out)
    out.append(
        f"Member of {member['zorgkas']}, born {member['birth_date']}, {member['affiliation_basis']} "
        f"affiliated {member['affiliation_start']} to {member['affiliation_end'] or 'now'}"
        + (f", died {member['death_date']}" if member["death_date"] else "")
        + f"; IBAN {member['iban_status'].lower()}"
    )
    for budget, months in record["budgets"].items():
        out.append("")
        out.append(f"{budget}: {BUDGET_NAMES[budget]}")
        out.append(f"  {'months':18} {'decision':15} {'amount':>7}  why")
        for first, last, r in _runs(months):
            why = []
            if r["fails"]:
                why.append("fails " + " ".join(r["fails"]))
            if r["holds"]:
                why.append("holds " + " ".join(r["holds"]))
            status = {"ENTITLED": "entitled", "NOT_ENTITLED": "not entitled", "PENDING": "zorgkas decides"}[r["status"]]
            span = first if first == last else f"{first} to {last}"
            line = f"  {span:18} {status:15} {r['amount'] or '':>7}  {'; '.join(why)}"
            if r["evidence"]:
                line += f"  [{', '.join(r['evidence'])}]"
            out.append(line)
    if record["absence_budgets"]:
        out.append("")
        out.append("Absence budgets (G-ABSENCE)")
        for a in record["absence_budgets"]:
            state = "due" if a["due"] else "not due"
            out.append(
                f"  school year {a['school_year']}: {a['quantity']} x, {a['amount']} on {a['on']}, {state}"
                + (f"; fails {' '.join(a['fails'])}" if a["fails"] else "")
                + f"  [{', '.join(a['evidence'])}]"
            )
    if record["worklist"]:
        out.append("")
        out.append("Work list")
        for w in record["worklist"]:
            out.append(f"  {w['code']} since {w['since']}: {w['detail']}  [{', '.join(w['evidence'])}]")
    out.append("")
    out.append("Rules")
    for code, text in record["rules"].items():
        out.append(f"  {code}: {text}")
    return "\n".join(out)


def explain(insz: str, as_of: dt.date, landing: Path, as_json: bool = False, prefect: bool | None = None) -> str:
    """The decision record of one person as text (or JSON) to print.

    With a Prefect server configured (PREFECT_API_URL) or `prefect=True`, it runs as the flow
    `vsb-explain`, so the lookup is recorded (without the insz). Without a server it answers
    directly: starting Prefect's temporary server alone takes about 5 s, and an employee
    answering an appeal must have the answer in under 5 s (benchmarks/decide.py: 0.9 s at 7M).
    """
    if prefect is None:
        prefect = bool(os.environ.get("PREFECT_API_URL"))
    if not prefect:
        record = explain_person(insz, landing, as_of)
    else:

        @flow(name="vsb-explain", validate_parameters=False)
        def run_explain(as_of: dt.date, landing: Path) -> dict:
            return explain_person(insz, landing, as_of)

        record = run_explain(as_of=as_of, landing=landing)
    return json.dumps(record, indent=2, ensure_ascii=False) if as_json else render(record)
