"""Mutation testing of the rule modules with cosmic-ray: which boundary changes do the tests notice?

Run through scripts/mutation.sh (docs/mutation.md). Reads scripts/mutation.toml: the
operators kept and, per rule module, the fast rule-table tests its mutants run. Never touches the
work tree: the project is copied to .mutation/tree and mutated there, one mutant at a time, each
judged by a fresh pytest process (cosmic-ray's local distributor). Sessions (cosmic-ray's SQLite
files), the per-module configs and report.md are kept in .mutation/.

    scripts/mutation.sh                      every module: a fresh copy, fresh sessions, the report
    scripts/mutation.sh conditions grounds   only the modules whose path contains one of the words
    scripts/mutation.sh strings              only the string mutants (SQL, Polars durations) of every module
    scripts/mutation.sh --resume             run what an interrupted run left pending (with the tests it had)
    scripts/mutation.sh --retry-survivors    copy the tests again and rerun only the survivors
    scripts/mutation.sh --report             print the report of the sessions as they are
    scripts/mutation.sh --rev COMMIT ...     a fresh run on the files of a commit (e.g. before new tests)
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TREE = WORK / "tree"
SESSIONS = WORK / "sessions"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Target:
    module: str  # path of the module, relative to the project root
    tests: list[str]
    strings: bool = False  # the module's strings: SQL and Polars durations (this script's own mutator)

    @property
    def slug(self) -> str:
        return self.module.removeprefix("pipelines/").removesuffix(".py").replace("/", ".") + (
            ".strings" if self.strings else ""
        )


def load_settings() -> tuple[dict, list[Target]]:
    settings = tomllib.loads((ROOT / "scripts" / "mutation.toml").read_text())["mutation"]
    targets = [Target(m, t) for m, t in settings["modules"].items()]
    targets += [Target(m, t, strings=True) for m, t in settings["modules"].items()]
    return settings, targets


def copy_tree(part: str = "all", rev: str | None = None) -> None:
    """The project as it is in the work tree (tracked and new files, not the ignored ones) into .mutation/tree.

    part "all": everything, anew; "tests": only tests/ (the code the sessions were made from stays);
    "code": everything but tests/ (puts back a module an interrupted run left mutated). rev: the files of
    that commit instead (e.g. the score before some new tests).
    """
    if rev is not None:
        shutil.rmtree(TREE, ignore_errors=True)
        TREE.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(TREE)], input=archive, check=True)
        return
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    files = [f.decode() for f in listed if f and not f.startswith(b".mutation/")]
    if part == "tests":
        files = [f for f in files if f.startswith("tests/")]
        shutil.rmtree(TREE / "tests", ignore_errors=True)
    elif part == "code":
        files = [f for f in files if not f.startswith("tests/")]
    else:
        shutil.rmtree(TREE, ignore_errors=True)
    for name in files:
        source = ROOT / name
        if source.is_file():
            (TREE / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, TREE / name)


def test_command(settings: dict, target: Target) -> str:
    return f"{BIN / 'python'} -m pytest {settings['pytest']} {' '.join(target.tests)}"


def clean_run(settings: dict, target: Target) -> float:
    """Seconds the module's tests take on the unmutated copy; stops when they fail."""
    started = time.monotonic()
    done = subprocess.run(test_command(settings, target).split(), cwd=TREE, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{target.module}: its tests fail without any mutant:\n{done.stdout[-3000:]}")
    return time.monotonic() - started


def write_config(settings: dict, target: Target, timeout: float) -> Path:
    kept = "|".join(f"(?:{o})" for o in settings["operators"])
    config = WORK / "configs" / f"{target.slug}.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(target.module)}\n"
        f"timeout = {timeout:.0f}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(test_command(settings, target))}\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
        "[cosmic-ray.filters.operators-filter]\n"
        # cr-filter-operators skips what matches: everything but the kept operators
        f"exclude-operators = [{json.dumps(f'(?!(?:{kept})$)')}]\n"
    )
    return config


def session(target: Target) -> Path:
    return SESSIONS / f"{target.slug}.sqlite"


def cosmic(*args: str) -> None:
    subprocess.run([str(BIN / args[0]), *args[1:]], cwd=TREE, check=True)


def run_cosmic_ray(settings: dict, target: Target, fresh: bool) -> None:
    if fresh or not session(target).exists():
        seconds = clean_run(settings, target)
        config = write_config(settings, target, max(settings["timeout"], 5 * seconds))
        session(target).unlink(missing_ok=True)
        cosmic("cosmic-ray", "init", str(config), str(session(target)))
        cosmic("cr-filter-operators", str(session(target)), str(config))
        (SESSIONS / f"{target.slug}.sha256").write_text(digest(TREE / target.module))
    else:  # the tests of scripts/mutation.toml as they are now (--retry-survivors after new tests)
        write_config(settings, target, 5 * settings["timeout"])
    skip_annotations(target)
    started = time.monotonic()
    cosmic("cosmic-ray", "exec", str(WORK / "configs" / f"{target.slug}.toml"), str(session(target)))
    print(f"{target.module}: {time.monotonic() - started:.0f} s", flush=True)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions (line, column) of the type annotations of a module."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        found = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            found.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            found.append(node.returns)
        spans += [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in found]
    return spans


