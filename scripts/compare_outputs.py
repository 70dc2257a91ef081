"""Fingerprint every output of a fixed sequence of runs, to prove a change leaves the results as they were.

    .venv/bin/python scripts/compare_outputs.py record before.txt [--members 100000]
    ... change the code ...
    .venv/bin/python scripts/compare_outputs.py record after.txt
    .venv/bin/python scripts/compare_outputs.py diff before.txt after.txt

The sequence, each through the `vsb` command in a fresh work folder:
- the sample landing: a backfill of 2026-10-24..2026-11-28 (two payment nights), the invoices of 2026
  on 2026-11-26 and the fines of 2026;
- a generated landing of --members members (0: skipped): the go-live payment night 2026-10-26 on an
  empty state, the steady payment night 2026-11-26 and the night after.

Recorded: the sha256 of every published file (`_report.json` and `_manifest.json` without their timings
and code version; `_report.html` not at all), and of every state table's rows in a fixed order (without
the commit sequence and the manifest digests, which hold the code version).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from flows.state.store import connect

ROOT = Path(__file__).resolve().parent.parent
VSB = ROOT / ".venv" / "bin" / "vsb"
SAMPLE = ROOT / "data" / "sample" / "landing"
# wall-clock figures, and the digest of the source code (which a restructure changes by design)
VOLATILE = {"timings_seconds", "trends", "timings", "code_version"}


def _vsb(*args: str, work: Path, landing: Path) -> None:
    env = {
        **os.environ,
        "VSB_LANDING": str(landing),
        "VSB_OUTBOX": str(work / "out"),
        "VSB_STATE": str(work / "state.duckdb"),
    }
    subprocess.run([str(VSB), *args, "--quiet"], check=True, env=env, cwd=work)


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _digest(path: Path) -> str:
    if path.name in ("_report.json", "_manifest.json"):
        data = json.dumps(_strip(json.loads(path.read_text())), sort_keys=True).encode()
    elif path.name == "_report.html":
        return "(report: not compared)"
    else:
        data = path.read_bytes()
    return hashlib.sha256(data).hexdigest()


def fingerprint(work: Path, label: str) -> list[str]:

    lines = []
    out = work / "out"
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        lines.append(f"{label} file {path.relative_to(out).as_posix()} {_digest(path)}")
    con = connect(str(work / "state.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.sql("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
        for table in tables:
            columns = [r[0] for r in con.sql(f"DESCRIBE {table}").fetchall() if r[0] not in ("seq", "manifest_sha256")]
            rows = con.sql(f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL").fetchall()
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()
            lines.append(f"{label} table {table} rows={len(rows)} {digest}")
    finally:
        con.close()
    return lines


def record(target: Path, members: int) -> None:
    lines = []
    with tempfile.TemporaryDirectory(prefix="vsb-compare-") as tmp:
        sample = Path(tmp) / "sample"
        sample.mkdir()
        _vsb(
            "backfill",
            "--from",
            "2026-10-24",
            "--to",
            "2026-11-28",
            "--accept-mass-change",
            work=sample,
            landing=SAMPLE,
        )
        _vsb("invoices", "--year", "2026", "--as-of", "2026-11-26", work=sample, landing=SAMPLE)
        _vsb("fines", "--year", "2026", work=sample, landing=SAMPLE)
        lines += fingerprint(sample, "sample")
        if members:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from common import landing_for

            landing = landing_for(members)
            generated = Path(tmp) / "generated"
            generated.mkdir()
            for day in ("2026-10-26", "2026-11-26", "2026-11-27"):
                _vsb("nightly", "--as-of", day, "--accept-mass-change", work=generated, landing=landing)
            lines += fingerprint(generated, f"generated-{members}")
    target.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} fingerprints in {target}")


def diff(before: Path, after: Path) -> int:
    def read(path: Path) -> dict[str, str]:
        found = {}
        for line in path.read_text().splitlines():
            label, kind, name, *rest = line.split(" ")
            found[f"{label} {kind} {name}"] = " ".join(rest)
        return found

    a, b = read(before), read(after)
    changed = 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            changed += 1
            print(f"{key}: {a.get(key, '(absent)')} -> {b.get(key, '(absent)')}")
    print(f"{changed} of {len(set(a) | set(b))} fingerprints differ")
    return 1 if changed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("target", type=Path)
    rec.add_argument("--members", type=int, default=100_000)
    dif = sub.add_parser("diff")
    dif.add_argument("before", type=Path)
    dif.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.target, args.members)
        return 0
    return diff(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
