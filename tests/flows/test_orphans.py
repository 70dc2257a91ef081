"""No orphans (issue 20 point 8): when only the command's process dies (kill -9, the OOM killer), every process it
started dies with it within 5 s: Prefect's temporary server, the letters' fork server, resource tracker and
workers (flows/orphans.py). `atexit` would not run: these tests SIGKILL the command's pid alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "landing"
GRACE = 5.0


def session_of(pid: int) -> int | None:
    """The session id of a living process (None: gone, or a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[3])


def processes_of_session(sid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and session_of(int(entry.name)) == sid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def left_after_kill(main: subprocess.Popen) -> list[str]:
    """SIGKILL the main process alone; the processes of its session still alive GRACE seconds later."""
    os.kill(main.pid, signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        left = processes_of_session(main.pid)
        if not left:
            return []
        time.sleep(0.2)
    left = processes_of_session(main.pid)
    for pid in left:  # the test's own cleanup
        os.kill(pid, signal.SIGKILL)
    return [cmdline(pid) for pid in left]


def started(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_tied_helper_dies_with_the_command():
    """The launcher of Prefect's temporary server: its program is killed when the command is."""
    main = started(
        """
        import subprocess, time
        from flows.orphans import tied_command
        subprocess.Popen(tied_command(["/bin/sleep", "120"]))
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    assert main.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # the launcher has exec'd sleep
    assert len(processes_of_session(main.pid)) == 2
    assert left_after_kill(main) == []


def test_letter_workers_and_their_fork_server_die_with_the_command():
    """A letter worker busy on a file, the fork server and the resource tracker: gone within 5 s."""
    main = started(
        """
        import time
        from flows.io.letters import _pool

        if __name__ == "__main__":
            pool = _pool(2)
            futures = [pool.submit(time.sleep, 120) for _ in range(2)]
            time.sleep(1.5)
            print("ready", flush=True)
            time.sleep(120)
        """
    )
    assert main.stdout.readline().strip() == "ready"
    assert len(processes_of_session(main.pid)) >= 3  # the command, the fork server, the workers
    assert left_after_kill(main) == []


def _vsb_nightly(tmp_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flows.cli", "nightly", "--as-of", "2026-11-26", "--allow-future-date"]
    command += ["--landing", str(SAMPLE), "--outbox", str(tmp_path / "out"), "--state", str(tmp_path / "vsb.duckdb")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _prefect_server(main: subprocess.Popen, tmp_path: Path) -> bool:
    return any("uvicorn" in cmdline(p) for p in processes_of_session(main.pid) if p != main.pid)


def _publishing(main: subprocess.Popen, tmp_path: Path) -> bool:
    """The night is settled and its files are being written (its staging folder exists)."""
    nightly = tmp_path / "out" / "nightly"
    return nightly.is_dir() and any(p.name.startswith(".") for p in nightly.iterdir())


def _letters(main: subprocess.Popen, tmp_path: Path) -> bool:
    return any("forkserver" in cmdline(p) or "multiprocessing" in cmdline(p) for p in processes_of_session(main.pid))


@pytest.mark.slow
@pytest.mark.parametrize("step", [_prefect_server, _publishing, _letters], ids=["prefect", "publishing", "letters"])
def test_killing_the_command_at_a_step_leaves_no_process_of_the_run(tmp_path, step):
    """vsb nightly on the sample, SIGKILLed alone when Prefect's server has started, while the night's files are
    written, and while its letters are rendered: within 5 s no process of the run remains."""
    main = _vsb_nightly(tmp_path)
    deadline = time.monotonic() + 600
    while not step(main, tmp_path):
        assert main.poll() is None, f"the night ended (rc {main.returncode}) before the step {step.__name__}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert left_after_kill(main) == []