def skip_annotations(target: Target) -> None:
    """Marks the mutants inside type annotations as skipped: with `from __future__ import annotations` they
    are never evaluated, so such a mutant (`DataFrame | None` to `DataFrame & None`) cannot be killed."""
    spans = annotation_spans((TREE / target.module).read_text())
    with sqlite3.connect(session(target)) as db:
        specs = db.execute("SELECT job_id, start_pos_row, start_pos_col FROM mutation_specs").fetchall()
        inside = [job for job, row, col in specs if any(a <= (row, col) < b for a, b in spans)]
        db.executemany(
            "INSERT OR REPLACE INTO work_results (job_id, worker_outcome, output)"
            " VALUES (?, 'SKIPPED', 'type annotation')",
            [(job,) for job in inside],
        )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the string mutator ----------------------------------------------------------------------------
# cosmic-ray does not look inside strings: the DuckDB SQL of PAY-MONTH and PAY-RECOVERY, and the Polars
# durations ("1mo", "18y") that month arithmetic turns on, are mutated here, one occurrence at a time.

DURATION = re.compile(r"^(\d+)(mo|y|d|w)$")
# (name, pattern, replacement) inside the module's SQL strings (constants containing SELECT)
SQL_OPERATORS = [
    ("SQL >= to >", r"(?<=\s)>=(?=\s)", ">"),
    ("SQL <= to <", r"(?<=\s)<=(?=\s)", "<"),
    ("SQL > to >=", r"(?<=\s)>(?=\s)", ">="),
    ("SQL < to <=", r"(?<=\s)<(?=\s)", "<="),
    ("SQL = to <>", r"(?<=\s)=(?=\s)", "<>"),
    ("SQL NOT deleted", r"\bNOT (?!NULL)", ""),
    ("SQL BETWEEN lower end excluded", r"([\w.$]+) BETWEEN ([\w.$]+) AND ([\w.$]+)", r"(\1 > \2 AND \1 <= \3)"),
    ("SQL BETWEEN upper end excluded", r"([\w.$]+) BETWEEN ([\w.$]+) AND ([\w.$]+)", r"(\1 >= \2 AND \1 < \3)"),
    ("SQL INTERVAL 1 to 2", r"INTERVAL 1 MONTH", "INTERVAL 2 MONTH"),
    ("SQL UNION ALL to UNION", r"UNION ALL", "UNION"),
]


def string_spans(source: str) -> list[tuple[int, int, str]]:
    """Character spans and values of the module's string constants (f-strings and docstrings aside)."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    spans = []
    tree = ast.parse(source)
    inside_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inside_fstrings:
            start = offsets[node.lineno - 1] + node.col_offset
            end = offsets[node.end_lineno - 1] + node.end_col_offset
            spans.append((start, end, node.value))
    return spans


def _mutant(source: str, name: str, a: int, b: int, replacement: str) -> dict:
    line = source.count("\n", 0, a) + 1
    mutated = source[:a] + replacement + source[b:]
    return {"operator": name, "line": line, "mutated": mutated.splitlines()[line - 1].strip(), "source": mutated}


def string_mutants(source: str) -> list[dict]:
    mutants = []
    for start, end, value in string_spans(source):
        duration = DURATION.match(value)
        if duration:
            n, unit = int(duration.group(1)), duration.group(2)
            a = source.index(value, start, end)
            for other in (n + 1, n - 1) if n > 1 else (n + 1,):
                mutants.append(
                    _mutant(source, f"Polars duration {value} to {other}{unit}", a, a + len(value), f"{other}{unit}")
                )
        if "SELECT" not in value:
            continue
        for name, pattern, replacement in SQL_OPERATORS:
            for match in re.finditer(pattern, source[start:end]):
                a, b = start + match.start(), start + match.end()
                mutants.append(_mutant(source, name, a, b, match.expand(replacement)))
    return mutants


def run_strings(settings: dict, target: Target, fresh: bool) -> None:
    """Each string mutant in the copy, judged by the module's tests; results in .mutation/sessions/<slug>.json."""
    path = TREE / target.module
    original = path.read_text()
    if not string_mutants(original):
        return
    results_file = SESSIONS / f"{target.slug}.json"
    fresh = fresh or not results_file.exists()
    results = [] if fresh else json.loads(results_file.read_text())
    if fresh:
        timeout = max(settings["timeout"], 5 * clean_run(settings, target))
        (SESSIONS / f"{target.slug}.sha256").write_text(digest(path))
    else:
        timeout = settings["timeout"] * 5
    done = {(r["operator"], r["line"], r["occurrence"]): r for r in results if r["outcome"] != "survived"}
    counted: dict[tuple, int] = {}
    out = []
    try:
        for mutant in string_mutants(original):
            key = (mutant["operator"], mutant["line"])
            counted[key] = counted.get(key, 0) + 1
            ident = (*key, counted[key])
            if ident in done:
                out.append(done[ident])
                continue
            path.write_text(mutant["source"])
            try:
                run = subprocess.run(
                    test_command(settings, target).split(), cwd=TREE, capture_output=True, timeout=timeout
                )
                outcome = "killed" if run.returncode != 0 else "survived"
            except subprocess.TimeoutExpired:
                outcome = "timeout"
            finally:
                path.write_text(original)
            keep = ("operator", "line", "mutated")
            out.append({k: mutant[k] for k in keep} | {"occurrence": counted[key], "outcome": outcome})
    finally:
        path.write_text(original)
        results_file.write_text(json.dumps(out, indent=1))


