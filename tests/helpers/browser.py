"""Debian's headless Chromium for the tests (and scripts/report_png.py): a screenshot, the DOM after
load, and the page's console messages.

Flags as on this machine (docs/stack-notes.md; machines/python.md, "Known to work"): as root Chromium needs
--no-sandbox, and without the background-networking flags it tries to reach Google's hosts at start.
Each call gets a fresh, empty profile folder. `--enable-logging=stderr --v=0` makes Chromium print
every console message of the page on stderr as `...:INFO:CONSOLE:<line>] "<message>", source: ...`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r':CONSOLE[:(]\d+\)?\] "(.*)", source: (.*)$', re.MULTILINE)


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def run(page: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_url(Path(page).resolve().as_uri(), *args, timeout=timeout)


def run_url(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Chromium on a page given by its address (a file, or a server on loopback such as the Prefect UI)."""
    executable = chromium()
    if executable is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="vsb-chromium-") as profile:
        command = [executable, *FLAGS, f"--user-data-dir={profile}", *args, url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited with {done.returncode}: {done.stderr[-2000:]}")
    return done


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000) -> list[str]:
    """Writes a PNG of the page's first width x height pixels; returns the page's console messages."""
    done = run(page, f"--screenshot={Path(png).resolve()}", f"--window-size={width},{height}")
    if not Path(png).exists():
        raise RuntimeError(f"chromium wrote no screenshot: {done.stderr[-2000:]}")
    return console_messages(done.stderr)


def dump_dom(page: Path) -> tuple[str, list[str]]:
    """The page's DOM after load, serialised, and its console messages."""
    done = run(page, "--dump-dom")
    return done.stdout, console_messages(done.stderr)


def console_messages(stderr: str) -> list[str]:
    return [f"{message} ({source})" for message, source in CONSOLE.findall(stderr)]
