"""data/reference/codes.yaml: every rule code has a title and an explanation in Dutch and French.

The codes of codes.yaml are exactly the bold codes of docs/spec/rules.md and docs/spec/feeds.md (the
extraction of the rule-coverage tool), and every code that the engine's code names has both texts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flows.codes import CodesError, load_codes
from flows.reference import REFERENCE_DIR
from pipelines.decide.decisions import ENTITLED, NOT_ENTITLED, PENDING
from pipelines.ingest.iban import IBAN_INVALID, IBAN_MISSING, IBAN_VALID
from schemas.outputs import BUDGETS, EVENTS

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "spec"
CODES = load_codes()

# The spec's codes: shared/tools/rule-coverage's pattern.
SPEC_CODE = re.compile(r"\*\*([A-Z]{1,3}-[A-Z0-9-]+)\*\*")
# The same codes without the `**`, in Python source: only the rule prefixes, a letter after the
# dash, and not part of a longer token. That leaves out MM-DD, UTF-8, F-1 (year F-1), wildcards
# such as X-BOB-* and X-VAPH-*, budget names such as ZZB-ABSENCE and test ids such as SC-BR-01.
ENGINE_CODE = re.compile(
    r"(?<![A-Za-z0-9_-])((?:PAY|[RGEXTWPFSDL])-[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*|ZZB-START)(?![A-Za-z0-9_*-])"
)


def spec_codes() -> set[str]:
    return {c for name in ("rules.md", "feeds.md") for c in SPEC_CODE.findall((SPEC / name).read_text())}


def engine_codes() -> set[str]:
    return {
        code
        for folder in ("flows", "pipelines", "schemas")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for code in ENGINE_CODE.findall(path.read_text(encoding="utf-8"))
    }


def incomplete(codes: set[str]) -> list[str]:
    """The codes without a non-empty title and explanation in both languages."""
    missing = []
    for code in sorted(codes):
        entry = CODES.codes.get(code) or {}
        for lang in ("nl", "fr"):
            for field in ("title", "explanation"):
                text = (entry.get(lang) or {}).get(field)
                if not isinstance(text, str) or not text.strip():
                    missing.append(f"{code} {lang} {field}")
    return missing


def test_every_code_of_the_spec_has_both_texts():
    assert incomplete(spec_codes()) == []


def test_every_text_is_for_a_code_of_the_spec():
    assert sorted(set(CODES.codes) - spec_codes()) == []


def test_every_code_of_the_engine_has_both_texts():
    """Runs without the spec: the codes that flows/, pipelines/ and schemas/ name."""
    found = engine_codes()
    assert {"R-ID", "G-BELRAI", "ZZB-START", "W-IBAN-MISSING", "PAY-ONCE", "S-HOLD"} <= found  # the scan works
    assert not {"MM-DD", "UTF-8", "F-1", "X-BOB", "ZZB-ABSENCE"} & found  # and filters
    assert incomplete(found) == []


def test_every_entry_is_complete_and_short():
    """Title at most 60 characters and one line, explanation of 1 to 3 sentences, a section."""
    assert incomplete(set(CODES.codes)) == []
    for code, entry in CODES.codes.items():
        assert SPEC_CODE.fullmatch(f"**{code}**"), code
        assert str(entry.get("section", "")).startswith(("docs/spec/rules.md", "docs/spec/feeds.md")), code
        for lang in ("nl", "fr"):
            title, explanation = entry[lang]["title"], entry[lang]["explanation"]
            assert len(title) <= 60 and "\n" not in title, (code, lang, title)
            assert 1 <= len(re.findall(r"[.!?](?:\s|$)", explanation)) <= 3, (code, lang, explanation)
            assert explanation.rstrip().endswith("."), (code, lang)


def test_quoted_parameters_are_the_current_values():
    """A text that quotes a parameter says so under `parameters`; the value must still hold."""
    parameters = yaml.safe_load((REFERENCE_DIR / "parameters.yaml").read_text())
    for code, entry in CODES.codes.items():
        for name, quoted in (entry.get("parameters") or {}).items():
            assert name in parameters, (code, name)
            newest = max(parameters[name]["values"], key=lambda v: v["from"])["value"]
            assert str(quoted) == str(newest), f"{code} quotes {name}={quoted}, parameters.yaml now says {newest}"


def test_every_term_of_the_outputs_has_both_texts():
    expected = {
        "budget": [*BUDGETS, "ZZB-ABSENCE"],
        "event": EVENTS,
        "status": [ENTITLED, NOT_ENTITLED, PENDING],
        "iban_status": [IBAN_VALID, IBAN_MISSING, IBAN_INVALID],
    }
    for kind, values in expected.items():
        for value in values:
            for lang in ("NL", "FR"):
                assert CODES.term(kind, value, lang).strip(), (kind, value, lang)


def test_one_title_per_language_and_any_case():
    assert CODES.title("G-BELRAI", "NL") == "Zorgnood aangetoond met BelRAI Screener"
    assert CODES.title("G-BELRAI", "fr") == "Besoin de soins attesté par le BelRAI Screener"
    assert CODES.explanation("E-ALIVE", "Nl").startswith("De persoon is in leven op de eerste dag")
    assert CODES.term("budget", "ZZB", "FR") == "budget de soins pour personnes lourdement dépendantes"
    assert CODES.term("event", "STOPPED", "nl") == "stopgezet"


def test_unknown_code_language_or_term_is_a_clear_error():
    with pytest.raises(CodesError, match="unknown code 'X-NOPE'"):
        CODES.title("X-NOPE", "NL")
    with pytest.raises(CodesError, match=r"unknown language 'DE': use one of NL, FR"):
        CODES.explanation("G-BELRAI", "DE")
    with pytest.raises(CodesError, match="unknown language None"):
        CODES.title("G-BELRAI", None)
    with pytest.raises(CodesError, match="unknown budget 'ZBO'"):
        CODES.term("budget", "ZBO", "FR")
    with pytest.raises(CodesError, match="unknown kind of term 'colour'"):
        CODES.term("colour", "RED", "NL")


def test_a_missing_text_is_a_clear_error(tmp_path):
    path = tmp_path / "codes.yaml"
    path.write_text("codes:\n  E-ALIVE:\n    nl: {title: In leven, explanation: De persoon leeft.}\n")
    codes = load_codes(path)
    assert codes.title("E-ALIVE", "NL") == "In leven"
    with pytest.raises(CodesError, match="E-ALIVE has no fr title"):
        codes.title("E-ALIVE", "FR")
