"""The shape of the engine: every rule code in one function, found in one hop; pure pipelines; short functions.

- Every code of data/reference/codes.yaml (the codes of docs/spec/rules.md and docs/spec/feeds.md) has exactly one function in
  flows/ or pipelines/ whose docstring starts with "<CODE>:": its one implementation, carrying the rule's
  sentence. Another function may name the code, but not open its docstring with it.
- pipelines/ is pure: no Prefect, no os or pathlib, no clock.
- No function in flows/, pipelines/ or schemas/ is longer than 60 lines.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CODES = list(yaml.safe_load((ROOT / "data" / "reference" / "codes.yaml").read_text())["codes"])
IMPLEMENTATION = re.compile(r"([A-Z]{1,3}-[A-Z0-9-]+):")
MAX_LINES = 60


def sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def implementations() -> dict[str, list[str]]:
    found = defaultdict(list)
    for path in sources("flows", "pipelines"):
        for node in functions(path):
            opening = IMPLEMENTATION.match(ast.get_docstring(node) or "")
            if opening:
                found[opening.group(1)].append(f"{path.relative_to(ROOT)}:{node.name}")
    return found


FOUND = implementations()


@pytest.mark.parametrize("code", CODES)
def test_every_rule_code_has_exactly_one_implementation(code):
    assert len(FOUND[code]) == 1, f"{code}: {FOUND[code] or 'no function opens its docstring with it'}"


def test_every_implementation_names_a_code_of_the_spec():
    assert sorted(set(FOUND) - set(CODES)) == []


@pytest.mark.parametrize("path", sources("pipelines"), ids=lambda p: str(p.relative_to(ROOT)))
def test_pipelines_are_pure(path):
    text = path.read_text()
    for forbidden in (r"^import prefect|^from prefect", r"^import os\b|^from os\b", r"^from pathlib|^import pathlib"):
        assert not re.search(forbidden, text, re.M), f"{path}: {forbidden}"
    assert "date.today()" not in text and "datetime.now(" not in text, path


@pytest.mark.parametrize("path", sources("flows", "pipelines", "schemas"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_is_longer_than_sixty_lines(path):
    long = [
        f"{n.name} ({n.end_lineno - n.lineno + 1})" for n in functions(path) if n.end_lineno - n.lineno >= MAX_LINES
    ]
    assert long == []
