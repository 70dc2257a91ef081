"""The run's summary for Prefect (docs/spec/outputs.md, "Run report and Prefect"): the Markdown of the artifact
`vsb-<kind>-summary` and the rows of the table artifact `vsb-<kind>-zorgkassen`, from the run's report dict
(pipelines/emit/report.py describes it). Counts and codes only, as the report: never an insz, a name or an
IBAN. Pure: the link to `_report.html` is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import unquote

from pipelines.emit.report import CASE_COUNTS, CASE_LABELS, EVENTS, KINDS, PERSON_LABELS, case_counts, personal_data

STATUS = {"published": "published", "replaced": "published again", "identical": "unchanged (already published)"}


def summary_markdown(report: Mapping, status: str, link: str) -> str:
    """The Markdown summary of a run: what ran, how it ended, its main counts, and a link to its report."""
    run = report["run"]
    kind = run.get("kind", "nightly")
    lines = [
        f"# {KINDS.get(kind, kind)} {run.get('date', '')}: {STATUS.get(status, status)}",
        "",
        f"Report: {report_reference(link)} (folder `{run.get('folder', '')}`)",
        "",
        "| | |",
        "|---|---:|",
        *(f"| {label} | {value} |" for label, value in key_figures(report)),
    ]
    warnings = report.get("warnings", [])
    if warnings:
        lines += ["", f"**Warnings ({len(warnings)})**", "", *(f"- {w}" for w in warnings)]
    text = "\n".join(lines) + "\n"
    _refuse_personal_data(text)
    return text


def report_reference(link: str) -> str:
    """The run report in Markdown, in a form the Prefect UI opens: an http(s) address (the outbox served over the
    web, VSB_REPORT_URL) as a link; a file on this machine or a share as its path to copy into a browser, since a
    web page cannot open a file: link (browsers refuse it, and the UI's Markdown drops the link)."""
    if link.startswith(("http://", "https://")):
        return f"[{link.rsplit('/', 1)[-1]}]({link})"
    path = link.removeprefix("file://") if link.startswith("file://") else link
    return f"`{unquote(path)}` (open it in a browser on a machine that sees the outbox)"


def key_figures(report: Mapping) -> list[tuple[str, str]]:
    """(label, value) of the run's main counts, those its report holds."""
    figures = []
    decisions = report.get("decisions", {})
    if "persons_entitled" in decisions:
        figures.append((PERSON_LABELS["persons_entitled"], _n(decisions["persons_entitled"])))
    if "events" in report:
        events = report["events"]
        figures.append(("Grant events", ", ".join(f"{e} {_n(n)}" for e, n in events.items()) or "none"))
    zorgkassen = report.get("per_zorgkas", {})
    paid = [z["payments"] for z in zorgkassen.values() if "payments" in z]
    if paid:
        figures.append(("Payment rows", _n(sum(p["rows"] for p in paid))))
        figures.append(("Amount paid", _money(sum(Decimal(p["amount"]) for p in paid))))
    recovered = [z["recoveries"] for z in zorgkassen.values() if "recoveries" in z]
    if recovered:
        figures.append(("Recoveries", _n(sum(r["rows"] for r in recovered))))
    if zorgkassen:
        figures.append(("Work-list rows", _n(sum(sum(z.get("worklist", {}).values()) for z in zorgkassen.values()))))
        cases = [case_counts(z.get("worklist", {})) for z in zorgkassen.values()]
        labels = CASE_LABELS | {"applications_overdue": "Applications past their legal term"}
        figures += [(labels[key], _n(sum(c[key] for c in cases))) for key in CASE_COUNTS]
    for key, label in (("invoices", "Invoices issued"), ("fines", "Fines proposed")):
        if key in report:
            counts = report[key]
            figures.append((label, _n(counts.get("issued", counts.get("proposed", 0)))))
    feeds = report.get("feeds", {})
    if feeds:
        read = sum(f.get("rows_read", 0) for f in feeds.values())
        quarantined = sum(f.get("rows_quarantined", 0) for f in feeds.values())
        rate = f" ({quarantined / read:.1%})" if read else ""
        figures.append(("Rows read", _n(read)))
        figures.append(("Rows quarantined", _n(quarantined) + rate))
    if "holds" in report:
        figures.append(("Persons held (S-HOLD)", _n(report["holds"].get("persons", 0))))
    mass = report.get("guards", {}).get("mass_change")
    if mass:
        figures.append(("S-MASS-CHANGE", f"{mass['outcome']}: {_n(mass['stopped'])} stopped, {_n(mass['new'])} new"))
    return figures


def zorgkas_table(report: Mapping) -> list[dict]:
    """One row per zorgkas for the table artifact: its counts (nightly: events, payments, recoveries, work
    list, quarantined rows, letters; invoice and fine runs: their totals)."""
    kind = report["run"].get("kind", "nightly")
    if kind in ("invoices", "fines"):
        per_zorgkas = report.get(kind, {}).get("per_zorgkas", {})
        return [{"zorgkas": code} | dict(totals) for code, totals in per_zorgkas.items()]
    zorgkassen = report.get("per_zorgkas", {})
    events = [e for e in EVENTS if any(e in z.get("events", {}) for z in zorgkassen.values())]
    rows = []
    for code, z in zorgkassen.items():
        row = {"zorgkas": code, **{e: z.get("events", {}).get(e, 0) for e in events}}
        if "payments" in z:
            row |= {"payment rows": z["payments"]["rows"], "transactions": z["payments"]["transactions"]}
            row["amount"] = z["payments"]["amount"]
        if "recoveries" in z:
            row |= {"recoveries": z["recoveries"]["rows"], "recovered amount": z["recoveries"]["amount"]}
        row["work list"] = sum(z.get("worklist", {}).values())
        counts = case_counts(z.get("worklist", {}))
        row |= {"applications open": counts["applications_open"], "past their term": counts["applications_overdue"]}
        row["appeals open"] = counts["appeals_open"]
        row |= {name: z[name] for name in ("quarantine", "letters") if name in z}
        rows.append(row)
    _refuse_personal_data(repr(rows))
    return rows


def _refuse_personal_data(text: str) -> None:
    found = personal_data(text)
    if found:
        raise ValueError(f"the summary would show {len(found)} insz or IBAN values: it carries counts only")


def _n(value) -> str:
    return f"{int(value):,}"


def _money(value) -> str:
    return f"€{Decimal(str(value)):,.2f}"
