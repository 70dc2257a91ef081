"""_report.html: the operator's report of a run (docs/spec/outputs.md, "Run report and Prefect").

`report_html(report, trends)` renders one page, self-contained: inline CSS, charts as small
hand-written inline SVG, no script, no font or image from elsewhere, so it opens from a file share
or an e-mail without a network. The same function renders nightly, invoice and fine reports: each
section shows only when its keys are in the report. Counts and codes only: the input carries no
insz, name or IBAN, and `report_html` refuses to return a page in which `personal_data` finds one.
The same input gives the same text (no clock, no random ids).

The report dict: today's `_report.json` (flows/nightly.py `build_run`, flows/premium.py) plus
`per_zorgkas`, `guards` and the run's `status`. Every key but `run` may be absent.

    run:             kind ("nightly" | "invoices" | "fines"), date (ISO), payment_run (bool, nightly),
                     premium_year (invoices) | fine_year (fines), status ("published" | "identical" |
                     "replaced" | "refused" | "failed", optional), folder (e.g. "2026-11-26.v2",
                     optional), code_version (optional)
    feeds:           {feed: {delivery_date, rows_read, rows_valid, rows_quarantined,
                     quarantined_by_rule: {R-code: n}, rows_without_member?, iban?: {missing, invalid}}}
    decisions:       nightly: {periods: {"ZZB:ENTITLED": n, ...}, months_entitled, persons_entitled (with an
                     entitled month: the simulation's "persons"), persons_decided (with any decided period,
                     entitled, not entitled or pending), absence_budgets_due, worklist: {W-code: n}}
                     (`person_counts`; older reports: persons_with_a_right, which counted persons_decided)
    events:          nightly: {NEW|CONTINUED|CHANGED|STOPPED|CANCELLED: n}
    payments:        nightly: {rows, recoveries}
    holds:           {persons, by_rule: {R-code: n}, by_feed?: {feed: n}}
    per_zorgkas:     nightly: {zorgkas: {events: {EVENT: n}, payments?: {rows, transactions, amount},
                     recoveries?: {rows, amount}, worklist: {W-code: n}, letters?: n, quarantine?: n}}
                     (money as decimal text "123.45", as in the manifests); `per_zorgkas_counts` makes it
    guards:          {mass_change?: {active_before, stopped, new, max_stop_fraction, max_new_fraction,
                     outcome ("passed" | "accepted" | "refused" | "exempt")}, shrink?: [{feed, rows,
                     previous_rows, previous_date?, min_rows_ratio, accepted (bool)}]};
                     `mass_change_counts` makes the first
    warnings:        [text] (the feed checks', and `threshold_warnings`)
    timings_seconds: {step: seconds}, in step order; the steps of PART_STEPS are parts of others (not added up:
                     `run_seconds`)
    wall_seconds:    the run's wall time from its start to its report (the steps and the time between them: the
                     run's Prefect tasks starting, the lock, the state read); absent in older reports
    invoices:        invoice runs: {issued, issued_earlier_on_this_date, liable,
                     liable_already_invoiced_by_other_runs, held, deceased_not_invoiced,
                     per_zorgkas: {zorgkas: {invoices, reduced, amount}}}
    fines:           fine runs: {candidates, proposed, proposed_earlier, held,
                     per_zorgkas: {zorgkas: {fines, amount}}}

The trends frame (TRENDS_COLUMNS), one row per earlier run from the state, the current run
included if it should show (its point is marked): run_date (Date), kind (String), active_grants
(Int64), payment_rows (Int64, null or 0 on a night without payments), payment_amount (Decimal or
Float64), quarantine_rate (Float64, quarantined rows / rows read, 0..1), seconds (Float64, the run's
time), applications_open, applications_overdue, appeals_open (Int64, nightly: the run's totals of `case_counts`;
null before the state kept them). Only the rows of the report's kind are drawn; `trend_row` gives a run's row
from its report.

Charts are hand-written SVG (about 60 lines here) rather than matplotlib or Altair with vl-convert:
a few small line and bar charts need no dependency (matplotlib brings ~40 MB, vl-convert ~100 MB),
the output is a few kB per chart, and it is deterministic by construction.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal

import polars as pl

from pipelines.settle.holds import s_mass_change

TRENDS_COLUMNS = {
    "run_date": pl.Date,
    "kind": pl.String,
    "active_grants": pl.Int64,
    "payment_rows": pl.Int64,
    "payment_amount": pl.Float64,
    "quarantine_rate": pl.Float64,
    "seconds": pl.Float64,
    # nightly runs: the totals of CASE_COUNTS over the zorgkassen (rules.md §10); null in a state's earlier rows
    "applications_open": pl.Int64,
    "applications_overdue": pl.Int64,
    "appeals_open": pl.Int64,
}
EVENTS = ("NEW", "CONTINUED", "CHANGED", "STOPPED", "CANCELLED")
# steps timed inside others: shown under them, never added to the run time. "letters render" is part of "files";
# "letters" is the letters' whole time: taking their inputs (in decide), building them (in settle), rendering (in
# files)
PART_STEPS = {"letters render": "part of files", "letters": "inputs in decide and settle, rendering in files"}
PERSON_LABELS = {
    "persons_entitled": "Persons with an entitled month",
    "persons_decided": "Persons decided (any period: entitled, not entitled or pending)",
}
# docs/spec/feeds.md order
RULES = ("R-ID", "R-NULL", "R-ENUM", "R-DATES", "R-RANGE", "R-REQUIRED", "R-REFERENCE", "R-DUPLICATE")
KINDS = {"nightly": "Nightly run", "invoices": "Premium invoice run", "fines": "Fine-candidate run"}
GOOD_STATUS = {"published", "identical", "replaced"}

# an insz (11 digits in a row) or an IBAN (two letters, two check digits, 11 to 30 letters or digits)
INSZ_PATTERN = re.compile(r"(?<!\d)\d{11}(?!\d)")
IBAN_PATTERN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")


# --- pure helpers that make the report's parts -----------------------------------------------------


def per_zorgkas_counts(
    events: pl.DataFrame,
    worklist: pl.DataFrame,
    payments: pl.DataFrame | None = None,
    recoveries: pl.DataFrame | None = None,
    letters: pl.DataFrame | None = None,
    quarantine: pl.DataFrame | None = None,
    zorgkassen: Iterable[str] = (),
) -> dict[str, dict]:
    """The report's `per_zorgkas`: counts per zorgkas of the run's frames (each with a zorgkas column).

    events: grants events (event); worklist: work-list rows (code); payments: payments.parquet rows
    (end_to_end_id, amount), only on a payment run; recoveries (amount); letters: one row a letter;
    quarantine: the quarantined rows of the zorgkas's members. `zorgkassen`: codes shown even without
    any row. Rows without a zorgkas count under "(none)"."""

    def by(frame: pl.DataFrame, *aggs: pl.Expr) -> dict[str, tuple]:
        grouped = frame.group_by(pl.col("zorgkas").fill_null("(none)")).agg(*aggs).sort("zorgkas")
        return {row[0]: row[1:] for row in grouped.iter_rows()}

    def money(value) -> str:
        return f"{Decimal(value or 0):.2f}"

    events_by, work_by = _pairs(events, "event"), _pairs(worklist, "code")
    found: dict[str, tuple[dict, tuple]] = {}  # name: (counts per zorgkas, counts when none)
    if payments is not None:
        aggs = (pl.len(), pl.col("end_to_end_id").n_unique(), pl.col("amount").sum())
        found["payments"] = (by(payments, *aggs), (0, 0, 0))
    if recoveries is not None:
        found["recoveries"] = (by(recoveries, pl.len(), pl.col("amount").sum()), (0, 0))
    for name, frame in (("letters", letters), ("quarantine", quarantine)):
        if frame is not None:
            found[name] = (by(frame, pl.len()), (0,))
    codes = {*zorgkassen, *(z for z, _ in events_by), *(z for z, _ in work_by)}
    codes |= {z for per_code, _ in found.values() for z in per_code}
    counts = {}
    for code in sorted(codes):
        entry = {
            "events": {e: n for (z, e), n in events_by.items() if z == code},
            "worklist": {w: n for (z, w), n in work_by.items() if z == code},
        }
        for name, (per_code, none) in found.items():
            values = per_code.get(code, none)
            if name == "payments":
                entry[name] = {"rows": values[0], "transactions": values[1], "amount": money(values[2])}
            elif name == "recoveries":
                entry[name] = {"rows": values[0], "amount": money(values[1])}
            else:
                entry[name] = values[0]
        counts[code] = entry
    return counts


# docs/spec/outputs.md, run report: applications open and past their legal term, appeals open (rules.md §10), from
# the work list's codes: an open application is W-APPLICATION-OPEN or, past its term, W-APPLICATION-OVERDUE
CASE_COUNTS = {
    "applications_open": ("W-APPLICATION-OPEN", "W-APPLICATION-OVERDUE"),
    "applications_overdue": ("W-APPLICATION-OVERDUE",),
    "appeals_open": ("W-APPEAL-OPEN",),
}
CASE_LABELS = {
    "applications_open": "Applications open",
    "applications_overdue": "of which past their legal term",
    "appeals_open": "Appeals open",
}


def case_counts(worklist: Mapping[str, int]) -> dict[str, int]:
    """A zorgkas's (or the run's) open applications, those past their legal term, and open appeals, from its work
    list counts per code ({W-code: n})."""
    return {key: sum(worklist.get(code, 0) for code in codes) for key, codes in CASE_COUNTS.items()}


def _pairs(frame: pl.DataFrame, column: str) -> dict[tuple[str, str], int]:
    grouped = frame.group_by(pl.col("zorgkas").fill_null("(none)"), column).len().sort("zorgkas", column)
    return {(z, c): n for z, c, n in grouped.iter_rows()}


def mass_change_counts(
    events: pl.DataFrame,
    active_before: int,
    max_stop_fraction: float,
    max_new_fraction: float,
    accepted: bool = False,
) -> dict:
    """The report's `guards.mass_change`: the S-MASS-CHANGE figures of the run's grant events against the
    grants active before it, and the guard's outcome as pipelines/settle/holds.py `s_mass_change` decides it."""
    stopped = events.filter(pl.col("event").is_in(["STOPPED", "CANCELLED"])).height
    new = events.filter(pl.col("event") == "NEW").height
    if active_before == 0:
        outcome = "exempt"  # a first run
    elif s_mass_change(events, active_before, max_stop_fraction, max_new_fraction):
        outcome = "accepted" if accepted else "refused"
    else:
        outcome = "passed"
    return {
        "active_before": active_before,
        "stopped": stopped,
        "new": new,
        "max_stop_fraction": max_stop_fraction,
        "max_new_fraction": max_new_fraction,
        "outcome": outcome,
    }


