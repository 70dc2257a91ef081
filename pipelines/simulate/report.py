"""report.html of a simulation: summary.json as a page for people (docs/spec/outputs.md, Simulation).

Self-contained like the run report (pipelines/emit/report.py, whose style sheet and personal-data check it
shares): inline CSS, charts as small hand-written inline SVG, no script, nothing from elsewhere. Counts and
money only: `simulation_html` refuses to return a page in which an insz or an IBAN could be read. The same
summary gives the same text.

In the user's language (`vsb simulate --lang NL|FR`, Dutch by default: the policy makers of the Flemish
agency), with Belgian number formats from Babel ("1.234", "€ 1.234,50" in Dutch; "1 234", "1 234,50 €" in
French). The figures are named as the run report names them: "persons with an entitled month" is the run
report's figure of the same name (pipelines/emit/report.py `person_counts`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal

from babel.numbers import format_compact_decimal, format_currency, format_decimal

from pipelines.emit.report import _CSS, _ticks, personal_data

BASELINE_COLOUR, REFORM_COLOUR = "#8c959f", "#1f5fa8"
GAIN_COLOUR, LOSS_COLOUR = "#2da44e", "#cf222e"
LOCALES = {"NL": "nl_BE", "FR": "fr_BE"}
TEXTS = {
    "NL": {
        "budgets": {
            "ZZB": "Zorgbudget voor zwaar zorgbehoevenden (ZZB)",
            "BOB": "Zorgbudget voor personen met een handicap (BOB)",
        },
        "persons": "Personen met een maand recht",
        "persons_per_zorgkas": "Personen met een maand recht per zorgkas",
        "gaining_losing": "Personen die een recht winnen / verliezen",
        "gaining_losing_per_zorgkas": "Personen die een recht winnen en verliezen per zorgkas",
        "months": "Maanden met recht",
        "cost": "Kostprijs over het venster",
        "cost_per_year": "Kostprijs per kalenderjaar (EUR)",
        "cost_difference": "Verschil in kostprijs",
        "baseline": "basis",
        "reform": "hervorming",
        "gaining": "winnen",
        "losing": "verliezen",
        "gaining_short": "Winnen",
        "losing_short": "Verliezen",
        "months_gained": "Maanden gewonnen",
        "months_lost": "Maanden verloren",
        "months_amount_changed": "Maanden tegen een ander bedrag",
        "cost_short": "Kostprijs",
        "difference": "Verschil",
        "year": "Jaar {year}",
        "total": "Totaal",
        "reform_title": "Hervorming {name}",
        "value_from": "{name} = {value} vanaf {from}",
        "no_change": "Geen maand met recht en geen bedrag verschilt voor dit zorgbudget.",
        "overview": "Overzicht",
        "reform_column": "Hervorming",
        "budget_column": "Zorgbudget",
        "simulation": "Simulatie",
        "as_of": "Op",
        "window": "Venster",
        "window_value": "{first} tot {last}",
        "reforms": "Hervormingen",
        "title": "Simulatie {name} op {as_of}",
        "deliveries": "Leveringen",
        "warnings": "Waarschuwingen",
        "how_to_read": "Hoe leest u de cijfers?",
        "footer": "vsb-engine simulatierapport: aantallen en bedragen, geen insz, naam of IBAN. De personen achter "
        "de cijfers staan in changes.parquet, naast deze pagina (leesbaar voor eigenaar en groep).",
        "definitions": {
            "window": "het evaluatievenster van de rundatum: evaluation_window_months maanden tot en met de maand "
            "van D",
            "entitled month": "een maand met status ENTITLED in _decisions/periods.parquet (maanden PENDING tellen "
            "niet mee)",
            "persons": "personen met minstens één maand recht in de groep (in het runrapport: 'Persons with an "
            "entitled month')",
            "cost": "de som van de maandbedragen van de maanden met recht (EUR)",
            "persons_gaining": "personen met een maand recht in de groep onder de hervorming en geen onder de basis",
            "persons_losing": "personen met een maand recht in de groep onder de basis en geen onder de hervorming",
            "months_gained": "maanden met recht onder de hervorming en niet onder de basis",
            "months_lost": "maanden met recht onder de basis en niet onder de hervorming",
            "months_amount_changed": "maanden met recht onder beide, tegen een ander maandbedrag",
            "years": "kalenderjaren, beperkt tot het venster: maanden en kosten tellen op over jaren en "
            "zorgkassen, personen niet",
        },
    },
    "FR": {
        "budgets": {
            "ZZB": "Budget de soins pour personnes lourdement dépendantes (ZZB)",
            "BOB": "Budget de soins pour personnes handicapées (BOB)",
        },
        "persons": "Personnes avec un mois de droit",
        "persons_per_zorgkas": "Personnes avec un mois de droit par caisse d'assurance soins",
        "gaining_losing": "Personnes qui gagnent / perdent un droit",
        "gaining_losing_per_zorgkas": "Personnes qui gagnent et perdent un droit par caisse d'assurance soins",
        "months": "Mois de droit",
        "cost": "Coût sur la fenêtre",
        "cost_per_year": "Coût par année civile (EUR)",
        "cost_difference": "Différence de coût",
        "baseline": "base",
        "reform": "réforme",
        "gaining": "gagnent",
        "losing": "perdent",
        "gaining_short": "Gagnent",
        "losing_short": "Perdent",
        "months_gained": "Mois gagnés",
        "months_lost": "Mois perdus",
        "months_amount_changed": "Mois à un autre montant",
        "cost_short": "Coût",
        "difference": "Différence",
        "year": "Année {year}",
        "total": "Total",
        "reform_title": "Réforme {name}",
        "value_from": "{name} = {value} à partir du {from}",
        "no_change": "Aucun mois de droit ni aucun montant ne diffère pour ce budget de soins.",
        "overview": "Vue d'ensemble",
        "reform_column": "Réforme",
        "budget_column": "Budget de soins",
        "simulation": "Simulation",
        "as_of": "Au",
        "window": "Fenêtre",
        "window_value": "{first} à {last}",
        "reforms": "Réformes",
        "title": "Simulation {name} au {as_of}",
        "deliveries": "Livraisons",
        "warnings": "Avertissements",
        "how_to_read": "Comment lire les chiffres\u00a0?",
        "footer": "Rapport de simulation vsb-engine : des nombres et des montants, aucun insz, nom ou IBAN. Les "
        "personnes derrière les chiffres sont dans changes.parquet, à côté de cette page (lisible par le "
        "propriétaire et le groupe).",
        "definitions": {
            "window": "la fenêtre d'évaluation de la date du run : evaluation_window_months mois jusqu'au mois de D "
            "inclus",
            "entitled month": "un mois au statut ENTITLED dans _decisions/periods.parquet (les mois PENDING ne "
            "comptent pas)",
            "persons": "les personnes avec au moins un mois de droit dans le groupe (dans le rapport du run : "
            "'Persons with an entitled month')",
            "cost": "la somme des montants mensuels des mois de droit (EUR)",
            "persons_gaining": "les personnes avec un mois de droit dans le groupe sous la réforme et aucun sous la "
            "base",
            "persons_losing": "les personnes avec un mois de droit dans le groupe sous la base et aucun sous la "
            "réforme",
            "months_gained": "les mois de droit sous la réforme et pas sous la base",
            "months_lost": "les mois de droit sous la base et pas sous la réforme",
            "months_amount_changed": "les mois de droit sous les deux, à un autre montant mensuel",
            "years": "les années civiles, limitées à la fenêtre : mois et coûts s'additionnent sur les années et "
            "les caisses, les personnes non",
        },
    },
}


class _Format:
    """Numbers and money in the report's language, Belgian conventions (Babel)."""

    def __init__(self, lang: str):
        self.locale = LOCALES[lang]

    def n(self, value) -> str:
        return "—" if value is None else format_decimal(int(value), locale=self.locale)

    def money(self, value) -> str:
        return format_currency(Decimal(str(value)), "EUR", locale=self.locale)

    def short(self, value: float) -> str:
        return format_compact_decimal(value, locale=self.locale, fraction_digits=2)


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
    categories: list[str], series: list[tuple[str, str, list[float]]], label: str, fmt: Callable = str
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


