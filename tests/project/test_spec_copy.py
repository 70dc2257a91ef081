"""docs/spec/ is the repository's copy of the specification (rules.md, feeds.md, outputs.md).

Where the team's shared specification stands beside the clone (`../shared/spec`, as on a developer's
machine), the copy must equal it: a change of the spec is copied in, so that the code's citations
(docs/spec/...) always point at the text in force. CI clones the repository alone: the copy is then
the specification and this test has nothing to compare.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPY = ROOT / "docs" / "spec"
SHARED = ROOT.parent / "shared" / "spec"
NAMES = ("rules.md", "feeds.md", "outputs.md")
THIS = Path(__file__).resolve()


def test_the_copy_holds_the_three_files():
    assert sorted(p.name for p in COPY.glob("*.md")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_the_copy_equals_the_shared_specification(name):
    if not SHARED.is_dir():
        pytest.skip(f"no shared specification beside the clone ({SHARED})")
    assert (COPY / name).read_text() == (SHARED / name).read_text(), (
        f"docs/spec/{name} differs from {SHARED / name}: copy the specification in (cp {SHARED}/*.md docs/spec/)"
    )


def test_citations_point_at_files_of_the_repository():
    """The code cites docs/spec/<file>.md and docs/stack-notes.md, never a path outside the repository."""
    outside = []
    for folder in ("flows", "pipelines", "schemas", "synthdata", "scripts", "benchmarks", "tests", "data"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".yaml", ".typ", ".sh", ".sql", ".md"} and path != THIS:
                text = path.read_text(errors="ignore")
                if "../shared" in text or "shared/spec" in text or "STACK-NOTES" in text:
                    outside.append(str(path.relative_to(ROOT)))
    assert outside == []
