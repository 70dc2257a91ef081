"""`vsb explain INSZ --as-of D --reform FILE`: one person's decision record under the baseline and under a
reform, side by side, month by month, with the rule codes that differ.

Both records are built by `vsb explain`'s own record (flows/explain.py `explain_person`: the person's rows
of the deliveries of D, the nightly run's row rules and decide stage), the second under the reform's
parameters (flows/scenarios.py `load_reform`). Text for the terminal, or the same as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from flows.codes import load_codes
from flows.explain import explain_person
from flows.reference import load_reference
from flows.scenarios import load_reform

STATUS_WORDS = {"ENTITLED": "entitled", "NOT_ENTITLED": "not entitled", "PENDING": "zorgkas decides"}
SIDE = ("status", "amount", "holds", "fails", "evidence")


def code_state(month: dict, code: str) -> str:
    """How a month judges a rule code: "holds", "fails", or "-" (not judged: e.g. a ground without a record)."""
    return "holds" if code in month["holds"] else "fails" if code in month["fails"] else "-"


def compare_month(baseline: dict, reform: dict) -> dict:
    """One month of both records: each side, whether they differ, and the codes judged otherwise."""
    codes = sorted({*baseline["holds"], *baseline["fails"], *reform["holds"], *reform["fails"]})
    changed = [
        {"code": c, "baseline": code_state(baseline, c), "reform": code_state(reform, c)}
        for c in codes
        if code_state(baseline, c) != code_state(reform, c)
    ]
    differs = any(baseline[k] != reform[k] for k in SIDE)
    return {
        "month": baseline["month"],
        "differs": differs,
        "baseline": {k: baseline[k] for k in SIDE},
        "reform": {k: reform[k] for k in SIDE},
        "codes": changed,
    }


def compare_records(baseline: dict, reformed: dict, reform: dict) -> dict:
    """The side-by-side record (what --json prints): every month of both budgets, and per budget the months
    that differ, gained and lost; absence budgets and work list of both when they differ."""
    budgets, counts = {}, {}
    for budget, months in baseline["budgets"].items():
        paired = [compare_month(b, r) for b, r in zip(months, reformed["budgets"][budget], strict=True)]
        budgets[budget] = paired
        entitled = [(m["baseline"]["status"] == "ENTITLED", m["reform"]["status"] == "ENTITLED") for m in paired]
        counts[budget] = {
            "months_differ": sum(m["differs"] for m in paired),
            "months_gained": sum(r and not b for b, r in entitled),
            "months_lost": sum(b and not r for b, r in entitled),
        }
    return {
        "insz": baseline["insz"],
        "as_of": baseline["as_of"],
        "reform": reform,
        "deliveries": baseline["deliveries"],
        "member": baseline["member"],
        "quarantined_rows": baseline["quarantined_rows"],
        "budgets": budgets,
        "differences": counts,
        "absence_budgets": _both(baseline, reformed, "absence_budgets"),
        "worklist": _both(baseline, reformed, "worklist"),
        "rules": sorted({*baseline["rules"], *reformed["rules"]}),
    }


def _both(baseline: dict, reformed: dict, key: str) -> dict:
    return {"differs": baseline[key] != reformed[key], "baseline": baseline[key], "reform": reformed[key]}


def _side(side: dict) -> str:
    return f"{STATUS_WORDS[side['status']]:15} {side['amount'] or '':>7}"


def render_comparison(record: dict) -> str:
    """The side-by-side record as text: a `>>` marker on each month that differs, with its differing codes."""
    reform, codes = record["reform"], load_codes()
    values = ", ".join(f"{v['name']} = {v['value']} from {v['from']}" for v in reform["parameters"])
    out = [
        f"Decision record of {record['insz']} as of {record['as_of']}: baseline and reform {reform['name']}",
        f"Reform {reform['name']}: {reform['description']} ({values})",
        "Deliveries used: " + ", ".join(f"{f} {d}" for f, d in record["deliveries"].items()),
    ]
    out += [f"! quarantined: {q['feed']} row {q['row_number']}: {q['rule']}" for q in record["quarantined_rows"]]
    if record["member"] is None:
        out.append("Not a member in the members feed of this date: nothing is decided (docs/spec/rules.md §0).")
        return "\n".join(out)
    for budget, months in record["budgets"].items():
        counts = record["differences"][budget]
        out += ["", f"{budget}: {codes.term('budget', budget, 'NL')}"]
        if not counts["months_differ"]:
            entitled = sum(m["baseline"]["status"] == "ENTITLED" for m in months)
            out.append(f"  no month differs ({len(months)} months, {entitled} entitled under both)")
            continue
        out.append(
            f"     {'month':8} {'baseline':23} {'reform':23} rule codes that differ (baseline -> reform; -: not judged)"
        )
        for m in months:
            differing = ", ".join(f"{c['code']} {c['baseline']} -> {c['reform']}" for c in m["codes"])
            marker = ">>" if m["differs"] else "  "
            out.append(f"  {marker} {m['month']:8} {_side(m['baseline'])} {_side(m['reform'])} {differing}".rstrip())
        out.append(
            f"  {counts['months_differ']} months differ: {counts['months_gained']} gained, "
            f"{counts['months_lost']} lost under the reform"
        )
    for key, title in (("absence_budgets", "Absence budgets (G-ABSENCE)"), ("worklist", "Work list")):
        both = record[key]
        if both["differs"]:
            out += ["", f"{title} differ: baseline {json.dumps(both['baseline'])}; reform {json.dumps(both['reform'])}"]
    out += ["", "Rules"] + [f"  {code}: {codes.title(code, 'NL')}" for code in record["rules"]]
    return "\n".join(out)


def explain_reform(insz: str, as_of: dt.date, landing: Path, reform_file: Path, as_json: bool = False) -> str:
    """The side-by-side record of one person, as text (or JSON) to print. Answers directly, like `vsb explain`
    without a Prefect server: the person's rows are read twice (0.9 s each at 7M members)."""
    scenario = load_reform(Path(reform_file), load_reference(), as_of)
    baseline = explain_person(insz, landing, as_of)
    reformed = explain_person(insz, landing, as_of, scenario.reference)
    record = compare_records(baseline, reformed, scenario.reform.as_dict())
    return json.dumps(record, indent=2, ensure_ascii=False) if as_json else render_comparison(record)
