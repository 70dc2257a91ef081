"""letter_texts (pipelines/emit/letters/language.py) merges texts/<language>.yaml once per process and hands each
caller a copy of its own: a caller that changes its texts (with_rule_texts, with_agency, a test) changes nobody
else's."""

from __future__ import annotations

from pipelines.emit.letters.language import letter_texts


def test_each_call_gets_a_copy_the_caller_may_change():
    first = letter_texts()
    kept = letter_texts()
    first["NL"]["rules"]["E-ALIVE"]["FAILS"] = "changed"
    first["FR-HEIRS"].clear()
    again = letter_texts()
    assert again == kept and again["NL"]["rules"]["E-ALIVE"]["FAILS"] != "changed" and again["FR-HEIRS"]