def person_counts(periods: pl.DataFrame) -> dict[str, int]:
    """The report's person figures of the decided periods (insz, entitled): persons with an entitled month (the
    simulation's "persons", pipelines/simulate/summary.py) and persons with any decided period."""
    return {
        "persons_entitled": periods.filter(pl.col("entitled"))["insz"].n_unique(),
        "persons_decided": periods["insz"].n_unique(),
    }


def run_seconds(timings: Mapping[str, float]) -> float:
    """The run's time: its steps one after the other, each counted once (PART_STEPS are inside other steps)."""
    return round(sum(v for k, v in timings.items() if k not in PART_STEPS), 3)


def threshold_warnings(
    feeds: Mapping[str, Mapping], held_persons: int, members: int, quarantine_fraction: float, held_fraction: float
) -> list[str]:
    """The run's warnings about its data, for the report, the Prefect summary and the run's log: a feed whose
    quarantined share of the rows read is above `quarantine_fraction` (parameter warn_quarantine_fraction), and
    held persons (S-HOLD) above `held_fraction` of the members (warn_held_fraction). Counts only."""
    found = []
    for feed, f in sorted(feeds.items()):
        read, quarantined = f.get("rows_read", 0), f.get("rows_quarantined", 0)
        if read and quarantined / read > quarantine_fraction:
            found.append(
                f"feed {feed}: {quarantined:,} of {read:,} rows quarantined ({quarantined / read:.1%}), "
                f"above {quarantine_fraction:.0%} (warn_quarantine_fraction)"
            )
    if members and held_persons / members > held_fraction:
        found.append(
            f"{held_persons:,} persons held (S-HOLD), {held_persons / members:.1%} of {members:,} members, "
            f"above {held_fraction:.0%} (warn_held_fraction): they get no payment and no letter"
        )
    return found


