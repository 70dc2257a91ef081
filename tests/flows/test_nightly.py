"""The nightly flow, first stage: atomic publication, no-op reruns, --replace, crashes, privacy."""

from __future__ import annotations

import datetime as dt
import json
import stat

import polars as pl
import pytest

from flows.cli import main
from flows.publication.folder import PublishError
from tests.helpers.builders import INSZ_1985, valid_rows, write_delivery, write_landing

D = dt.date
AS_OF = D(2026, 11, 20)
pytestmark = pytest.mark.usefixtures("prefect_harness")


def run(tmp_path, landing, **kw):
    from flows.nightly import run_nightly

    return run_nightly(
        as_of=kw.pop("as_of", AS_OF),
        landing=landing,
        outbox=tmp_path / "out",
        state=tmp_path / "state" / "vsb.duckdb",
        quiet=True,
        **kw,
    )


def bad_landing(tmp_path):
    rows = valid_rows()
    screeners = rows["belrai_screeners"] + [rows["belrai_screeners"][0] | {"assessment_id": "BR2", "total_score": -1.0}]
    return write_landing(tmp_path / "landing", D(2026, 11, 1), {"belrai_screeners": screeners})


def test_nightly_publishes_quarantine_report_and_manifest(tmp_path):
    landing = bad_landing(tmp_path)
    result = run(tmp_path, landing)
    folder = tmp_path / "out" / "nightly" / "2026-11-20"
    assert result == {"date": "2026-11-20", "path": str(folder), "status": "published"}
    quarantine = pl.read_parquet(folder / "quarantine" / "belrai_screeners.parquet")
    assert quarantine.select("rule", "column", "row_number").to_dicts() == [
        {"rule": "R-RANGE", "column": "total_score", "row_number": 2}
    ]
    assert quarantine["source_file"][0] == "belrai_screeners/delivery_date=2026-11-01/part-00000.parquet"
    assert all((folder / "quarantine" / f"{feed}.parquet").exists() for feed in valid_rows())
    report = json.loads((folder / "_report.json").read_text())
    assert report["feeds"]["belrai_screeners"]["quarantined_by_rule"] == {"R-RANGE": 1}
    assert report["feeds"]["belrai_screeners"]["rows_valid"] == 1
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["run"] == {"kind": "nightly", "date": "2026-11-20", "payment_run": False}
    members = manifest["feeds"]["members"]
    assert members["delivery_date"] == "2026-11-01" and members["rows"] == 1
    import hashlib

    source = landing / members["files"][0]["path"]
    assert members["files"][0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert "time" not in json.dumps(manifest)
    assert not list((tmp_path / "out" / "nightly").glob(".staging-*"))
    for path in folder.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o007 == 0, (path, oct(mode))


def test_report_and_manifest_carry_no_insz_name_or_iban(tmp_path):
    run(tmp_path, bad_landing(tmp_path))
    folder = tmp_path / "out" / "nightly" / "2026-11-20"
    for name in ("_report.json", "_manifest.json"):
        text = (folder / name).read_text()
        for secret in (INSZ_1985, "An Peeters", "BE72735100000116"):
            assert secret not in text


def test_a_bad_file_publishes_nothing(tmp_path):
    landing = bad_landing(tmp_path)
    (landing / "facility_stays" / "delivery_date=2026-11-01" / "part-00000.parquet").write_bytes(b"garbage")
    with pytest.raises(Exception, match="feed facility_stays, file .*unreadable Parquet file"):
        run(tmp_path, landing)
    assert not (tmp_path / "out" / "nightly" / "2026-11-20").exists()
    assert not list((tmp_path / "out").rglob(".staging-*"))


def test_identical_rerun_is_a_no_op_and_a_different_one_needs_replace(tmp_path):
    landing = bad_landing(tmp_path)
    first = run(tmp_path, landing)
    manifest = (tmp_path / "out" / "nightly" / "2026-11-20" / "_manifest.json").read_bytes()
    assert run(tmp_path, landing)["status"] == "identical"
    assert (tmp_path / "out" / "nightly" / "2026-11-20" / "_manifest.json").read_bytes() == manifest
    write_delivery(
        landing,
        "increased_allowance",
        D(2026, 11, 1),
        valid_rows()["increased_allowance"] * 0
        + [valid_rows()["increased_allowance"][0] | {"end_date": D(2026, 6, 30)}],
    )
    with pytest.raises(PublishError, match="already published as 2026-11-20 with a different result"):
        run(tmp_path, landing)
    second = run(tmp_path, landing, replace=True)
    assert second["status"] == "replaced" and second["path"].endswith("2026-11-20.v2")
    assert run(tmp_path, landing, replace=True)["status"] == "identical"
    assert first["path"].endswith("2026-11-20")


@pytest.mark.parametrize(
    "point",
    # before-rename in CI only: every run has it, nothing published then the rerun's files, in
    # tests/flows/test_runs.py and tests/flows/test_publication.py (docs/testing.md)
    ["before-manifest", pytest.param("before-rename", marks=pytest.mark.slow)],
)
def test_a_crash_during_publication_publishes_nothing_and_a_rerun_completes(tmp_path, monkeypatch, point):
    landing = bad_landing(tmp_path)
    monkeypatch.setenv("VSB_CRASH_AT", point)
    with pytest.raises(Exception, match="crash injected"):
        run(tmp_path, landing)
    assert not (tmp_path / "out" / "nightly" / "2026-11-20").exists()
    monkeypatch.delenv("VSB_CRASH_AT")
    assert run(tmp_path, landing)["status"] == "published"
    clean = tmp_path / "clean"
    clean.mkdir()
    run(clean, landing)
    for name in ("_manifest.json", "quarantine/belrai_screeners.parquet"):
        assert (tmp_path / "out/nightly/2026-11-20" / name).read_bytes() == (
            clean / "out/nightly/2026-11-20" / name
        ).read_bytes()


@pytest.mark.slow  # after-rename with its rerun: tests/flows/test_publication.py in every run
def test_crash_after_the_rename_leaves_a_whole_run_that_a_rerun_keeps(tmp_path, monkeypatch):
    landing = bad_landing(tmp_path)
    monkeypatch.setenv("VSB_CRASH_AT", "after-rename")
    with pytest.raises(Exception, match="crash injected"):
        run(tmp_path, landing)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert run(tmp_path, landing)["status"] == "identical"
    assert sorted(p.name for p in (tmp_path / "out" / "nightly").iterdir()) == ["2026-11-20"]


def test_cli_fails_with_one_line_naming_the_feed(tmp_path, capsys):
    landing = write_landing(tmp_path / "landing", D(2026, 11, 1))
    code = main(
        [
            "nightly",
            "--as-of",
            "2026-10-31",
            "--landing",
            str(landing),
            "--outbox",
            str(tmp_path / "out"),
            "--state",
            str(tmp_path / "s.duckdb"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        f"vsb nightly: error: no delivery on or before 2026-10-31 in {landing} for every feed: the first is of "
        "2026-11-01: run a later date, or add the missing deliveries"
    ]
