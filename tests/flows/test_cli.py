"""The command line as a new user meets it (issue 22, CLI): every subcommand's --help says what it does, shows an
example and names dates YYYY-MM-DD; `vsb generate` prints a readable summary; `vsb explain ... | head` ends quietly
when the reader goes away (no "Broken pipe" error, the exit code of a command that did its work)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import EXAMPLES, build_parser, generated_summary

ROOT = Path(__file__).resolve().parents[2]
SUBCOMMANDS = list(build_parser()._subparsers._group_actions[0].choices)
DATED = {"nightly", "invoices", "backfill", "simulate", "withdraw", "explain", "generate"}  # a date option


def help_of(command: str) -> str:
    return build_parser()._subparsers._group_actions[0].choices[command].format_help()


def test_every_subcommand_has_an_example():
    assert set(SUBCOMMANDS) == set(EXAMPLES)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommands_help_has_a_description_an_example_and_dates_as_yyyy_mm_dd(command):
    text = help_of(command)
    usage, description = text.split("\n\n")[:2]
    assert not description.startswith(("options:", "positional arguments:")), text  # a sentence of what it does
    assert len(description.split()) >= 5, description
    assert "\nexample" in text and re.search(rf"vsb {command}(\s|$)", text.split("\nexample")[1])
    if command in DATED:
        assert "YYYY-MM-DD" in usage
    assert " AS_OF" not in text and " FIRST" not in text and " LAST" not in text  # argparse's default metavars


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_example_parses(command):
    """The examples are real command lines: they parse with today's options (the serve example's environment aside)."""
    for line in EXAMPLES[command]:
        words = line.split()
        words = words[words.index("vsb") + 1 :]
        if "--reason" in words:  # the quoted reason is one word on a shell
            at = words.index("--reason")
            words = [*words[: at + 1], " ".join(words[at + 1 :]).strip('"')]
        assert build_parser().parse_args(words).command == command


def test_generate_prints_a_readable_summary():
    summary = {
        "n_members": 2000,
        "seed": 1,
        "as_of": "2026-11-01",
        "rows": {"members": {"2026-10-01": 2014, "2026-11-01": 2021}, "case_decisions": {"2026-11-01": 148}},
        "files": 18,
        "bytes": 1_234_567,
    }
    lines = generated_summary(summary, Path("data/sample/landing"), scenarios=True).splitlines()
    assert lines[0] == (
        "generated 2,000 members and the scenario persons (seed 1) in data/sample/landing: 2 feeds, 2 deliveries "
        "(2026-10-01, 2026-11-01), 18 files, 1.2 MB"
    )
    assert lines[1].split() == ["rows", "per", "delivery", "2026-10-01", "2026-11-01"]
    assert lines[2].split() == ["members", "2,014", "2,021"]
    assert lines[3].split() == ["case_decisions", "-", "148"]  # a feed without a delivery of that date
    assert "{" not in "\n".join(lines)  # not a Python dict


def test_explain_into_a_pipe_closed_by_its_reader_ends_quietly():
    """`vsb explain ... | head`: the reader closes the pipe before the record is written (here: at once); the command
    ends with exit code 0 and says nothing on stderr (before: "vsb explain: error: [Errno 32] Broken pipe", 1)."""
    command = [sys.executable, "-m", "flows.cli", "explain", "40031099155", "--as-of", "2026-11-26"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    process.stdout.close()  # the reader is gone before the first line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, stderr
    assert stderr == ""


def test_a_failure_into_a_closed_pipe_keeps_its_exit_code_and_line():
    """A command that fails still says why on stderr and exits 1 when its stdout reader is gone."""
    command = [sys.executable, "-m", "flows.cli", "explain", "40031099155", "--as-of", "2026-11-26"]
    command += ["--landing", str(ROOT / "no-such-landing")]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert stderr.startswith("vsb explain: error:") and "Broken pipe" not in stderr
