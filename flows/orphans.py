"""No orphans (issue 20): the processes a run starts die with it, however it dies (kill -9, the OOM killer).

`atexit` and `finally` do not run when the command is killed, so each helper process is tied to the command by
the kernel or by a watchdog of its own:
- Prefect's temporary server (flows/runtime.py) starts through this module (`tied_command`): the launcher asks
  Linux to kill it when its parent dies (prctl PR_SET_PDEATHSIG, kept across exec) and then execs the server.
- A letter worker (flows/io/letters.py) is a child of the multiprocessing fork server, not of the command:
  `tie_worker` gives it the parent-death signal (the fork server) and a watchdog thread on the command's pid.
  The fork server and the resource tracker end by themselves once the command and the workers are gone (their
  pipes close).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 0.5


def on_parent_death(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send `sig` to this process when its parent ends; False where prctl is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(pid: int, interval: float = WATCH_SECONDS) -> threading.Thread:
    """A daemon thread that ends this process (at once, no cleanup) when process `pid` is gone."""

    def run() -> None:
        while alive(pid):
            time.sleep(interval)
        os._exit(1)

    thread = threading.Thread(target=run, name=f"vsb-watch-{pid}", daemon=True)
    thread.start()
    return thread


def tie_worker(command_pid: int) -> None:
    """Initializer of a worker process: it dies with its parent (the fork server) and with the command."""
    on_parent_death()
    if not alive(command_pid):
        os._exit(1)
    watch(command_pid)


def tied_command(command: list[str]) -> list[str]:
    """`command` started through this module: it gets the parent-death signal of the process that starts it."""
    return [sys.executable, "-m", "flows.orphans", str(os.getpid()), *command]


def _launch(argv: list[str]) -> None:
    """python -m flows.orphans PARENT_PID PROGRAM ARGS...: tie this process to its parent, then exec PROGRAM."""
    parent, program = int(argv[0]), argv[1:]
    on_parent_death()
    if os.getppid() != parent:  # the parent died before prctl: nobody would kill us
        os._exit(1)
    os.execv(program[0], program)


if __name__ == "__main__":
    _launch(sys.argv[1:])