def _delta(f: _Format, value, money: bool = False) -> str:
    number = Decimal(str(value))
    text = f.money(abs(number)) if money else f.n(abs(number))
    sign, css = ("+", "up") if number > 0 else ("−", "down") if number < 0 else ("", "")
    return f"<span class='{css}'>{sign}{text}</span>"


def _budget_tiles(t: dict, f: _Format, budget: str, block: dict) -> str:
    total = block["total"]
    b, r = total["baseline"], total["reform"]
    tiles = [
        (t["persons"], f"{f.n(b['persons'])} → {f.n(r['persons'])}"),
        (t["gaining_losing"], f"{_delta(f, total['persons_gaining'])} / {_delta(f, -total['persons_losing'])}"),
        (t["months"], f"{f.n(b['months'])} → {f.n(r['months'])}"),
        (t["cost"], f"{f.money(b['cost'])} → {f.money(r['cost'])}"),
        (t["cost_difference"], _delta(f, total["cost_difference"], money=True)),
    ]
    cells = "".join(
        f'<div class="tile"><div class="label">{_e(k)}</div><div class="value">{v}</div></div>' for k, v in tiles
    )
    return f"<h3>{_e(t['budgets'].get(budget, budget))}</h3><div class='tiles'>{cells}</div>"


def _budget_charts(t: dict, f: _Format, block: dict) -> str:
    years = list(block["years"])
    zorgkassen = list(block["zorgkassen"])
    both = [("baseline", BASELINE_COLOUR), ("reform", REFORM_COLOUR)]
    named = [(t[n], c) for n, c in both]
    cost = grouped_bars_svg(
        years,
        [(t[n], c, [float(block["years"][y][n]["cost"]) for y in years]) for n, c in both],
        t["cost_per_year"],
        f.short,
    )
    persons = grouped_bars_svg(
        zorgkassen,
        [(t[n], c, [block["zorgkassen"][z]["total"][n]["persons"] for z in zorgkassen]) for n, c in both],
        t["persons_per_zorgkas"],
        f.n,
    )
    moves = [("gaining", GAIN_COLOUR), ("losing", LOSS_COLOUR)]
    moved = grouped_bars_svg(
        zorgkassen,
        [(t[n], c, [block["zorgkassen"][z]["total"][f"persons_{n}"] for z in zorgkassen]) for n, c in moves],
        t["gaining_losing_per_zorgkas"],
        f.n,
    )
    figures = [
        _figure(t["cost_per_year"], cost, named),
        _figure(t["persons_per_zorgkas"], persons, named),
        _figure(t["gaining_losing_per_zorgkas"], moved, [(t[n], c) for n, c in moves]),
    ]
    return f"<div class='charts'>{''.join(figures)}</div>"


