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

SIDE = ("status", "amount", "holds", "fails", "evidence")


def code_state(month: dict, code: str) -> str:
    """How a month judges a rule code: "holds", "fails", or "-" (not judged: a condition the month did not need). A
    ground (G-) that does not hold is listed nowhere: it fails (no care need proved, no VAPH recognition)."""
    if code in month["holds"]:
        return "holds"
    return "fails" if code in month["fails"] or code.startswith("G-") else "-"


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


class _Words:
    """The record's words in one language (data/reference/codes.yaml, terms.record, status, budget)."""

    def __init__(self, lang: str):
        self.codes, self.lang = load_codes(), lang

    def __call__(self, label: str, **values) -> str:
        return self.codes.term("record", label, self.lang).format(**values)

    def state(self, state: str) -> str:
        return self("not_judged") if state == "-" else self(state)

    def side(self, side: dict) -> str:
        return f"{self.codes.term('status', side['status'], self.lang):26} {side['amount'] or '':>7}"


def month_runs(months: list[dict]) -> list[tuple[str, str, dict]]:
    """(first month, last month, month) of each run of consecutive months alike on both sides (the same status,
    amount, codes, evidence, and the same codes differing): one line each."""
    runs: list[tuple[str, str, dict]] = []
    for month in months:
        alike = runs and {k: v for k, v in runs[-1][2].items() if k != "month"} == {
            k: v for k, v in month.items() if k != "month"
        }
        if alike:
            runs[-1] = (runs[-1][0], month["month"], runs[-1][2])
        else:
            runs.append((month["month"], month["month"], month))
    return runs


def _budget_lines(budget: str, months: list[dict], counts: dict, words: _Words) -> list[str]:
    out = ["", f"{budget}: {words.codes.term('budget', budget, words.lang)}"]
    if not counts["months_differ"]:
        entitled = sum(m["baseline"]["status"] == "ENTITLED" for m in months)
        return out + ["  " + words("no_month_differs", months=len(months), entitled=entitled)]
    head = f"{words('months'):20} {words('baseline'):34} {words('reform'):34} {words('differing')}"
    out.append(f"     {head}")
    for first, last, m in month_runs(months):
        span = first if first == last else words("span", first=first, last=last)
        differing = ", ".join(
            f"{c['code']} {words.state(c['baseline'])} -> {words.state(c['reform'])}" for c in m["codes"]
        )
        marker = ">>" if m["differs"] else "  "
        line = f"  {marker} {span:20} {words.side(m['baseline'])} {words.side(m['reform'])} {differing}"
        out.append(line.rstrip())
    out.append(
        "  "
        + words(
            "months_differ", months=counts["months_differ"], gained=counts["months_gained"], lost=counts["months_lost"]
        )
    )
    return out


def render_comparison(record: dict, lang: str = "NL") -> str:
    """The side-by-side record as text in `lang` (NL or FR): a `>>` marker on each run of months that differ, with
    the codes judged otherwise; consecutive months alike on one line."""
    reform, words = record["reform"], _Words(lang)
    values = ", ".join(
        words("reform_value", name=v["name"], value=v["value"], **{"from": v["from"]}) for v in reform["parameters"]
    )
    out = [
        words("reform_heading", insz=record["insz"], as_of=record["as_of"], name=reform["name"]),
        words("reform_line", name=reform["name"], description=reform["description"], values=values),
        f"{words('deliveries')}: " + ", ".join(f"{f} {d}" for f, d in record["deliveries"].items()),
    ]
    out += [
        f"! {words('quarantined')}: {q['feed']} {words('row')} {q['row_number']}: {q['rule']}"
        for q in record["quarantined_rows"]
    ]
    if record["member"] is None:
        out.append(words("not_a_member"))
        return "\n".join(out)
    for budget, months in record["budgets"].items():
        out += _budget_lines(budget, months, record["differences"][budget], words)
    titles = {"absence_budgets": words("absences"), "worklist": words("worklist")}
    for key, title in titles.items():
        both = record[key]
        if both["differs"]:
            baseline, reformed = json.dumps(both["baseline"]), json.dumps(both["reform"])
            out += ["", words("both_differ", title=title, baseline=baseline, reform=reformed)]
    out += ["", words("rules")] + [f"  {code}: {words.codes.title(code, lang)}" for code in record["rules"]]
    return "\n".join(out)


def explain_reform(
    insz: str, as_of: dt.date, landing: Path, reform_file: Path, as_json: bool = False, lang: str = "NL"
) -> str:
    """The side-by-side record of one person, as text in `lang` (or JSON) to print. Answers directly, like `vsb
    explain` without a Prefect server: the person's rows are read twice (0.9 s each at 7M members)."""
    scenario = load_reform(Path(reform_file), load_reference(), as_of)
    baseline = explain_person(insz, landing, as_of)
    reformed = explain_person(insz, landing, as_of, scenario.reference)
    record = compare_records(baseline, reformed, scenario.reform.as_dict())
    return json.dumps(record, indent=2, ensure_ascii=False) if as_json else render_comparison(record, lang)
