"""The titles and explanations of the rule codes, and the output vocabulary, in Dutch and French.

Read from data/reference/codes.yaml (its header describes the shape). Languages are "NL" and
"FR", in any case. An unknown code, term or language is a `CodesError` that names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.reference import REFERENCE_DIR

LANGUAGES = ("NL", "FR")


class CodesError(LookupError):
    """An unknown code, term or language, or a text missing from codes.yaml."""


def _lang(lang: str) -> str:
    if not isinstance(lang, str) or lang.upper() not in LANGUAGES:
        raise CodesError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang.lower()


@dataclass(frozen=True)
class Codes:
    codes: dict  # code -> {"section": ..., "nl": {"title", "explanation"}, "fr": {...}}
    terms: dict  # kind -> value -> {"nl": ..., "fr": ...}
    path: Path

    def _text(self, code: str, lang: str, field: str) -> str:
        language = _lang(lang)
        if code not in self.codes:
            raise CodesError(f"unknown code {code!r}: not in {self.path}")
        text = (self.codes[code].get(language) or {}).get(field)
        if not text:
            raise CodesError(f"{code} has no {language} {field} in {self.path}")
        return text

    def title(self, code: str, lang: str) -> str:
        return self._text(code, lang, "title")

    def explanation(self, code: str, lang: str) -> str:
        return self._text(code, lang, "explanation")

    def frame(self):
        """Every code with its texts: code, title_nl, explanation_nl, title_fr, explanation_fr (sorted by code),
        as the work lists, overview.xlsx and the run report take them."""
        import polars as pl

        rows = [
            (code, *(self._text(code, lang, field) for lang in LANGUAGES for field in ("title", "explanation")))
            for code in sorted(self.codes)
        ]
        names = ["code", "title_nl", "explanation_nl", "title_fr", "explanation_fr"]
        return pl.DataFrame(rows, schema={n: pl.String for n in names}, orient="row")

    def term(self, kind: str, value: str, lang: str) -> str:
        language = _lang(lang)
        if kind not in self.terms:
            raise CodesError(f"unknown kind of term {kind!r}: one of {', '.join(self.terms)} in {self.path}")
        if value not in self.terms[kind]:
            raise CodesError(f"unknown {kind} {value!r}: not in {self.path}")
        text = self.terms[kind][value].get(language)
        if not text:
            raise CodesError(f"{kind} {value} has no {language} text in {self.path}")
        return text


def load_codes(path: Path = REFERENCE_DIR / "codes.yaml") -> Codes:
    """The codes and terms of codes.yaml."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return Codes(codes=data.get("codes") or {}, terms=data.get("terms") or {}, path=Path(path))