def _budget_table(t: dict, f: _Format, block: dict) -> str:
    head = (
        f"<tr><th rowspan='2'></th><th colspan='2'>{_e(t['persons'])}</th><th rowspan='2'>{_e(t['gaining_short'])}</th>"
        f"<th rowspan='2'>{_e(t['losing_short'])}</th><th colspan='2'>{_e(t['months'])}</th>"
        f"<th colspan='2'>{_e(t['cost_short'])}</th><th rowspan='2'>{_e(t['difference'])}</th></tr>"
        + "<tr>"
        + f"<th>{_e(t['baseline'])}</th><th>{_e(t['reform'])}</th>" * 3
        + "</tr>"
    )

    def row(name: str, g: dict, tag: str = "td") -> str:
        b, r = g["baseline"], g["reform"]
        cells = [f.n(b["persons"]), f.n(r["persons"]), f.n(g["persons_gaining"]), f.n(g["persons_losing"])]
        cells += [f.n(b["months"]), f.n(r["months"]), f.money(b["cost"]), f.money(r["cost"])]
        body = "".join(f"<{tag} class='num'>{c}</{tag}>" for c in cells)
        delta = _delta(f, g["cost_difference"], True)
        return f"<tr><th>{_e(name)}</th>{body}<{tag} class='num delta'>{delta}</{tag}></tr>"

    rows = [row(t["year"].format(year=y), g) for y, g in block["years"].items()]
    rows += [row(z, g["total"]) for z, g in block["zorgkassen"].items()]
    total = row(t["total"], block["total"], "th").replace("<tr>", "<tr class='total'>", 1)
    return f"<div class='scroll'><table>{head}{''.join(rows)}{total}</table></div>"


