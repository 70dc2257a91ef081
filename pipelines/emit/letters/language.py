"""L-LANGUAGE: the letters' texts and the Belgian conventions of their language (docs/spec/rules.md §9).

The sentences live in texts/nl.yaml and texts/fr.yaml beside the templates; this module reads them
(package data, through importlib.resources) and formats values the way the texts need them, with
Babel's nl_BE and fr_BE locales: "26 november 2026", "november 2026", "€ 140,00" in Dutch;
"26 novembre 2026", "novembre 2026", "140,00 €" in French.

Babel 2.18 (CLDR) separates the euro sign from the amount with a no-break space (U+00A0), and French
groups thousands with a narrow no-break space (U+202F): "1 234,50 €". We keep both: they print as the
spaces of docs/spec/rules.md's examples and never let a line break between the sign and the amount.

Formatting is Python (Babel), so it is done once per distinct (value, language) and joined back
(`with_text`): a run has few distinct dates and amounts, however many letters.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import yaml
from babel.core import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("NL", "FR")
DEFAULT_LANGUAGE = "NL"
LOCALES = {"NL": "nl_BE", "FR": "fr_BE"}
# L-ADDRESSEE: to whom a letter speaks. SELF: the member ("u", "vous"); HEIRS: the heirs of a member who died on
# or before the letter's date (the member in the third person and the past tense); PARENTS: the parents or the
# legal representative of a member younger than 18 (the member in the third person).
VOICES = ("SELF", "HEIRS", "PARENTS")
# French puts a no-break space before a colon and a narrow no-break space before ; ? ! (Belgian and French
# typography alike); the texts are written with a plain space, which could break a line before the sign.
_FRENCH_SPACES = (
    (re.compile(r" :"), "\u00a0:"),
    (re.compile(r" ([;?!])"), "\u202f\\1"),
)


@cache
def _load(language: str) -> dict[str, Any]:
    raw = resources.files(__package__).joinpath("texts", f"{language.lower()}.yaml").read_text(encoding="utf-8")
    if language == "FR":
        for pattern, replacement in _FRENCH_SPACES:
            raw = pattern.sub(replacement, raw)
    return yaml.safe_load(raw)


def texts_key(language: str, voice: str) -> str:
    """The key of a letter's texts: its language, and its voice when not SELF ("NL", "FR-HEIRS", "NL-PARENTS")."""
    return language if voice == "SELF" else f"{language}-{voice}"


def _merged(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merged(base.get(k), v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


def letter_texts() -> dict[str, dict[str, Any]]:
    """Every sentence of every letter kind, per language and voice (`texts_key`: NL, FR, NL-HEIRS, FR-PARENTS, ...):
    a voice's texts are the language's with its own sentences in place (texts/<language>.yaml, `voices`). A fresh
    copy the caller may change (a night asks for them a few dozen times: merged once, copied each time)."""
    return copy.deepcopy(_letter_texts())


@cache
def _letter_texts() -> dict[str, dict[str, Any]]:
    found = {}
    for language in LANGUAGES:
        base = copy.deepcopy(_load(language))
        voices = base.pop("voices", {})
        for voice in VOICES:
            found[texts_key(language, voice)] = _merged(base, voices.get(voice, {}))
    return found


def with_agency(texts: dict[str, dict[str, Any]], agency: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """The texts with the agency of L-APPEAL (name, web, address per language: the reference data, read by the flow)
    that the appeal paragraph names."""
    return {key: t | {"agency": agency[key.split("-")[0]]} for key, t in texts.items()}


def with_rule_texts(texts: dict[str, dict[str, Any]], rules: dict[str, dict[str, dict[str, str]]]) -> dict:
    """The texts with the motivation sentences of `rules` ({language: {code: {HOLDS|FAILS: sentence}}}) in
    place of the package's own, e.g. built from the codes reference (data/reference/codes.yaml) once it exists."""
    merged = {language: dict(t) for language, t in texts.items()}
    for language, codes in rules.items():
        merged[language]["rules"] = {**merged[language]["rules"], **codes}
    return merged


def date_text(day: dt.date | None, language: str) -> str | None:
    """A day as a letter writes it: "26 november 2026" (NL), "26 novembre 2026" (FR); in French the first of a
    month is "1er" ("1er janvier 2027", as French writes it; CLDR's pattern has no ordinal)."""
    if day is None:
        return None
    text = format_date(day, "d MMMM y", locale=LOCALES[language])
    return "1er" + text[1:] if language == "FR" and day.day == 1 else text


def month_text(month: dt.date | None, language: str) -> str | None:
    """A month as a letter writes it: "november 2026" (NL), "novembre 2026" (FR)."""
    return None if month is None else format_date(month, "LLLL y", locale=LOCALES[language])


def money_text(amount: Decimal | None, language: str) -> str | None:
    """An amount in euro: "€ 140,00" (NL), "140,00 €" (FR), with Babel's no-break spaces (module docstring)."""
    return None if amount is None else format_currency(Decimal(amount), "EUR", locale=LOCALES[language])


def score_text(score: float | None, language: str) -> str | None:
    """A score with the language's decimal comma and no useless decimals: "14,5", "13"."""
    return None if score is None else format_decimal(score, format="#,##0.##", locale=LOCALES[language])


def country_text(code: str | None, language: str) -> str | None:
    """The country of an address abroad, in the letter's language ("Nederland", "Pays-Bas"); None for BE."""
    if code is None or code.upper() == "BE":
        return None
    return Locale.parse(LOCALES[language]).territories.get(code.upper(), code.upper())


FORMATS: dict[str, Callable[[Any, str], str | None]] = {
    "date": date_text,
    "month": month_text,
    "money": money_text,
    "score": score_text,
    "country": country_text,
}


def with_text(frame: pl.DataFrame, column: str, kind: str, alias: str, language: str = "language") -> pl.DataFrame:
    """`frame` with `alias`: the value of `column` formatted as `kind` (FORMATS) in each row's language.

    Formats each distinct (value, language) once, in Python, and maps the rows to their text with one
    expression (no join: the frame is not copied, which matters for millions of invoice letters).
    """
    key = pl.concat_str([pl.col(language), pl.col(column).cast(pl.String)], separator="|")
    pairs = frame.select(pl.col(column).alias("_value"), pl.col(language).alias("_language"), key.alias("_key"))
    fmt = FORMATS[kind]
    mapping = {k: fmt(value, lang) for value, lang, k in pairs.unique().iter_rows() if k is not None}
    return frame.with_columns(
        key.replace_strict(list(mapping), list(mapping.values()), default=None, return_dtype=pl.String).alias(alias)
    )


def iban_text(iban: pl.Expr) -> pl.Expr:
    """An IBAN in groups of four, as printed: "BE72 7351 0000 0116"."""
    return iban.str.replace_all(r"(.{4})", "$1 ").str.strip_chars(" ")
