"""report.html of a simulation: summary.json as a page for people (docs/spec/outputs.md, Simulation).

Self-contained like the run report (pipelines/emit/report.py, whose style sheet, number formats and
personal-data check it shares): inline CSS, charts as small hand-written inline SVG, no script, nothing
from elsewhere. Counts and money only: `simulation_html` refuses to return a page in which an insz or an
IBAN could be read. The same summary gives the same text.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal

from pipelines.emit.report import _CSS, _money, _n, _short, _ticks, personal_data

BASELINE_COLOUR, REFORM_COLOUR = "#8c959f", "#1f5fa8"
GAIN_COLOUR, LOSS_COLOUR = "#2da44e", "#cf222e"
BUDGET_NAMES = {
    "ZZB": "Care budget for severe care needs (ZZB)",
    "BOB": "Care budget for persons with a disability (BOB)",
}
HEIGHT, TOP, BOTTOM, LEFT, RIGHT = 190, 14, 40, 58, 10

EXTRA_CSS = """
.legend { font-size: 12px; color: #57606a; margin: 2px 0 8px; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; vertical-align: middle; }
.up { color: #116329; } .down { color: #a40e26; }
td.delta { font-weight: 600; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def grouped_bars_svg(
    categories: list[str], series: list[tuple[str, str, list[float]]], label: str, fmt: Callable = _short
) -> str:
    """Bars of each series side by side per category (x), y from 0 with a few labelled grid lines; a tooltip
    on every bar. Deterministic: coordinates rounded to 0.1."""
    slot = max(34.0, 16.0 * len(series) + 14)
    width = LEFT + RIGHT + slot * max(1, len(categories))
    inner = HEIGHT - TOP - BOTTOM
    values = [v for _, _, vs in series for v in vs] or [0.0]
    ticks = _ticks(min(0.0, min(values)), max(0.0, max(values)) or 1.0)
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return TOP + inner * (1 - (value - low) / ((high - low) or 1))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {HEIGHT}" width="{width:.0f}" '
        f'height="{HEIGHT}" role="img" aria-label="{_e(label)}"><title>{_e(label)}</title>'
    ]
    for tick in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT:.1f}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#d0d7de"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{_e(fmt(tick))}</text>'
        )
    bar = (slot - 14) / max(1, len(series))
    for i, category in enumerate(categories):
        x0 = LEFT + slot * i + 7
        for j, (name, colour, vs) in enumerate(series):
            value = float(vs[i])
            top, bottom = sorted((y(value), y(0.0)))
            parts.append(
                f'<rect x="{x0 + bar * j:.1f}" y="{top:.1f}" width="{bar - 2:.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" '
                f'fill="{colour}"><title>{_e(category)}, {_e(name)}: {_e(fmt(value))}</title></rect>'
            )
        parts.append(
            f'<text x="{x0 + (slot - 14) / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'class="tick">{_e(category)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: list[tuple[str, str]]) -> str:
    return (
        "<div class='legend'>" + "".join(f"<span style='background:{c}'></span>{_e(n)}" for n, c in series) + "</div>"
    )


def _figure(caption: str, svg: str, legend: list[tuple[str, str]]) -> str:
    return f"<figure><figcaption>{_e(caption)}</figcaption>{_legend(legend)}{svg}</figure>"


def _delta(value, money: bool = False) -> str:
    number = Decimal(str(value))
    text = _money(abs(number)) if money else _n(abs(number))
    sign, css = ("+", "up") if number > 0 else ("−", "down") if number < 0 else ("", "")
    return f"<span class='{css}'>{sign}{text}</span>"


def _budget_tiles(budget: str, block: dict) -> str:
    total = block["total"]
    b, r = total["baseline"], total["reform"]
    tiles = [
        ("Persons with a right", f"{_n(b['persons'])} → {_n(r['persons'])}"),
        ("Gaining / losing a right", f"{_delta(total['persons_gaining'])} / {_delta(-total['persons_losing'])}"),
        ("Entitled months", f"{_n(b['months'])} → {_n(r['months'])}"),
        ("Cost over the window", f"{_money(b['cost'])} → {_money(r['cost'])}"),
        ("Cost difference", _delta(total["cost_difference"], money=True)),
    ]
    cells = "".join(
        f'<div class="tile"><div class="label">{_e(k)}</div><div class="value">{v}</div></div>' for k, v in tiles
    )
    return f"<h3>{_e(BUDGET_NAMES.get(budget, budget))}</h3><div class='tiles'>{cells}</div>"


def _budget_charts(block: dict) -> str:
    years = list(block["years"])
    zorgkassen = list(block["zorgkassen"])
    both = [("baseline", BASELINE_COLOUR), ("reform", REFORM_COLOUR)]
    cost = grouped_bars_svg(
        years,
        [(n, c, [float(block["years"][y][n]["cost"]) for y in years]) for n, c in both],
        "Cost per calendar year (EUR)",
    )
    persons = grouped_bars_svg(
        zorgkassen,
        [(n, c, [block["zorgkassen"][z]["total"][n]["persons"] for z in zorgkassen]) for n, c in both],
        "Persons with a right per zorgkas",
        _n,
    )
    moves = [("gaining", GAIN_COLOUR), ("losing", LOSS_COLOUR)]
    moved = grouped_bars_svg(
        zorgkassen,
        [(n, c, [block["zorgkassen"][z]["total"][f"persons_{n}"] for z in zorgkassen]) for n, c in moves],
        "Persons gaining and losing a right per zorgkas",
        _n,
    )
    figures = [
        _figure("Cost per calendar year (EUR)", cost, both),
        _figure("Persons with a right per zorgkas", persons, both),
        _figure("Persons gaining and losing a right", moved, moves),
    ]
    return f"<div class='charts'>{''.join(figures)}</div>"


def _budget_table(block: dict) -> str:
    head = (
        "<tr><th rowspan='2'></th><th colspan='2'>Persons with a right</th><th rowspan='2'>Gaining</th>"
        "<th rowspan='2'>Losing</th><th colspan='2'>Entitled months</th><th colspan='2'>Cost</th>"
        "<th rowspan='2'>Difference</th></tr><tr><th>Baseline</th><th>Reform</th><th>Baseline</th>"
        "<th>Reform</th><th>Baseline</th><th>Reform</th></tr>"
    )

    def row(name: str, f: dict, tag: str = "td") -> str:
        b, r = f["baseline"], f["reform"]
        cells = [_n(b["persons"]), _n(r["persons"]), _n(f["persons_gaining"]), _n(f["persons_losing"])]
        cells += [_n(b["months"]), _n(r["months"]), _money(b["cost"]), _money(r["cost"])]
        body = "".join(f"<{tag} class='num'>{c}</{tag}>" for c in cells)
        return (
            f"<tr><th>{_e(name)}</th>{body}<{tag} class='num delta'>{_delta(f['cost_difference'], True)}</{tag}></tr>"
        )

    rows = [row(f"Year {y}", f) for y, f in block["years"].items()]
    rows += [row(z, f["total"]) for z, f in block["zorgkassen"].items()]
    total = row("Total", block["total"], "th").replace("<tr>", "<tr class='total'>", 1)
    return f"<div class='scroll'><table>{head}{''.join(rows)}{total}</table></div>"


def _reform_section(name: str, reform: dict, given: dict) -> str:
    values = "".join(
        f"<li><code>{_e(v['name'])}</code> = {_e(v['value'])} from {_e(v['from'])}"
        f" <span class='muted'>({_e(v['source'])})</span></li>"
        for v in given.get("parameters", [])
    )
    parts = [f"<h2>Reform {_e(name)}</h2><p>{_e(reform.get('description', ''))}</p><ul>{values}</ul>"]
    for budget, block in reform["budgets"].items():
        parts.append(_budget_tiles(budget, block))
        if _changed(block["total"]):
            parts += [_budget_charts(block), _budget_table(block)]
        else:
            parts.append("<p class='muted'>No entitled month and no amount differs for this budget.</p>")
    return "<section>" + "".join(parts) + "</section>"


def _changed(total: dict) -> bool:
    return any(total[k] for k in ("months_gained", "months_lost", "months_amount_changed"))


def _overview(reforms: dict) -> str:
    """One row per reform and budget: the totals' differences."""
    head = (
        "<tr><th>Reform</th><th>Budget</th><th>Persons gaining</th><th>Persons losing</th><th>Months gained</th>"
        "<th>Months lost</th><th>Months at another amount</th><th>Cost difference</th></tr>"
    )
    rows = []
    for name, reform in reforms.items():
        for budget, block in reform["budgets"].items():
            t = block["total"]
            counts = [t["persons_gaining"], t["persons_losing"], t["months_gained"], t["months_lost"]]
            counts.append(t["months_amount_changed"])
            cells = "".join(f"<td class='num'>{_n(c)}</td>" for c in counts)
            delta = f"<td class='num delta'>{_delta(t['cost_difference'], True)}</td>"
            rows.append(f"<tr><th>{_e(name)}</th><td>{_e(budget)}</td>{cells}{delta}</tr>")
    return f"<section><h2>Overview</h2><table>{head}{''.join(rows)}</table></section>"


def simulation_html(summary: dict) -> str:
    """The report.html page of a simulation's summary.json."""
    simulation = summary["simulation"]
    given = {r["name"]: r for r in simulation.get("reforms", [])}
    window = simulation["window"]
    facts = [
        ("Simulation", simulation["name"]),
        ("As of", simulation["as_of"]),
        ("Window", f"{window['first_month'][:7]} to {window['last_month'][:7]}"),
        ("Reforms", ", ".join(summary["reforms"])),
    ]
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    deliveries = ", ".join(f"{f} {d}" for f, d in simulation.get("deliveries", {}).items())
    header = (
        f"<header><h1>Simulation {_e(simulation['name'])} as of {_e(simulation['as_of'])}</h1>"
        f"<dl class='facts'>{items}</dl><p class='muted'>Deliveries: {_e(deliveries)}</p></header>"
    )
    warnings = "".join(f"<li>{_e(w)}</li>" for w in summary.get("warnings", []))
    body = header + (f"<section><h2>Warnings</h2><ul class='warnings'>{warnings}</ul></section>" if warnings else "")
    body += _overview(summary["reforms"])
    body += "".join(_reform_section(n, r, given.get(n, {})) for n, r in summary["reforms"].items())
    notes = "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in summary.get("definitions", {}).items())
    body += f"<section><h2>How to read the figures</h2><ul>{notes}</ul></section>"
    text = _DOCUMENT.format(
        title=_e(f"Simulation {simulation['name']} {simulation['as_of']}"), css=_CSS + EXTRA_CSS, body=body
    )
    if personal_data(text):
        raise ValueError("the simulation report would show insz or IBAN values: it carries counts only")
    return text


_DOCUMENT = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{body}
<footer>vsb-engine simulation report: counts and money only, no insz, name or IBAN. The persons behind the
figures are in changes.parquet, beside this page (readable by owner and group only).</footer>
</body>
</html>
"""