def trend_row(report: Mapping, active_grants: int | None = None) -> dict:
    """A run's row of the trends (TRENDS_COLUMNS) from its report: for the state to keep."""
    run = report["run"]
    feeds = report.get("feeds", {})
    read = sum(f.get("rows_read", 0) for f in feeds.values())
    quarantined = sum(f.get("rows_quarantined", 0) for f in feeds.values())
    zorgkassen = report.get("per_zorgkas", {}).values()
    paid = [z["payments"] for z in zorgkassen if "payments" in z]
    nightly = run["kind"] == "nightly" and "per_zorgkas" in report
    cases = [case_counts(z.get("worklist", {})) for z in zorgkassen]
    return {
        "run_date": dt.date.fromisoformat(run["date"]),
        "kind": run["kind"],
        "active_grants": active_grants,
        "payment_rows": report.get("payments", {}).get("rows") if run.get("payment_run") else None,
        "payment_amount": float(sum(Decimal(p["amount"]) for p in paid)) if paid else None,
        "quarantine_rate": quarantined / read if read else None,
        "seconds": run_seconds(report.get("timings_seconds", {})),
        **{key: sum(c[key] for c in cases) if nightly else None for key in CASE_COUNTS},
    }


def personal_data(text: str) -> list[str]:
    """What in `text` looks like an insz (11 digits in a row) or an IBAN: must be nothing in a report."""
    return INSZ_PATTERN.findall(text) + IBAN_PATTERN.findall(text)


# --- the page -------------------------------------------------------------------------------------


def report_html(report: Mapping, trends: pl.DataFrame | None = None, codes: pl.DataFrame | None = None) -> str:
    """The `_report.html` page of a run's report dict (see the module docstring), with trend charts
    from `trends` (TRENDS_COLUMNS; None or empty: no charts). `codes` (code, title_nl, title_fr):
    optional titles shown when the mouse rests on a code."""
    run = report["run"]
    kind = run.get("kind", "nightly")
    page = _Page(_titles(codes))
    sections = [
        _summary(report, page),
        _guards(report, page),
        _zorgkassen(report, page),
        _worklist(report, page),
        _cases(report, page),
        _invoices(report, page),
        _fines(report, page),
        _trends(trends, kind, run.get("date")),
        _quarantine(report, page),
        _side_by_side(_holds(report, page), _decisions(report, page), _timings(report)),
    ]
    title = f"{KINDS.get(kind, kind)} {run.get('date', '')}"
    body = "\n".join(s for s in sections if s)
    text = _DOCUMENT.format(title=_e(title), css=_CSS, header=_header(run), body=body)
    # the code version ("0.1.0+<12 hex digits>") is the one value that may hold 11 digits in a row
    found = personal_data(text.replace(_e(run["code_version"]), "") if run.get("code_version") else text)
    if found:
        raise ValueError(f"the report would show {len(found)} insz or IBAN values: a report carries counts only")
    return text


class _Page:
    def __init__(self, titles: dict[str, str]):
        self.titles = titles

    def code(self, code: str) -> str:
        title = self.titles.get(code)
        if title:
            return f'<abbr title="{_e(title)}">{_e(code)}</abbr>'
        return f"<code>{_e(code)}</code>"


def _titles(codes: pl.DataFrame | None) -> dict[str, str]:
    if codes is None:
        return {}
    columns = [c for c in ("title_nl", "title_fr") if c in codes.columns]
    return {
        row["code"]: " / ".join(row[c] for c in columns if row[c])
        for row in codes.select("code", *columns).iter_rows(named=True)
    }


def _header(run: Mapping) -> str:
    kind = run.get("kind", "nightly")
    facts = [("Kind", KINDS.get(kind, kind)), ("Date", run.get("date", "—"))]
    if "premium_year" in run:
        facts.append(("Premium year", str(run["premium_year"])))
    if "fine_year" in run:
        facts.append(("Fine year", str(run["fine_year"])))
    if "payment_run" in run:
        facts.append(("Payment run", "yes" if run["payment_run"] else "no"))
    if run.get("folder"):
        facts.append(("Folder", run["folder"]))
    status = run.get("status")
    badge = "good" if status in GOOD_STATUS else "bad" if status else "none"
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    items += f'<div><dt>Status</dt><dd><span class="badge {badge}">{_e(status or "not given")}</span></dd></div>'
    version = f'<p class="muted">code version {_e(run["code_version"])}</p>' if run.get("code_version") else ""
    title = f"<h1>{_e(KINDS.get(kind, kind))} {_e(run.get('date', ''))}</h1>"
    return f"<header>{title}<dl class='facts'>{items}</dl>{version}</header>"


def _summary(report: Mapping, page: _Page) -> str:
    tiles = []
    decisions = report.get("decisions", {})
    if "persons_entitled" in decisions:
        tiles.append((PERSON_LABELS["persons_entitled"], _n(decisions["persons_entitled"])))
    if "events" in report:
        tiles.append(("Grant events", _n(sum(report["events"].values()))))
    zorgkassen = report.get("per_zorgkas", {})
    paid = [z["payments"] for z in zorgkassen.values() if "payments" in z]
    if paid:
        tiles.append(("Payments", f"{_n(sum(p['rows'] for p in paid))} rows"))
        tiles.append(("Amount paid", _money(sum(Decimal(p["amount"]) for p in paid))))
    elif "payments" in report:
        tiles.append(("Payment rows", _n(report["payments"].get("rows", 0))))
    feeds = report.get("feeds", {})
    if feeds:
        read = sum(f.get("rows_read", 0) for f in feeds.values())
        quarantined = sum(f.get("rows_quarantined", 0) for f in feeds.values())
        tiles.append(("Rows quarantined", f"{_n(quarantined)} ({_rate(quarantined, read)})"))
    if "holds" in report:
        tiles.append(("Persons held", _n(report["holds"].get("persons", 0))))
    for key, label in (("invoices", "Invoices issued"), ("fines", "Fines proposed")):
        if key in report:
            tiles.append((label, _n(report[key].get("issued", report[key].get("proposed", 0)))))
    if "wall_seconds" in report:
        tiles.append(("Wall time", _seconds(report["wall_seconds"])))
    timings = report.get("timings_seconds", {})
    if timings:
        tiles.append(("Steps, each once", _seconds(run_seconds(timings))))
    if not tiles:
        return ""
    cells = "".join(
        f'<div class="tile"><div class="label">{_e(k)}</div><div class="value">{v}</div></div>' for k, v in tiles
    )
    return f'<section><div class="tiles">{cells}</div></section>'


