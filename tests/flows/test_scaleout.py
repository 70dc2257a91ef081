"""Scale-out on a real Dask cluster on loopback (`dask scheduler` and two `dask worker` processes): a simulation on
the cluster equals the simulation here, byte for byte; a backfill whose nights are decided on the cluster equals
the serial backfill (every output file, every state table), and stops at the same failing night.

Long (a Dask scheduler and two workers start, then the sample's backfill three times: about 2 minutes): these run
only with VSB_ALL_TESTS=1 (docs/testing.md); the unreachable cluster runs everywhere."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.state.store import connect

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "landing"
REFORMS = ROOT / "data" / "reforms"
DASK = Path(sys.executable).with_name("dask")
pytestmark = pytest.mark.usefixtures("prefect_harness")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dask_address(tmp_path_factory):
    """A scheduler and two single-threaded workers on loopback, in their own processes (no nanny: they stop at
    once); stopped at the end."""
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": folder}
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"], **quiet
        )
    ]
    worker = [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--no-nanny"]
    processes += [subprocess.Popen([*worker, "--name", f"w{i}"], **quiet) for i in range(2)]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


# --- simulate ----------------------------------------------------------------------------------------------


@pytest.mark.long
def test_simulate_on_the_cluster_equals_simulate_here(tmp_path, dask_address):
    from flows.simulate import run_simulation

    reforms = [REFORMS / f"{n}.yaml" for n in ("adl-iadl-6", "bob-delay-4")]
    here = run_simulation(as_of=D(2026, 11, 26), reforms=reforms, landing=SAMPLE, outbox=tmp_path / "here", quiet=True)
    there = run_simulation(
        as_of=D(2026, 11, 26),
        reforms=reforms,
        landing=SAMPLE,
        outbox=tmp_path / "there",
        quiet=True,
        dask_address=dask_address,
    )
    for name in ("summary.json", "changes.parquet", "report.html"):
        assert (Path(there["path"]) / name).read_bytes() == (Path(here["path"]) / name).read_bytes(), name
    assert json.loads((Path(there["path"]) / "summary.json").read_text())["reforms"]["adl-iadl-6"]


def test_an_unreachable_cluster_is_one_line(tmp_path, monkeypatch):
    from flows import scaleout
    from flows.scaleout import ClusterError

    monkeypatch.setattr(scaleout, "CONNECT_TIMEOUT", "2s")
    from flows.simulate import run_simulation

    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        run_simulation(
            as_of=D(2026, 11, 26),
            reforms=[REFORMS / "adl-iadl-6.yaml"],
            landing=SAMPLE,
            outbox=tmp_path,
            quiet=True,
            dask_address=address,
        )


# --- backfill ----------------------------------------------------------------------------------------------


def outputs(outbox: Path) -> dict[str, bytes]:
    """Every published file; _report.json without its timings (_report.html, which shows them, not at all)."""
    found = {}
    for path in sorted(outbox.rglob("*")):
        if not path.is_file() or path.name == "_report.html":
            continue
        data = path.read_bytes()
        if path.name == "_report.json":
            report = json.loads(data)
            report.pop("timings_seconds", None)
            data = json.dumps(report, sort_keys=True).encode()
        found[path.relative_to(outbox).as_posix()] = data
    return found


def state_tables(state: Path) -> dict[str, list[tuple]]:
    """Every state table, row by row; run_trends without its `seconds` (a run's duration: clock time)."""
    with connect(str(state), read_only=True) as con:
        names = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        select = {"run_trends": "SELECT * EXCLUDE (seconds)"}
        return {
            name: con.sql(f'{select.get(name, "SELECT *")} FROM "{name}" ORDER BY ALL').fetchall() for name in names
        }


def backfill(tmp: Path, landing: Path, first: dt.date, last: dt.date, dask_address: str | None = None):
    from flows.nightly import run_backfill

    return run_backfill(
        first=first,
        last=last,
        landing=landing,
        outbox=tmp / "out",
        state=tmp / "state.duckdb",
        quiet=True,
        accept_mass_change=True,  # the sample's November delivery stops 5 of 65 grants (S-MASS-CHANGE)
        dask_address=dask_address,
    )


@pytest.mark.long
def test_a_backfill_decided_on_the_cluster_equals_the_serial_backfill(tmp_path, dask_address):
    """The sample over a payment night (2026-10-26) and a change of deliveries (2026-11-01)."""
    first, last = D(2026, 10, 25), D(2026, 11, 2)
    serial = backfill(tmp_path / "serial", SAMPLE, first, last)
    parallel = backfill(tmp_path / "parallel", SAMPLE, first, last, dask_address)
    assert [r["status"] for r in parallel] == [r["status"] for r in serial] == ["published"] * 9
    assert [Path(r["path"]).name for r in parallel] == [Path(r["path"]).name for r in serial]
    mine, theirs = outputs(tmp_path / "parallel" / "out"), outputs(tmp_path / "serial" / "out")
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []
    assert any(name.endswith("payments.xml") for name in mine)
    tables = state_tables(tmp_path / "parallel" / "state.duckdb")
    assert tables == state_tables(tmp_path / "serial" / "state.duckdb")
    assert len(tables["payment_ledger"]) > 0 and len(tables["runs"]) == 9
    # a second parallel backfill over the same nights: every night unchanged
    assert {r["status"] for r in backfill(tmp_path / "parallel", SAMPLE, first, last, dask_address)} == {"identical"}


@pytest.mark.long
def test_a_backfill_on_the_cluster_stops_at_the_first_failing_night_as_the_serial_one(tmp_path, dask_address):
    from tests.helpers.runs import two_members

    landing = two_members(tmp_path / "landing", D(2026, 10, 1))
    two_members(landing, D(2026, 11, 1))
    (landing / "vaph_support" / "delivery_date=2026-11-01" / "part-00000.parquet").write_bytes(b"broken")
    failures = {}
    for how, address in (("serial", None), ("parallel", dask_address)):
        with pytest.raises(Exception, match="feed vaph_support") as raised:
            backfill(tmp_path / how, landing, D(2026, 10, 29), D(2026, 11, 3), address)
        failures[how] = (type(raised.value), str(raised.value))
    assert failures["parallel"] == failures["serial"]
    published = sorted(p.name for p in (tmp_path / "parallel" / "out" / "nightly").iterdir())
    assert published == ["2026-10-29", "2026-10-30", "2026-10-31"]
    assert outputs(tmp_path / "parallel" / "out") == outputs(tmp_path / "serial" / "out")
    assert state_tables(tmp_path / "parallel" / "state.duckdb") == state_tables(tmp_path / "serial" / "state.duckdb")
