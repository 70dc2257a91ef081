"""docs/spec/outputs.md, Guarantees, Withdrawn and State and outbox agree (issue 20, points 4, 6 and 9): `vsb withdraw`
takes back the latest run whole and durably, a state behind its outbox is refused, `vsb rebuild-state` rebuilds a
lost state whose next night equals the lost one's, letter ids never repeat across --replace versions, and what a
killed run leaves (staging, letter scratch, a simulation's staging) goes with the next run."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from flows.cli import withdraw_run
from flows.publication.agreement import StateBehindError
from flows.state.rebuild import RebuildError, rebuild_state
from flows.state.store import connect
from flows.withdraw import WithdrawError
from pipelines.emit.letters.content import shifted_ids
from tests.helpers.builders import INSZ_1985, valid_rows, write_delivery
from tests.helpers.runs import PAYMENT_DAY, files_of, ledger, nightly, two_members

D = dt.date
FAULTS = Path(__file__).resolve().parents[1] / "helpers" / "faults.py"
FIRST_NIGHT = D(2026, 11, 20)
NOW = "2026-11-27T08:00:00+00:00"
WITHDRAW_STEPS = ["withdraw-intent", "withdraw-commit", "withdraw-move", "withdraw-mark"]


def state_of(tmp: Path) -> Path:
    return tmp / "state" / "vsb.duckdb"


def state_rows(state: Path) -> dict[str, list]:
    """Every table of the state, rows sorted (the trends' time left out: it is the run's clock)."""
    with connect(str(state), read_only=True) as con:
        tables = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        rows = {}
        for table in tables:
            frame = con.sql(f'SELECT * FROM "{table}"').pl()
            frame = frame.drop("seconds") if table == "run_trends" else frame
            if frame.height:  # (a table not created yet is an empty one)
                rows[table] = sorted(map(repr, frame.rows()))
        return rows


def letter_ids(folder: Path) -> set[str]:
    return set(pl.read_parquet(folder / "*" / "letters.parquet")["letter_id"].to_list())


def a_death_reported_late(landing: Path) -> None:
    """The November members delivery corrected: member 1985 died in August (a --replace of the payment night)."""
    members = pl.read_parquet(landing / "members" / "delivery_date=2026-11-01" / "part-00000.parquet")
    died = valid_rows()["members"][0] | {"death_date": D(2026, 8, 10)}
    corrected = members.filter(pl.col("insz") != INSZ_1985).vstack(pl.DataFrame([died], schema=members.schema))
    write_delivery(landing, "members", D(2026, 11, 1), corrected)


def test_a_replace_version_numbers_its_letters_after_the_earlier_version():
    letters = pl.DataFrame(
        {
            "letter_id": ["20261126-ZK400-DEC-0000001", "20261126-ZK400-DEC-0000002", "20261126-ZK400-REQ-0000001"],
            "zorgkas": ["ZK400"] * 3,
            "kind": ["L-DECISION", "L-DECISION", "L-REQUEST"],
        }
    )
    offsets = pl.DataFrame({"zorgkas": ["ZK400"], "kind": ["L-DECISION"], "offset": [4]})
    assert shifted_ids(letters, offsets)["letter_id"].to_list() == [
        "20261126-ZK400-DEC-0000005",
        "20261126-ZK400-DEC-0000006",
        "20261126-ZK400-REQ-0000001",
    ]
    assert shifted_ids(letters, offsets.clear()).equals(letters)  # a first run: the ids unchanged


def test_a_replace_version_numbers_its_recovery_letters_and_their_references_after_the_earlier_version():
    from tests.emit.test_letters import recovery_case

    first = recovery_case()
    offsets = pl.DataFrame({"zorgkas": ["ZK100"], "kind": ["L-RECOVERY"], "offset": [7]})
    again = recovery_case(offsets)
    assert sorted(first["letter_id"].str.tail(7).to_list()) == ["0000001", "0000002"]
    assert sorted(again["letter_id"].str.tail(7).to_list()) == ["0000008", "0000009"]


@pytest.mark.usefixtures("prefect_harness")
def test_withdraw_takes_back_the_latest_run_and_a_rerun_gives_the_same_bytes(tmp_path, two_members_after):
    landing = two_members_after(tmp_path, FIRST_NIGHT)
    out, state = tmp_path / "out", state_of(tmp_path)
    first = out / "nightly" / "2026-11-20"
    assert not list(first.rglob(".scratch-*"))  # the letters' scratch went with the staging folder
    after_first = state_rows(state)

    # letter ids: the --replace version numbers after the first version, never the same id for another letter
    a_death_reported_late(landing)
    replaced = Path(nightly(tmp_path, landing, FIRST_NIGHT, replace=True, accept_mass_change=True)["path"])
    assert replaced.name == "2026-11-20.v2"
    first_ids, replaced_ids = letter_ids(first), letter_ids(replaced)
    assert replaced_ids and not first_ids & replaced_ids
    assert "20261120-ZK100-DEC-0000001" in first_ids  # a first version keeps the ids it always had

    # leftovers of killed runs of any kind go with the next command (a simulation's only when its process is gone)
    stray = [out / "nightly" / ".staging-2026-11-27" / ".scratch-letters-x", out / "simulations/s/.staging-x.999999999"]
    for folder in stray:
        folder.mkdir(parents=True)
    (stray[1] / "changes.parquet").write_bytes(b"national numbers")

    done = withdraw_run(out, state, "nightly", FIRST_NIGHT, "corrected delivery: the death was known", NOW)
    assert done["run_key"] == "2026-11-20.v2" and not replaced.exists() and first.is_dir()
    assert not stray[0].parent.exists() and not stray[1].exists()
    moved = out / "withdrawn" / "nightly" / "2026-11-20.v2"
    mark = json.loads((moved / "_withdrawn.json").read_text())
    assert mark["reason"] == "corrected delivery: the death was known" and mark["withdrawn_at"] == NOW
    assert {"ZK100/grants.parquet", "ZK100/letters.parquet"} <= {f["name"] for f in mark["files"]}
    manifest = json.loads((moved / "ZK100" / "manifest.json").read_text())
    assert "do not execute" in manifest["withdrawn"]["instruction"]
    assert state_rows(state) == after_first

    two_members(tmp_path / "landing")  # the original delivery back
    original = Path(nightly(tmp_path, landing, PAYMENT_DAY)["path"])
    published, paid = files_of(original), ledger(tmp_path)
    assert any(row[4] == "2026-11-26" for row in paid)
    with pytest.raises(WithdrawError, match="is not the latest run: nightly 2026-11-26 came after it"):
        withdraw_run(out, state, "nightly", FIRST_NIGHT, "wrong date", NOW)
    withdraw_run(out, state, "nightly", PAYMENT_DAY, "paid from a wrong delivery", NOW)
    assert (out / "withdrawn" / "nightly" / "2026-11-26").is_dir() and not original.exists()
    assert state_rows(state) == after_first and not any(row[4] == "2026-11-26" for row in ledger(tmp_path))
    again = nightly(tmp_path, landing, PAYMENT_DAY)
    assert again["status"] == "published" and files_of(Path(again["path"])) == published
    assert ledger(tmp_path) == paid


def vsb(*args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VSB_CRASH_AT"}
    if crash_at:
        env["VSB_CRASH_AT"] = f"{crash_at}:kill"
    return subprocess.run(
        [sys.executable, str(FAULTS), "none", "--", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow  # 9 `vsb withdraw` processes: CI runs it (.ci/run)
@pytest.mark.usefixtures("prefect_harness")
def test_a_withdraw_killed_at_any_step_is_completed_by_the_next_command(tmp_path):
    landing = two_members(tmp_path / "landing")
    base = tmp_path / "base"
    nightly(base, landing, FIRST_NIGHT)
    nightly(base, landing, PAYMENT_DAY)

    def withdraw(work: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
        args = ["--as-of", "2026-11-26", "--kind", "nightly", "--reason", "wrong delivery"]
        return vsb("withdraw", *args, "--outbox", str(work / "out"), "--state", str(state_of(work)), crash_at=crash_at)

    clean = tmp_path / "clean"
    shutil.copytree(base, clean)
    done = withdraw(clean)
    assert done.returncode == 0 and "withdrawn, moved to" in done.stdout, done.stderr
    for step in WITHDRAW_STEPS:
        work = tmp_path / step
        shutil.copytree(base, work)
        killed = withdraw(work, crash_at=step)
        assert killed.returncode == -9, killed.stderr
        completed = withdraw(work)  # the next command completes it first
        assert completed.returncode == 0 and "interrupted withdraw completed" in completed.stdout, completed.stderr
        assert state_rows(state_of(work)) == state_rows(state_of(clean)), step
        assert not (work / "out" / "withdrawn" / ".withdraw.json").exists()
        withdrawn = work / "out" / "withdrawn" / "nightly" / "2026-11-26"
        assert files_of(withdrawn).keys() == files_of(clean / "out" / "withdrawn" / "nightly" / "2026-11-26").keys()
        assert not (work / "out" / "nightly" / "2026-11-26").exists()
    refused = withdraw(clean)  # nothing left to withdraw of that date
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "no published nightly run dated 2026-11-26" in refused.stderr


@pytest.mark.usefixtures("prefect_harness")
def test_a_lost_state_is_refused_then_rebuilt_and_its_next_night_equals_the_lost_ones(tmp_path, two_members_after):
    kept, lost = tmp_path / "kept", tmp_path / "lost"
    landing = two_members_after(kept, FIRST_NIGHT)
    shutil.copytree(kept / "state", tmp_path / "backup")  # a backup older than the outbox
    nightly(kept, landing, PAYMENT_DAY)
    shutil.copytree(kept / "out", lost / "out")  # the state of the two nights is lost; the outbox is there
    nightly(kept, landing, D(2026, 12, 26))

    shutil.copytree(tmp_path / "backup", lost / "state")
    with pytest.raises(StateBehindError, match="does not know the published folder .*nightly/2026-11-26: .*rebuild"):
        nightly(lost, landing, D(2026, 12, 26))
    shutil.rmtree(lost / "state")
    with pytest.raises(StateBehindError, match="nightly/2026-11-20 \\(and 1 more\\)"):
        nightly(lost, landing, D(2026, 12, 26))
    shutil.rmtree(lost / "state")
    with pytest.raises(RebuildError, match="exists and is never overwritten"):
        rebuild_state(lost / "out", state_of(kept))

    assert rebuild_state(lost / "out", state_of(lost)) == {"runs": 2, "by_kind": {"nightly": 2}}
    nightly(lost, landing, D(2026, 12, 26))
    assert files_of(lost / "out") == files_of(kept / "out")
    assert state_rows(state_of(lost)) == state_rows(state_of(kept))

    (kept / "out" / "nightly" / "2026-11-26" / "ZK100" / "payments.parquet").write_bytes(b"changed")
    with pytest.raises(RebuildError, match="2026-11-26 does not match its manifest"):
        rebuild_state(kept / "out", tmp_path / "again.duckdb")
    assert not (tmp_path / "again.duckdb").exists()