def _guards(report: Mapping, page: _Page) -> str:
    guards = report.get("guards", {})
    warnings = report.get("warnings", [])
    parts = []
    mass = guards.get("mass_change")
    if mass:
        active = mass.get("active_before", 0)
        rows = [
            ("Active grants before the run", _n(active), ""),
            (
                "Stopped or cancelled",
                _n(mass.get("stopped", 0)),
                f"{_rate(mass.get('stopped', 0), active)} of active; limit {_pct(mass.get('max_stop_fraction'))}",
            ),
            (
                "New",
                _n(mass.get("new", 0)),
                f"{_rate(mass.get('new', 0), active)} of active; limit {_pct(mass.get('max_new_fraction'))}",
            ),
        ]
        outcome = mass.get("outcome", "passed")
        badge = {"passed": "good", "exempt": "none", "accepted": "warn"}.get(outcome, "bad")
        body = "".join(f"<tr><th>{_e(a)}</th><td class='num'>{b}</td><td>{_e(c)}</td></tr>" for a, b, c in rows)
        parts.append(
            f"<h3>{page.code('S-MASS-CHANGE')} <span class='badge {badge}'>{_e(outcome)}</span></h3>"
            f"<table class='narrow'>{body}</table>"
        )
    shrink = guards.get("shrink", [])
    if shrink:
        head = "<tr><th>Feed</th><th>Rows</th><th>Previous rows</th><th>Ratio</th><th>Minimum</th><th></th></tr>"
        body = "".join(
            f"<tr><td>{_e(s['feed'])}</td><td class='num'>{_n(s['rows'])}</td>"
            f"<td class='num'>{_n(s['previous_rows'])}</td><td class='num'>{_rate(s['rows'], s['previous_rows'])}</td>"
            f"<td class='num'>{_pct(s.get('min_rows_ratio'))}</td>"
            f"<td><span class='badge {'warn' if s.get('accepted') else 'bad'}'>"
            f"{'accepted' if s.get('accepted') else 'refused'}</span></td></tr>"
            for s in shrink
        )
        parts.append(f"<h3>Shrinking deliveries</h3><table class='narrow'>{head}{body}</table>")
    if warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
        parts.append(f"<h3>Warnings</h3><ul class='warnings'>{items}</ul>")
    elif guards or "warnings" in report:
        parts.append("<p class='muted'>No warnings.</p>")
    if not parts:
        return ""
    return "<section><h2>Guards and warnings</h2>" + "".join(parts) + "</section>"


def _zorgkassen(report: Mapping, page: _Page) -> str:
    zorgkassen = report.get("per_zorgkas")
    if not zorgkassen:
        return ""
    entries = list(zorgkassen.values())
    shown = _ZorgkasColumns(entries)
    body = "".join(shown.row(name, z) for name, z in zorgkassen.items())
    foot = shown.row("Total", _zorgkas_total(entries, shown), "th").replace("<tr>", "<tr class='total'>", 1)
    table = f"<table>{shown.head()}{body}{foot}</table>"
    return f"<section><h2>Per zorgkas</h2><div class='scroll'>{table}</div></section>"


class _ZorgkasColumns:
    """The columns of the per-zorgkas table: the events that occur, and payments, recoveries, letters and
    quarantined rows when any zorgkas has them."""

    def __init__(self, entries: list[Mapping]):
        self.events = [e for e in EVENTS if any(z.get("events", {}).get(e) for z in entries)] or ["NEW"]
        self.paid, self.recovered = (any(key in z for z in entries) for key in ("payments", "recoveries"))
        self.counts = [key for key in ("letters", "quarantine") if any(key in z for z in entries)]

    def head(self) -> str:
        head = "<tr><th rowspan='2'>Zorgkas</th>" + f"<th colspan='{len(self.events)}'>Grant events</th>"
        sub = "".join(f"<th>{_e(e)}</th>" for e in self.events)
        if self.paid:
            head += "<th colspan='3'>Payments</th>"
            sub += "<th>Rows</th><th>Transactions</th><th>Amount</th>"
        if self.recovered:
            head += "<th colspan='2'>Recoveries</th>"
            sub += "<th>Rows</th><th>Amount</th>"
        head += "<th rowspan='2'>Work list</th>"
        labels = {"letters": "Letters", "quarantine": "Quarantined rows"}
        head += "".join(f"<th rowspan='2'>{labels[key]}</th>" for key in self.counts)
        return head + "</tr><tr>" + sub + "</tr>"

    def row(self, name: str, z: Mapping, tag: str = "td") -> str:
        values = [_n(z.get("events", {}).get(e, 0)) for e in self.events]
        if self.paid:
            p = z.get("payments", {"rows": 0, "transactions": 0, "amount": "0"})
            values += [_n(p["rows"]), _n(p["transactions"]), _money(p["amount"])]
        if self.recovered:
            r = z.get("recoveries", {"rows": 0, "amount": "0"})
            values += [_n(r["rows"]), _money(r["amount"])]
        values.append(_n(sum(z.get("worklist", {}).values())))
        values += [_n(z.get(key, 0)) for key in self.counts]
        cells = "".join(f"<{tag} class='num'>{v}</{tag}>" for v in values)
        return f"<tr><th>{_e(name)}</th>{cells}</tr>"