def _reform_section(t: dict, f: _Format, name: str, reform: dict, given: dict) -> str:
    values = "".join(
        "<li>"
        + t["value_from"].format(name=f"<code>{_e(v['name'])}</code>", value=_e(v["value"]), **{"from": _e(v["from"])})
        + f" <span class='muted'>({_e(v['source'])})</span></li>"
        for v in given.get("parameters", [])
    )
    title = t["reform_title"].format(name=_e(name))
    parts = [f"<h2>{title}</h2><p>{_e(reform.get('description', ''))}</p><ul>{values}</ul>"]
    for budget, block in reform["budgets"].items():
        parts.append(_budget_tiles(t, f, budget, block))
        if _changed(block["total"]):
            parts += [_budget_charts(t, f, block), _budget_table(t, f, block)]
        else:
            parts.append(f"<p class='muted'>{_e(t['no_change'])}</p>")
    return "<section>" + "".join(parts) + "</section>"


def _changed(total: dict) -> bool:
    return any(total[k] for k in ("months_gained", "months_lost", "months_amount_changed"))


def _overview(t: dict, f: _Format, reforms: dict) -> str:
    """One row per reform and budget: the totals' differences."""
    columns = ["reform_column", "budget_column", "gaining_short", "losing_short", "months_gained", "months_lost"]
    columns += ["months_amount_changed", "cost_difference"]
    head = "<tr>" + "".join(f"<th>{_e(t[c])}</th>" for c in columns) + "</tr>"
    rows = []
    for name, reform in reforms.items():
        for budget, block in reform["budgets"].items():
            total = block["total"]
            counts = [total["persons_gaining"], total["persons_losing"], total["months_gained"], total["months_lost"]]
            counts.append(total["months_amount_changed"])
            cells = "".join(f"<td class='num'>{f.n(c)}</td>" for c in counts)
            delta = f"<td class='num delta'>{_delta(f, total['cost_difference'], True)}</td>"
            rows.append(f"<tr><th>{_e(name)}</th><td>{_e(budget)}</td>{cells}{delta}</tr>")
    return f"<section><h2>{_e(t['overview'])}</h2><table>{head}{''.join(rows)}</table></section>"


def simulation_html(summary: dict, lang: str = "NL") -> str:
    """The report.html page of a simulation's summary.json, in `lang` (NL or FR: module docstring)."""
    t, f = TEXTS[lang], _Format(lang)
    simulation = summary["simulation"]
    given = {r["name"]: r for r in simulation.get("reforms", [])}
    window = simulation["window"]
    facts = [
        (t["simulation"], simulation["name"]),
        (t["as_of"], simulation["as_of"]),
        (t["window"], t["window_value"].format(first=window["first_month"][:7], last=window["last_month"][:7])),
        (t["reforms"], ", ".join(summary["reforms"])),
    ]
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    deliveries = ", ".join(f"{feed} {d}" for feed, d in simulation.get("deliveries", {}).items())
    title = t["title"].format(name=simulation["name"], as_of=simulation["as_of"])
    header = (
        f"<header><h1>{_e(title)}</h1>"
        f"<dl class='facts'>{items}</dl><p class='muted'>{_e(t['deliveries'])}: {_e(deliveries)}</p></header>"
    )
    warnings = "".join(f"<li>{_e(w)}</li>" for w in summary.get("warnings", []))
    if warnings:
        header += f"<section><h2>{_e(t['warnings'])}</h2><ul class='warnings'>{warnings}</ul></section>"
    body = header + _overview(t, f, summary["reforms"])
    body += "".join(_reform_section(t, f, n, r, given.get(n, {})) for n, r in summary["reforms"].items())
    notes = "".join(
        f"<li><b>{_e(k)}</b>: {_e(t['definitions'].get(k, v))}</li>" for k, v in summary.get("definitions", {}).items()
    )
    body += f"<section><h2>{_e(t['how_to_read'])}</h2><ul>{notes}</ul></section>"
    text = _DOCUMENT.format(lang=lang.lower(), title=_e(title), css=_CSS + EXTRA_CSS, body=body, footer=_e(t["footer"]))
    if personal_data(text):
        raise ValueError("the simulation report would show insz or IBAN values: it carries counts only")
    return text


_DOCUMENT = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{body}
<footer>{footer}</footer>
</body>
</html>
"""
