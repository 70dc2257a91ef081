"""summary.json of a simulation: per budget, per zorgkas and per calendar year of the evaluation window,
baseline and reform side by side (docs/spec/outputs.md, Simulation). Counts and money only: no insz.

Each figure block (`Figures`):

    baseline / reform:  persons (with at least one entitled month in the group), months (entitled months),
                        cost (the sum of their monthly amounts, EUR, decimal text)
    persons_gaining:    persons with an entitled month in the group under the reform and none under the baseline
    persons_losing:     the other way round
    months_gained / months_lost / months_amount_changed: months entitled under the reform only / under the
                        baseline only / under both at another amount
    cost_difference:    reform cost minus baseline cost

Months and costs add up: over the zorgkassen to the budget's total, over the years to the total. Persons
do not add up over years (a person entitled in two years counts in both): each level counts its own.
Years are calendar years cut to the window (the first and last are partial).
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

BUDGETS = ("ZZB", "BOB")
DEFINITIONS = {
    "window": "the evaluation window of the run date: evaluation_window_months months ending with the month of D",
    "entitled month": "a month with status ENTITLED in _decisions/periods.parquet (PENDING months are not counted)",
    "persons": "persons with at least one entitled month in the group",
    "cost": "the sum of the monthly amounts of the entitled months (EUR)",
    "persons_gaining": "persons with an entitled month in the group under the reform and none under the baseline",
    "persons_losing": "persons with an entitled month in the group under the baseline and none under the reform",
    "months_gained": "months entitled under the reform and not under the baseline",
    "months_lost": "months entitled under the baseline and not under the reform",
    "months_amount_changed": "months entitled under both, at another monthly amount",
    "years": "calendar years cut to the window: months and costs add up over years and zorgkassen, persons do not",
}


def money(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def figures(row: dict | None) -> dict:
    """One figure block of a rollup row (None: a group without anyone: zeros)."""
    row = row or {}

    def count(name: str) -> int:
        return int(row.get(name) or 0)

    cost_baseline, cost_reform = Decimal(row.get("cost_baseline") or 0), Decimal(row.get("cost_reform") or 0)
    return {
        "baseline": {
            "persons": count("persons_baseline"),
            "months": count("months_baseline"),
            "cost": money(cost_baseline),
        },
        "reform": {"persons": count("persons_reform"), "months": count("months_reform"), "cost": money(cost_reform)},
        "persons_gaining": count("persons_gaining"),
        "persons_losing": count("persons_losing"),
        "months_gained": count("months_gained"),
        "months_lost": count("months_lost"),
        "months_amount_changed": count("months_amount_changed"),
        "cost_difference": money(cost_reform - cost_baseline),
    }


def _rows(frame: pl.DataFrame, by: list[str]) -> dict[tuple, dict]:
    return {tuple(row[k] for k in ["budget", *by]): row for row in frame.iter_rows(named=True)}


def budgets_summary(levels: dict[str, pl.DataFrame], zorgkassen: list[str], years: list[int]) -> dict:
    """Per budget: the total, per year, and per zorgkas its total and years (every zorgkas and year shown).
    `levels`: the rollups of pipelines/simulate/compare.py LEVELS (`reform_levels`)."""
    total = _rows(levels["total"], [])
    by_year = _rows(levels["years"], ["year"])
    by_zorgkas = _rows(levels["zorgkassen"], ["zorgkas"])
    by_both = _rows(levels["zorgkassen_years"], ["zorgkas", "year"])
    known = sorted({*zorgkassen, *(k[1] for k in by_zorgkas)})
    return {
        budget: {
            "total": figures(total.get((budget,))),
            "years": {str(y): figures(by_year.get((budget, y))) for y in years},
            "zorgkassen": {
                code: {
                    "total": figures(by_zorgkas.get((budget, code))),
                    "years": {str(y): figures(by_both.get((budget, code, y))) for y in years},
                }
                for code in known
            },
        }
        for budget in BUDGETS
    }


def summary_document(simulation: dict, feeds: dict, warnings: list[str], reforms: dict[str, dict]) -> dict:
    """summary.json: what was simulated (`simulation`: name, as_of, window, parameter digest, reform files,
    deliveries), the rows each decide feed gave (read, valid, quarantined), the feed warnings, the
    definitions of the figures, and per reform its `budgets_summary`."""
    return {
        "simulation": simulation,
        "feeds": {
            feed: {k: c[k] for k in ("delivery_date", "rows_read", "rows_valid", "rows_quarantined")}
            for feed, c in feeds.items()
        },
        "warnings": list(warnings),
        "definitions": DEFINITIONS,
        "reforms": reforms,
    }