def _zorgkas_total(entries: list[Mapping], shown: _ZorgkasColumns) -> dict:
    total = {
        "events": {e: sum(z.get("events", {}).get(e, 0) for z in entries) for e in shown.events},
        "worklist": {"all": sum(sum(z.get("worklist", {}).values()) for z in entries)},
        **{key: sum(z.get(key, 0) for z in entries) for key in shown.counts},
    }
    if shown.paid:
        ps = [z["payments"] for z in entries if "payments" in z]
        total["payments"] = {
            "rows": sum(p["rows"] for p in ps),
            "transactions": sum(p["transactions"] for p in ps),
            "amount": sum(Decimal(p["amount"]) for p in ps),
        }
    if shown.recovered:
        rs = [z["recoveries"] for z in entries if "recoveries" in z]
        total["recoveries"] = {"rows": sum(r["rows"] for r in rs), "amount": sum(Decimal(r["amount"]) for r in rs)}
    return total


def _worklist(report: Mapping, page: _Page) -> str:
    zorgkassen = report.get("per_zorgkas")
    if not zorgkassen:
        return ""
    codes = sorted({c for z in zorgkassen.values() for c in z.get("worklist", {})})
    if not codes:
        return "<section><h2>Work list per code</h2><p class='muted'>The work lists are empty.</p></section>"
    head = "<tr><th>Zorgkas</th>" + "".join(f"<th>{page.code(c)}</th>" for c in codes) + "<th>Total</th></tr>"
    rows = []
    for name, z in zorgkassen.items():
        work = z.get("worklist", {})
        cells = "".join(f"<td class='num'>{_n(work.get(c, 0))}</td>" for c in codes)
        rows.append(f"<tr><th>{_e(name)}</th>{cells}<td class='num'>{_n(sum(work.values()))}</td></tr>")
    totals = [sum(z.get("worklist", {}).get(c, 0) for z in zorgkassen.values()) for c in codes]
    foot = (
        "<tr class='total'><th>Total</th>"
        + "".join(f"<th class='num'>{_n(t)}</th>" for t in totals)
        + f"<th class='num'>{_n(sum(totals))}</th></tr>"
    )
    table = f"<div class='scroll'><table class='rules'>{head}{''.join(rows)}{foot}</table></div>"
    return f"<section><h2>Work list per code</h2>{table}</section>"


def _cases(report: Mapping, page: _Page) -> str:
    """Applications open and past their legal term, and appeals open, per zorgkas (rules.md §10)."""
    zorgkassen = report.get("per_zorgkas")
    if not zorgkassen or report["run"].get("kind", "nightly") != "nightly":
        return ""
    # the first column counts every open application, within its term or past it (M-APPLICATION), not only the rows
    # W-APPLICATION-OPEN; the others are one code each (CASE_COUNTS)
    codes = {"applications_open": "M-APPLICATION", "applications_overdue": "W-APPLICATION-OVERDUE"}
    codes["appeals_open"] = "W-APPEAL-OPEN"
    head = "<tr><th>Zorgkas</th>" + "".join(f"<th>{_e(CASE_LABELS[k])} ({page.code(c)})</th>" for k, c in codes.items())
    rows, totals = [], dict.fromkeys(CASE_COUNTS, 0)
    for name, z in zorgkassen.items():
        counts = case_counts(z.get("worklist", {}))
        totals = {k: totals[k] + n for k, n in counts.items()}
        cells = "".join(f"<td class='num'>{_n(n)}</td>" for n in counts.values())
        rows.append(f"<tr><th>{_e(name)}</th>{cells}</tr>")
    foot = "<tr class='total'><th>Total</th>" + "".join(f"<th class='num'>{_n(n)}</th>" for n in totals.values())
    table = f"<div class='scroll'><table class='rules'>{head}</tr>{''.join(rows)}{foot}</tr></table></div>"
    note = (
        "<p class='muted'>An application is open until the zorgkas grants or refuses it; past its legal term 90 days "
        "after receipt. An appeal is open until the agency rules; the recoveries of its budget wait.</p>"
    )
    return f"<section><h2>Applications and appeals</h2>{table}{note}</section>"


def _premium(report: Mapping, key: str, title: str, labels: dict[str, str], columns: list[tuple[str, str]]) -> str:
    counts = report.get(key)
    if not counts:
        return ""
    facts = "".join(
        f"<tr><th>{_e(label)}</th><td class='num'>{_n(counts[k])}</td></tr>"
        for k, label in labels.items()
        if k in counts
    )
    parts = [f"<table class='narrow'>{facts}</table>"]
    zorgkassen = counts.get("per_zorgkas", {})
    if zorgkassen:
        head = "<tr><th>Zorgkas</th>" + "".join(f"<th>{_e(label)}</th>" for _, label in columns) + "</tr>"

        def cell(k: str, v, tag: str = "td") -> str:
            return f"<{tag} class='num'>{_money(v) if k == 'amount' else _n(v)}</{tag}>"

        rows = "".join(
            f"<tr><th>{_e(name)}</th>{''.join(cell(k, z.get(k, 0)) for k, _ in columns)}</tr>"
            for name, z in zorgkassen.items()
        )
        total = {
            k: sum(Decimal(str(z.get(k, 0))) if k == "amount" else z.get(k, 0) for z in zorgkassen.values())
            for k, _ in columns
        }
        foot = "<tr class='total'><th>Total</th>" + "".join(cell(k, total[k], "th") for k, _ in columns) + "</tr>"
        parts.append(f"<table>{head}{rows}{foot}</table>")
    return f"<section><h2>{_e(title)}</h2>{''.join(parts)}</section>"


def _invoices(report: Mapping, page: _Page) -> str:
    labels = {
        "issued": "Issued in this run",
        "issued_earlier_on_this_date": "Issued earlier on this date",
        "liable": "Liable for the premium",
        "liable_already_invoiced_by_other_runs": "Already invoiced by other runs",
        "held": "Held (quarantined rows)",
        "deceased_not_invoiced": "Deceased, not invoiced",
    }
    columns = [("invoices", "Invoices"), ("reduced", "Reduced"), ("amount", "Amount")]
    return _premium(report, "invoices", "Premium invoices", labels, columns)