# --- the report ------------------------------------------------------------------------------------


def outcomes(target: Target) -> list[dict]:
    """One row per mutant that ran: operator, line, col, outcome (killed, survived, timeout, incompetent)."""
    if target.strings:
        file = SESSIONS / f"{target.slug}.json"
        return [dict(r, col=0) for r in json.loads(file.read_text())] if file.exists() else []
    if not session(target).exists():
        return []
    skip_annotations(target)
    with sqlite3.connect(session(target)) as db:
        rows = db.execute(
            "SELECT s.operator_name, s.start_pos_row, s.start_pos_col, r.worker_outcome, r.test_outcome, r.output,"
            " r.diff FROM mutation_specs s LEFT JOIN work_results r USING (job_id)"
        ).fetchall()
    out = []
    for operator, line, col, worker, test, output, diff in rows:
        worker, test = (worker or "").lower() or None, (test or "").lower() or None  # stored as enum names
        if worker == "skipped":
            continue
        if worker is None:
            outcome = "pending"
        elif test == "killed" and output == "timeout":
            outcome = "timeout"
        else:
            outcome = test or worker
        added = [d[1:].strip() for d in (diff or "").splitlines() if d.startswith("+") and not d.startswith("+++")]
        mutant = {"operator": operator.removeprefix("core/"), "line": line, "col": col, "outcome": outcome}
        out.append(mutant | {"mutated": added[0] if added else ""})
    return out


def report(targets: list[Target]) -> str:
    head = "| module | tests | generated | killed | survived | timed out | other | score |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    survivors = []
    total = {"generated": 0, "killed": 0, "survived": 0, "timeout": 0, "other": 0}
    for target in targets:
        rows = outcomes(target)
        if not rows:
            continue
        count = {k: sum(r["outcome"] == k for r in rows) for k in ("killed", "survived", "timeout")}
        count["other"] = len(rows) - sum(count.values())
        count["generated"] = len(rows)
        for k in total:
            total[k] += count[k]
        score = (count["killed"] + count["timeout"]) / len(rows)
        name = target.module + (" (strings)" if target.strings else "")
        tests = ", ".join(Path(t).name for t in target.tests)
        lines.append(
            f"| {name} | {tests} | {count['generated']} | {count['killed']} | {count['survived']} "
            f"| {count['timeout']} | {count['other']} | {score:.1%} |"
        )
        source = (TREE / target.module).read_text().splitlines()
        for r in sorted(rows, key=lambda r: (r["line"], r["col"])):
            if r["outcome"] in ("survived", "pending"):
                text = r.get("mutated") or source[r["line"] - 1].strip()
                survivors.append(f"- {r['outcome']}: {target.module}:{r['line']}:{r['col']} {r['operator']}: `{text}`")
    if total["generated"]:
        score = (total["killed"] + total["timeout"]) / total["generated"]
        lines.append(
            f"| **all** | | {total['generated']} | {total['killed']} | {total['survived']} | {total['timeout']} "
            f"| {total['other']} | **{score:.1%}** |"
        )
    lines += ["", "Score: (killed + timed out) / generated. Other: incompetent or pending.", ""]
    return "\n".join(lines + ["Survivors:", ""] + (survivors or ["- none"])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("words", nargs="*", help="only the modules whose path or slug contains one of these")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="run what an interrupted run left pending")
    mode.add_argument("--retry-survivors", action="store_true", help="copy the tests again, rerun the survivors")
    mode.add_argument("--report", action="store_true", help="only print the report")
    parser.add_argument("--rev", help="mutate a copy of this commit instead of the work tree (a fresh run)")
    args = parser.parse_args()
    settings, targets = load_settings()
    chosen = [t for t in targets if not args.words or any(w in t.module or w in t.slug for w in args.words)]
    if not args.report:
        fresh = not (args.resume or args.retry_survivors)
        if fresh and not args.words:
            shutil.rmtree(WORK, ignore_errors=True)
        for target in chosen if not fresh else []:
            stamp = SESSIONS / f"{target.slug}.sha256"
            if stamp.exists() and stamp.read_text() != digest(ROOT / target.module):
                sys.exit(f"{target.module} changed since its session was made: run it anew (without --resume)")
        copy_tree("all" if fresh else "tests" if args.retry_survivors else "code", args.rev if fresh else None)
        SESSIONS.mkdir(parents=True, exist_ok=True)
        for target in chosen:
            if args.retry_survivors and not target.strings and session(target).exists():
                with sqlite3.connect(session(target)) as db:
                    db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")
            (run_strings if target.strings else run_cosmic_ray)(settings, target, fresh)
    text = report(chosen)
    (WORK / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
