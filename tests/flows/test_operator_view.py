"""What an operator sees of a run in Prefect, without a server (issue 22, Report and Prefect): the deployments named
one way and tagged, the folders of every flow run absolute, and the link to `_report.html` in a form the Prefect UI
opens (an http(s) address when the outbox is served over the web, else the path to copy). The runs themselves, read
back from a Prefect server: tests/flows/test_prefect_run.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.cli import _run_options, build_parser
from flows.report import REPORT_URL, report_link
from pipelines.emit.summary import report_reference, summary_markdown

REPORT = {"run": {"kind": "nightly", "date": "2026-11-26", "folder": "2026-11-26"}, "events": {"NEW": 2}}


def test_the_deployments_are_named_after_their_flow_and_kind_tagged_with_absolute_folders(tmp_path, monkeypatch):
    from flows.serve import deployments

    monkeypatch.chdir(tmp_path)
    served = deployments(Path("landing"), Path("out"), Path("state/vsb.duckdb"))
    assert [f"{d.flow_name}/{d.name}" for d in served] == [
        "vsb-nightly/nightly",
        "vsb-invoices/invoices",
        "vsb-fines/fines",
    ]
    assert [d.tags for d in served] == [["vsb", "nightly"], ["vsb", "invoices"], ["vsb", "fines"]]
    for deployment in served:
        assert deployment.parameters == {
            "landing": str(tmp_path / "landing"),
            "outbox": str(tmp_path / "out"),
            "state": str(tmp_path / "state" / "vsb.duckdb"),
        }


@pytest.mark.parametrize("command", ["nightly --as-of 2026-11-26", "invoices --year 2026", "fines --year 2026"])
def test_a_run_commands_folders_reach_the_flow_absolute(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args([*command.split(), "--landing", "l", "--outbox", "o", "--state", "s/v.db"])
    found = _run_options(args)
    assert (found["landing"], found["outbox"], found["state"]) == (tmp_path / "l", tmp_path / "o", tmp_path / "s/v.db")


def test_without_a_report_address_the_summary_gives_the_reports_path_to_copy(tmp_path, monkeypatch):
    """A web page cannot open a file: link (browsers refuse it; the UI's Markdown drops it): the path as text."""
    monkeypatch.delenv(REPORT_URL, raising=False)
    folder = tmp_path / "out" / "nightly" / "2026-11-26"
    link = report_link(folder, "nightly")
    assert link == (folder / "_report.html").as_uri()
    summary = summary_markdown(REPORT, "published", link)
    assert f"Report: `{folder / '_report.html'}`" in summary
    assert "](file:" not in summary


@pytest.mark.parametrize(
    "kind, folder, expected",
    [
        ("nightly", "nightly/2026-11-26.v2", "https://reports.example/vsb/nightly/2026-11-26.v2/_report.html"),
        ("invoices", "invoices/2026/2026-01-02", "https://reports.example/vsb/invoices/2026/2026-01-02/_report.html"),
        ("fines", "fines/2026", "https://reports.example/vsb/fines/2026/_report.html"),
    ],
)
def test_with_the_outbox_served_over_the_web_the_summary_links_to_the_report(
    kind, folder, expected, tmp_path, monkeypatch
):
    monkeypatch.setenv(REPORT_URL, "https://reports.example/vsb/")
    link = report_link(tmp_path / "out" / folder, kind)
    assert link == expected
    assert f"Report: [_report.html]({expected})" in summary_markdown(REPORT, "published", link)
    assert report_reference(link) == f"[_report.html]({expected})"


def test_warnings_above_the_thresholds_reach_the_summary_and_the_runs_log(tmp_path, caplog, monkeypatch):
    """issue 22: 29.6% of vaph_support quarantined and 97 persons held were "No warnings."; the thresholds'
    warnings (pipelines/emit/report.py threshold_warnings) are in the Prefect summary and the run's log as well."""
    import json
    import logging

    from flows.report import announce
    from pipelines.emit.report import threshold_warnings

    monkeypatch.delenv(REPORT_URL, raising=False)
    feeds = {"vaph_support": {"rows_read": 81, "rows_quarantined": 24}, "members": {"rows_read": 2017}}
    warnings = threshold_warnings(feeds, 97, 2017, 0.05, 0.01)
    assert len(warnings) == 2
    report = REPORT | {"feeds": feeds, "holds": {"persons": 97}, "warnings": warnings}
    folder = tmp_path / "out" / "nightly" / "2026-11-26"
    folder.mkdir(parents=True)
    (folder / "_report.json").write_text(json.dumps(report))
    with caplog.at_level(logging.INFO, logger="vsb"):
        announce("nightly", folder, "published")
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in logged] == [f"nightly 2026-11-26 warning: {w}" for w in warnings]
    summary = summary_markdown(report, "published", report_link(folder, "nightly"))
    assert "**Warnings (2)**" in summary and all(f"- {w}" in summary for w in warnings)