def _fines(report: Mapping, page: _Page) -> str:
    labels = {
        "candidates": "Candidates",
        "proposed": "Proposed in this run",
        "proposed_earlier": "Proposed earlier",
        "held": "Held (quarantined rows)",
    }
    return _premium(report, "fines", "Fine candidates", labels, [("fines", "Fines"), ("amount", "Amount")])


def _quarantine(report: Mapping, page: _Page) -> str:
    feeds = report.get("feeds")
    if not feeds:
        return ""
    seen = {r for f in feeds.values() for r in f.get("quarantined_by_rule", {})}
    rules = [r for r in RULES if r in seen] + sorted(seen - set(RULES))
    without = any("rows_without_member" in f for f in feeds.values())
    iban = any("iban" in f for f in feeds.values())
    head = (
        "<tr><th>Feed</th><th>Delivery</th><th>Rows read</th><th>Valid</th><th>Quarantined</th><th>Rate</th>"
        + "".join(f"<th>{page.code(r)}</th>" for r in rules)
        + ("<th>Without member</th>" if without else "")
        + "</tr>"
    )
    rows = []
    worst = max(
        (f.get("rows_quarantined", 0) / f["rows_read"] for f in feeds.values() if f.get("rows_read")), default=0
    )
    for feed, f in feeds.items():
        read, quarantined = f.get("rows_read", 0), f.get("rows_quarantined", 0)
        share = quarantined / read if read else 0
        bar = f"<span class='bar' style='width:{_bar_width(share, worst)}px'></span>" if quarantined else ""
        by_rule = f.get("quarantined_by_rule", {})
        rows.append(
            f"<tr><th>{_e(feed)}</th><td class='date'>{_e(f.get('delivery_date', '—'))}</td>"
            f"<td class='num'>{_n(read)}</td>"
            f"<td class='num'>{_n(f.get('rows_valid', 0))}</td><td class='num'>{_n(quarantined)}</td>"
            f"<td class='num'>{_rate(quarantined, read)} {bar}</td>"
            + "".join(f"<td class='num'>{_n(by_rule.get(r, 0)) if by_rule.get(r) else ''}</td>" for r in rules)
            + (f"<td class='num'>{_n(f.get('rows_without_member', 0))}</td>" if without else "")
            + "</tr>"
        )
    read = sum(f.get("rows_read", 0) for f in feeds.values())
    quarantined = sum(f.get("rows_quarantined", 0) for f in feeds.values())
    foot = (
        f"<tr class='total'><th>Total</th><th></th><th class='num'>{_n(read)}</th>"
        f"<th class='num'>{_n(sum(f.get('rows_valid', 0) for f in feeds.values()))}</th>"
        f"<th class='num'>{_n(quarantined)}</th><th class='num'>{_rate(quarantined, read)}</th>"
        + "".join(
            f"<th class='num'>{_n(sum(f.get('quarantined_by_rule', {}).get(r, 0) for f in feeds.values()))}</th>"
            for r in rules
        )
        + (
            f"<th class='num'>{_n(sum(f.get('rows_without_member', 0) for f in feeds.values()))}</th>"
            if without
            else ""
        )
        + "</tr>"
    )
    extra = ""
    if iban:
        found = {feed: f["iban"] for feed, f in feeds.items() if "iban" in f}
        extra = "".join(
            f"<p>Members of <b>{_e(feed)}</b> without a usable IBAN: {_n(i.get('missing', 0))} missing, "
            f"{_n(i.get('invalid', 0))} invalid (treated as missing).</p>"
            for feed, i in found.items()
        )
    table = f"<div class='scroll'><table class='rules'>{head}{''.join(rows)}{foot}</table></div>"
    return f"<section><h2>Quarantine per feed and rule</h2>{table}{extra}</section>"


def _side_by_side(*sections: str) -> str:
    shown = [s for s in sections if s]
    return f"<div class='columns'>{''.join(shown)}</div>" if shown else ""


def _holds(report: Mapping, page: _Page) -> str:
    holds = report.get("holds")
    if holds is None:
        return ""
    parts = [f"<p>{page.code('S-HOLD')}: <b>{_n(holds.get('persons', 0))}</b> persons held this run.</p>"]
    for key, label in (("by_rule", "Rule"), ("by_feed", "Feed")):
        counts = holds.get(key)
        if counts:
            names = [page.code(k) if key == "by_rule" else _e(k) for k in counts]
            rows = "".join(
                f"<tr><td>{name}</td><td class='num'>{_n(n)}</td></tr>"
                for name, n in zip(names, counts.values(), strict=True)
            )
            parts.append(f"<table class='narrow'><tr><th>{label}</th><th>Held rows</th></tr>{rows}</table>")
    return "<section><h2>Holds</h2>" + "".join(parts) + "</section>"


def _decisions(report: Mapping, page: _Page) -> str:
    decisions = report.get("decisions")
    if not decisions:
        return ""
    facts = [
        (PERSON_LABELS["persons_entitled"], decisions.get("persons_entitled")),
        (PERSON_LABELS["persons_decided"], decisions.get("persons_decided", decisions.get("persons_with_a_right"))),
        ("Months entitled", decisions.get("months_entitled")),
        ("Absence budgets due", decisions.get("absence_budgets_due")),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td class='num'>{_n(v)}</td></tr>" for k, v in facts if v is not None)
    periods = decisions.get("periods", {})
    if periods:
        rows += "".join(
            f"<tr><th>Periods {_e(key.replace(':', ' '))}</th><td class='num'>{_n(n)}</td></tr>"
            for key, n in periods.items()
        )
    return f"<section><h2>Decisions</h2><table class='narrow'>{rows}</table></section>"


def _timings(report: Mapping) -> str:
    timings = report.get("timings_seconds")
    if not timings:
        return ""
    longest = max(timings.values()) or 1
    steps = [(k, v) for k, v in timings.items() if k not in PART_STEPS]
    steps += [(k, timings[k]) for k in PART_STEPS if k in timings]  # the parts last, after the steps they are in
    rows = "".join(
        f"<tr{' class=part' if step in PART_STEPS else ''}><th>{_e(step)}"
        + (f" <span class='muted'>({_e(PART_STEPS[step])})</span>" if step in PART_STEPS else "")
        + f"</th><td class='num'>{_seconds(s)}</td>"
        f"<td><span class='bar' style='width:{_bar_width(s, longest)}px'></span></td></tr>"
        for step, s in steps
    )
    total = (
        f"<tr class='total'><th>The steps, each once</th><th class='num'>{_seconds(run_seconds(timings))}"
        "</th><th></th></tr>"
    )
    if "wall_seconds" in report:
        total += (
            "<tr class='total'><th>Wall time, from the run's start to this report <span class='muted'>(the steps and "
            f"the time between them)</span></th><th class='num'>{_seconds(report['wall_seconds'])}</th><th></th></tr>"
        )
    note = f"<p class='muted note'>{_e(report['timings_note'])}</p>" if report.get("timings_note") else ""
    return f"<section><h2>Timings per step</h2><table class='narrow'>{rows}{total}</table>{note}</section>"


# --- trends: small hand-written SVG charts -----------------------------------------------------------


def _trends(trends: pl.DataFrame | None, kind: str, run_date: str | None) -> str:
    if trends is None or trends.is_empty():
        return "<section><h2>Trends</h2><p class='muted'>No earlier runs in the state.</p></section>"
    frame = (
        trends.select([pl.col(c).cast(t) for c, t in TRENDS_COLUMNS.items() if c in trends.columns])
        .filter(pl.col("kind") == kind if "kind" in trends.columns else pl.lit(True))
        .sort("run_date")
    )
    if frame.is_empty():
        return f"<section><h2>Trends</h2><p class='muted'>No earlier {_e(kind)} runs in the state.</p></section>"
    current = dt.date.fromisoformat(run_date) if run_date else None
    domain = (frame["run_date"].min(), frame["run_date"].max())  # the same dates under every chart
    charts = [
        ("active_grants", "Active grants", "line", _n),
        ("payment_rows", "Payment rows", "bar", _n),
        ("payment_amount", "Amount paid (EUR)", "bar", _short),
        ("quarantine_rate", "Quarantine rate", "line", lambda v: f"{v:.2%}"),
        ("seconds", "Run time", "line", _seconds),
    ]
    figures = []
    cases = _cases_trend(frame, current, domain)
    for column, label, shape, fmt in charts:
        if column not in frame.columns or frame[column].null_count() == frame.height:
            continue
        points = [(d, v) for d, v in frame.select("run_date", column).iter_rows() if v is not None]
        if shape == "bar" and not any(v for _, v in points):
            continue
        svg = chart_svg(points, label, shape, fmt, current, domain)
        figures.append(f"<figure><figcaption>{_e(label)}</figcaption>{svg}</figure>")
    figures += [cases] if cases else []
    runs = f"{frame.height} {_e(kind)} runs, {frame['run_date'].min()} to {frame['run_date'].max()}"
    return f"<section><h2>Trends</h2><p class='muted'>{runs}</p><div class='charts'>{''.join(figures)}</div></section>"


CASES_TREND = "Applications and appeals open"
# the lines of the cases chart: the totals of CASE_COUNTS, each its colour (the legend under the chart)
CASE_LINES = {"applications_open": "#1f5fa8", "applications_overdue": "#b3261e", "appeals_open": "#2e7d32"}


def _cases_trend(frame: pl.DataFrame, current: dt.date | None, domain: tuple[dt.date, dt.date]) -> str:
    """One chart of the three case totals of the nights (open applications, those past their term, open appeals),
    a line each; the runs from before the state kept them (null) are left out. Empty when no run has them."""
    if not set(CASE_LINES) <= set(frame.columns):
        return ""
    known = frame.select("run_date", *CASE_LINES).drop_nulls()
    if known.is_empty():
        return ""
    labels = CASE_LABELS | {"applications_overdue": "Applications past their legal term"}
    series = [(labels[c], CASE_LINES[c], list(known.select("run_date", c).iter_rows())) for c in CASE_LINES]
    svg = lines_svg(series, CASES_TREND, _n, current, domain)
    legend = "".join(
        f"<span class='key'><span class='swatch' style='background:{colour}'></span>{_e(label)}</span>"
        for label, colour, _ in series
    )
    return f"<figure><figcaption>{_e(CASES_TREND)}</figcaption>{svg}<div class='legend'>{legend}</div></figure>"


WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 26
ACCENT, MARK, GRID = "#1f5fa8", "#d9822b", "#d0d7de"


def chart_svg(
    points: list[tuple[dt.date, float]],
    label: str,
    shape: str = "line",
    fmt=str,
    current: dt.date | None = None,
    domain: tuple[dt.date, dt.date] | None = None,
) -> str:
    """A small chart of (date, value) points as an inline SVG: a line (with dots) or bars, y from 0 (bars)
    or from the data (lines) with a few labelled grid lines, the first and last date of `domain` (default:
    of the points) under the x axis, and the point of `current` marked. Each point has a tooltip.
    Deterministic: coordinates are rounded to 0.1."""
    values = [float(v) for _, v in points]
    low, high = (0.0, max(values)) if shape == "bar" else (min(values), max(values))
    ticks = _ticks(min(low, 0.0) if shape == "bar" else low, high)
    frame = _ChartFrame(domain or (points[0][0], points[-1][0]), ticks[0], ticks[-1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>',
        *frame.axes(ticks, fmt),
        *(frame.bars(points, fmt, current) if shape == "bar" else frame.line(points, fmt, current)),
        "</svg>",
    ]
    return "".join(parts)


def lines_svg(
    series: list[tuple[str, str, list[tuple[dt.date, float]]]],
    label: str,
    fmt=str,
    current: dt.date | None = None,
    domain: tuple[dt.date, dt.date] | None = None,
) -> str:
    """Several lines (label, colour, points) in one chart as an inline SVG, y from 0 (counts) with a few labelled
    grid lines, drawn as `chart_svg` draws one; each point's tooltip names its line. Deterministic."""
    values = [float(v) for _, _, points in series for _, v in points]
    days = sorted(d for _, _, points in series for d, _ in points)
    ticks = _ticks(0.0, max(values))
    frame = _ChartFrame(domain or (days[0], days[-1]), ticks[0], ticks[-1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>',
        *frame.axes(ticks, fmt),
        *(part for name, colour, points in series for part in frame.line(points, fmt, current, colour, name)),
        "</svg>",
    ]
    return "".join(parts)


class _ChartFrame:
    """Where a chart's dates and values go in its WIDTH x HEIGHT box."""

    def __init__(self, domain: tuple[dt.date, dt.date], low: float, high: float):
        self.first, self.last = domain
        self.low, self.high = low, high
        self.width, self.height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.span = (self.last - self.first).days or 1

    def x(self, day: dt.date) -> float:
        if self.first == self.last:
            return LEFT + self.width / 2
        return LEFT + self.width * (day - self.first).days / self.span

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - (value - self.low) / ((self.high - self.low) or 1))

    def axes(self, ticks: list[float], fmt) -> list[str]:
        parts = [
            f'<line x1="{LEFT}" x2="{LEFT + self.width}" y1="{self.y(tick):.1f}" y2="{self.y(tick):.1f}" '
            f'stroke="{GRID}"/><text x="{LEFT - 6}" y="{self.y(tick) + 4:.1f}" text-anchor="end" class="tick">'
            f"{_e(fmt(tick))}</text>"
            for tick in ticks
        ]
        dates = [(self.first, "start")] if self.first == self.last else [(self.first, "start"), (self.last, "end")]
        parts += [
            f'<text x="{self.x(day):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" class="tick">{day.isoformat()}</text>'
            for day, anchor in dates
        ]
        return parts

    def bars(self, points: list[tuple[dt.date, float]], fmt, current: dt.date | None) -> list[str]:
        slot = self.width / max(len(points), self.span + 1)
        bar = max(2.0, min(24.0, slot * 0.8))
        parts = []
        for day, value in points:
            top = self.y(float(value))
            colour = MARK if day == current else ACCENT
            parts.append(
                f'<rect x="{self.x(day) - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" '
                f'height="{self.y(self.low) - top:.1f}" fill="{colour}">'
                f"<title>{day.isoformat()}: {_e(fmt(float(value)))}</title></rect>"
            )
        return parts

    def line(
        self, points: list[tuple[dt.date, float]], fmt, current: dt.date | None, colour: str = ACCENT, name: str = ""
    ) -> list[str]:
        line = " ".join(f"{self.x(d):.1f},{self.y(float(v)):.1f}" for d, v in points)
        parts = [f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>']
        what = f"{_e(name)} " if name else ""
        for day, value in points:
            fill, radius = (MARK, 4) if day == current else (colour, 2.5)
            parts.append(
                f'<circle cx="{self.x(day):.1f}" cy="{self.y(float(value)):.1f}" r="{radius}" fill="{fill}">'
                f"<title>{day.isoformat()}: {what}{_e(fmt(float(value)))}</title></circle>"
            )
        return parts


def _ticks(low: float, high: float, intervals: int = 3) -> list[float]:
    """Round, evenly spaced values from at or below `low` to at or above `high` (about `intervals` steps)."""
    if abs(high - low) <= abs(high) * 1e-3:  # flat, or as good as flat: a band around the value
        pad = abs(high) * 0.1 or 1.0
        low, high = (0.0 if low >= 0 and low - pad < 0 else low - pad), high + pad
    raw = (high - low) / intervals
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, end = math.floor(low / step), math.ceil(high / step)
    return [round(i * step, 10) for i in range(start, end + 1)]


# --- formatting ---------------------------------------------------------------------------------------


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _n(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _money(value) -> str:
    return f"€{Decimal(str(value)):,.2f}"


def _short(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _rate(part, whole) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _pct(fraction) -> str:
    return "—" if fraction is None else f"{fraction:.0%}"


def _seconds(value: float) -> str:
    if value >= 60:
        minutes, seconds = divmod(round(value), 60)
        return f"{minutes} min {seconds:02d} s"
    return f"{value:.1f} s" if value >= 0.1 or value == 0 else f"{value:.2f} s"


def _bar_width(value: float, largest: float, widest: int = 80) -> int:
    return max(1, round(widest * value / largest)) if largest else 0


_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       color: #1f2328; background: #ffffff; }
header { border-bottom: 3px solid #1f5fa8; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 24px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 0 0 12px; }
.facts dt { font-size: 11px; text-transform: uppercase; color: #57606a; }
.facts dd { margin: 0; font-weight: 600; }
.muted { color: #57606a; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.good { background: #dafbe1; color: #116329; }
.badge.warn { background: #fff8c5; color: #7d4e00; }
.badge.bad { background: #ffebe9; color: #a40e26; }
.badge.none { background: #eaeef2; color: #57606a; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; min-width: 150px; }
.tile .label { font-size: 12px; color: #57606a; }
.tile .value { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0 10px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: middle; }
thead th, tr:first-child th { background: #f6f8fa; }
td.num, th.num, td.date { text-align: right; white-space: nowrap; }
code, abbr { white-space: nowrap; }
table.rules th code, table.rules th abbr { white-space: normal; }
.scroll { overflow-x: auto; }
.columns { display: flex; flex-wrap: wrap; gap: 0 40px; align-items: flex-start; }
tr.total th { background: #f6f8fa; }
table.narrow th { font-weight: 500; background: #f6f8fa; }
tr.part th { font-weight: 400; padding-left: 22px; }
.bar { display: inline-block; height: 9px; background: #1f5fa8; border-radius: 2px; vertical-align: middle; }
.warnings li { color: #7d4e00; }
abbr { text-decoration: underline dotted; cursor: help; }
code, abbr { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: 6px 8px; }
figcaption { font-weight: 600; font-size: 13px; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 11px; color: #57606a; max-width: 320px; }
.swatch { display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
svg .tick { font-size: 10px; fill: #57606a; font-family: system-ui, "DejaVu Sans", sans-serif; }
.note { max-width: 380px; font-size: 12px; }
footer { margin-top: 28px; font-size: 12px; color: #57606a; }
@media print { body { padding: 0; } section { break-inside: avoid; } }
"""

_DOCUMENT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{header}
{body}
<footer>vsb-engine run report: counts and codes only, no insz, name or IBAN.</footer>
</body>
</html>
"""
