"""The `vsb` command (docs/spec/outputs.md, "Command line").

Every run subcommand runs a Prefect flow (local ephemeral mode unless PREFECT_API_URL is
set) and exits non-zero with a one-line reason on failure: no Python or Prefect traceback on
the terminal unless `--debug` (Prefect's console shows only critical records; the run's
records still go to the Prefect API). A run command takes the state's lock before anything
else, so that a second run on the same state exits at once, naming the run that holds it.

On a terminal a spinner runs from the first second (while Prefect starts) and each long step
shows its counts (flows/progress.py); off a terminal (cron, a pipe) only the one result line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import re
import sys
import textwrap
import traceback
from contextlib import contextmanager, nullcontext
from pathlib import Path

from flows.runtime import PrefectServer, configure_environment, prefect_configured, release_frames

# how a run's publication ends, for the one line printed
STATUS_WORDS = {"published": "published", "replaced": "published again", "identical": "unchanged, already"}
RUN_COMMANDS = ("nightly", "invoices", "fines", "backfill")
# the sample landing zone: the default of the run commands (docs/spec/outputs.md), never of `vsb serve`
FOLDERS = {"landing": ("VSB_LANDING", "data/sample/landing"), "outbox": ("VSB_OUTBOX", "out")}
FOLDERS["state"] = ("VSB_STATE", "state/vsb.duckdb")


class UsageError(Exception):
    """A command given without what it needs (a folder, an empty target): one line saying what to give."""


class _Parser(argparse.ArgumentParser):
    """A usage error in one line on stderr (exit code 2), pointing at --help instead of printing the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help)\n")


DATE = "YYYY-MM-DD"  # the metavar of every date option


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


class _Version(argparse.Action):
    """--version: the package version and the code version the run manifests carry (computed when asked)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib import metadata

        from flows.runtime import code_version

        try:
            version = metadata.version("vsb-engine")
        except metadata.PackageNotFoundError:
            version = "unknown"
        parser.exit(message=f"vsb {version} (code version {code_version()})\n")


def _folders(parser: argparse.ArgumentParser, sample_defaults: bool = True) -> None:
    """--landing, --outbox, --state: from the option, else the environment, else (run commands) the sample."""
    helps = {
        "landing": "landing zone of the feeds",
        "outbox": "where runs are published",
        "state": "state database",
    }
    for name, (variable, sample) in FOLDERS.items():
        default = os.environ.get(variable) or (sample if sample_defaults else None)
        shown = f"{variable}; default {sample}" if sample_defaults else f"or {variable}; required"
        parser.add_argument(
            f"--{name}", type=Path, default=Path(default) if default else None, help=f"{helps[name]} ({shown})"
        )


def _common(parser: argparse.ArgumentParser, mass_change: bool = True, future: bool = True) -> None:
    _folders(parser)
    if future:
        parser.add_argument(
            "--allow-future-date",
            action="store_true",
            help="run a date after today's date (tests and simulations only: a run pays as of its date)",
        )
    if mass_change:
        parser.add_argument(
            "--accept-mass-change",
            action="store_true",
            help="publish even when more grants stop or start than S-MASS-CHANGE allows",
        )
    parser.add_argument(
        "--accept-shrink",
        action="append",
        default=[],
        metavar="FEED",
        help="accept a delivery of FEED below min_rows_ratio of the previous one (repeatable)",
    )
    parser.add_argument(
        "--accept-quarantine",
        action="append",
        default=[],
        metavar="FEED",
        help="accept a delivery of FEED with more than max_quarantine_fraction of its rows quarantined (repeatable)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="publish a date again as <D>.v2 when its result differs from the published one",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display (none either off a terminal)")
    _debug(parser)


def _debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="on failure, show the traceback and Prefect's own log on the terminal"
    )


# an example of every subcommand, shown at the end of its --help (docs/spec/outputs.md, "Command line")
EXAMPLES = {
    "nightly": ["vsb nightly --as-of 2026-11-26", "vsb nightly --as-of 2026-11-26 --accept-shrink members --replace"],
    "invoices": ["vsb invoices --year 2026 --as-of 2026-11-26"],
    "fines": ["vsb fines --year 2026"],
    "backfill": ["vsb backfill --from 2026-10-26 --to 2026-11-26"],
    "simulate": ["vsb simulate --as-of 2026-11-26 --reform data/reforms/zzb-150-2027.yaml --lang FR"],
    "withdraw": ['vsb withdraw --as-of 2026-11-26 --kind nightly --reason "members delivery of the wrong month"'],
    "rebuild-state": ["vsb rebuild-state --outbox out --state state/rebuilt.duckdb"],
    "serve": ["VSB_LANDING=/data/landing VSB_OUTBOX=/data/outbox VSB_STATE=/data/state/vsb.duckdb vsb serve"],
    "explain": [
        "vsb explain 40031099155 --as-of 2026-11-26 --lang FR",
        "vsb explain 40031099155 --as-of 2026-11-26 --json",
    ],
    "generate": ["vsb generate --members 2000 --seed 1 --scenarios --out data/sample/landing --force"],
}


def _subcommand(sub, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand whose --help opens with what it does and ends with an example (EXAMPLES)."""
    examples = "\n".join(f"  {line}" for line in EXAMPLES[name])
    return sub.add_parser(
        name,
        help=help,
        description=textwrap.fill(description or help[0].upper() + help[1:] + ".", width=88),
        epilog=f"example{'s' if len(EXAMPLES[name]) > 1 else ''}:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vsb", description="Flemish care budgets: the automatic grant engine")
    parser.add_argument("--version", action=_Version, help="the package version and the code version of the manifests")
    sub = parser.add_subparsers(dest="command", required=True)
    nightly = _subcommand(
        sub,
        "nightly",
        "the nightly run for a date (default: today)",
        "The nightly run for run date D: ingest and validate the feeds' deliveries of D, decide, settle (grant "
        "events, payments on the payment run, recoveries), write every zorgkas's files and letters, and publish "
        "<outbox>/nightly/<D>/ in one rename.",
    )
    nightly.add_argument("--as-of", type=_date, metavar=DATE, default=None, help="run date D (default: today)")
    _common(nightly)
    invoices = _subcommand(sub, "invoices", "the yearly care premium invoice run (rerun: only invoices not yet issued)")
    invoices.add_argument("--year", type=int, required=True, help="premium year Y")
    invoices.add_argument("--as-of", type=_date, metavar=DATE, default=None, help="invoice date D (default: today)")
    _common(invoices, mass_change=False)
    fines = _subcommand(sub, "fines", "the fine-candidate run on the fine reference date of a year")
    fines.add_argument("--year", type=int, required=True, help="fine year F (judged on 15 October F)")
    _common(fines, mass_change=False)
    backfill = _subcommand(
        sub,
        "backfill",
        "the nightly runs for every date D1..D2, in order",
        "The nightly runs for every date D1..D2, in order, each exactly as vsb nightly runs it; stops at the first "
        "date that fails (the dates before it stay published).",
    )
    backfill.add_argument("--from", dest="first", type=_date, metavar=DATE, required=True, help="first run date D1")
    backfill.add_argument("--to", dest="last", type=_date, metavar=DATE, required=True, help="last run date D2")
    backfill.add_argument(
        "--dask-address", help="decide the nights in parallel on this Dask scheduler (tcp://host:port)"
    )
    _common(backfill)
    _simulate_parser(sub)
    _undo_parsers(sub)
    _serve_parser(sub)
    _explain_parser(sub)
    _generate_parser(sub)
    return parser


def _undo_parsers(sub) -> None:
    """vsb withdraw and vsb rebuild-state (README, Operator mistakes and how to undo them)."""
    withdraw = _subcommand(
        sub,
        "withdraw",
        "take back the latest published run of a kind (when no later run exists)",
        description="Removes the run's rows from the state in one transaction, moves its folder to "
        "<outbox>/withdrawn/ with _withdrawn.json and marks each zorgkas manifest withdrawn.",
    )
    withdraw.add_argument(
        "--as-of", type=_date, metavar=DATE, required=True, help="the run date D of the run to withdraw"
    )
    withdraw.add_argument(
        "--kind",
        required=True,
        choices=["nightly", "backfill", "invoices", "fines"],
        help="the run's kind (a backfill night is a nightly run)",
    )
    withdraw.add_argument("--reason", required=True, help="why (kept in _withdrawn.json)")
    _folders(withdraw)
    _debug(withdraw)
    rebuild = _subcommand(
        sub,
        "rebuild-state",
        "rebuild a lost state from the published folders",
        "Checks every published folder against its manifests and writes a new state (the --state "
        "file must not exist) from the runs' _state/ files.",
    )
    _folders(rebuild)
    _debug(rebuild)


def _serve_parser(sub) -> None:
    served = _subcommand(
        sub,
        "serve",
        "serve the flows with their schedules (needs a Prefect server)",
        "Serves the nightly, invoice and fine deployments with their schedules. The folders are "
        "required (or VSB_LANDING, VSB_OUTBOX, VSB_STATE). A scheduled run accepts no shrink or mass change "
        "and replaces nothing: run that one date by hand with vsb nightly --accept-... or trigger the "
        "deployment with --param accept_mass_change=true.",
    )
    _folders(served, sample_defaults=False)
    _debug(served)


def _explain_parser(sub) -> None:
    explain = _subcommand(
        sub,
        "explain",
        "the decision record of one person, month by month",
        "The decision record of one person on run date D, month by month, with the rule codes that hold and fail "
        "and the source records behind them; reads the landing zone only (no state, nothing written).",
    )
    explain.add_argument("insz", help="national or BIS number (11 digits)")
    explain.add_argument("--as-of", type=_date, metavar=DATE, required=True, help="run date D")
    explain.add_argument(
        "--lang",
        type=str.upper,
        choices=["NL", "FR"],
        default="NL",
        help="language of the record: NL (default) or FR",
    )
    explain.add_argument("--json", action="store_true", help="print the record as JSON (texts in --lang)")
    explain.add_argument("--reform", type=Path, help="a reform file: baseline and reform side by side")
    explain.add_argument(
        "--prefect",
        action="store_true",
        help="run as a Prefect flow even without a Prefect server (slower: starts a temporary one)",
    )
    _folders(explain)
    _debug(explain)


def _generate_parser(sub) -> None:
    generate = _subcommand(
        sub,
        "generate",
        "write a synthetic landing zone",
        "Writes a synthetic landing zone: two deliveries of every feed (--as-of and one month earlier) for about "
        "--members members, deterministic for a seed; no real person's data.",
    )
    generate.add_argument("--members", type=int, required=True, metavar="N", help="number of generated members")
    generate.add_argument(
        "--seed", type=int, default=1, metavar="N", help="random seed: the same seed gives the same files (default 1)"
    )
    generate.add_argument("--out", type=Path, required=True, metavar="FOLDER", help="the landing zone folder to write")
    generate.add_argument(
        "--as-of",
        type=_date,
        metavar=DATE,
        default=dt.date(2026, 11, 1),
        help="date of the newest delivery (the other is one month earlier)",
    )
    generate.add_argument(
        "--scenarios",
        action="store_true",
        help="add the reviewed scenario persons of synthdata/scenarios.py (as in the sample)",
    )
    generate.add_argument(
        "--force", action="store_true", help="write into a folder that is not empty (its generated deliveries replaced)"
    )
    _debug(generate)


def _simulate_parser(sub) -> None:
    simulate = _subcommand(
        sub,
        "simulate",
        "policy simulation: the decide stage under the baseline and reforms",
        "Policy simulation: reads the deliveries of D once and runs the decide stage under the baseline parameters "
        "and under each reform, side by side, into <outbox>/simulations/<name>/<D>/; changes no state and "
        "publishes nothing to the zorgkassen.",
    )
    simulate.add_argument("--as-of", type=_date, metavar=DATE, required=True, help="run date D (the deliveries of D)")
    simulate.add_argument("--reform", type=Path, action="append", required=True, help="a reform file (repeatable)")
    simulate.add_argument("--name", help="the simulation's folder name (default: the reform names joined by +)")
    simulate.add_argument("--dask-address", help="run the scenarios on this Dask scheduler (tcp://host:port)")
    simulate.add_argument(
        "--lang", type=str.upper, choices=["NL", "FR"], default="NL", help="language of report.html: NL (default) or FR"
    )
    _common(simulate, future=False)  # a simulation pays nothing: any date


def state_holder(args: argparse.Namespace) -> tuple[str, str] | None:
    """How a run command describes itself in the state's lock file (kind, run); None: it takes no lock."""
    if args.command == "nightly":
        return "nightly", args.as_of.isoformat()
    if args.command == "backfill":
        return "backfill", f"{args.first.isoformat()}..{args.last.isoformat()}"
    if args.command == "invoices":
        return "invoices", f"{args.year} on {args.as_of.isoformat()}"
    if args.command == "fines":
        return "fines", str(args.year)
    if args.command == "withdraw":
        return "withdraw", f"{args.kind} {args.as_of.isoformat()}"
    if args.command == "rebuild-state":
        return "rebuild-state", str(args.outbox)
    return None  # explain and generate read no state; serve's scheduled flows open it themselves


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_environment()
    if not args.debug and args.command != "serve":  # (serve shows its runs' logs) before Prefect is imported
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    today = brussels_today()  # the machine's clock, read once here: nothing below the command line reads it
    if args.command in ("nightly", "invoices"):
        args.as_of = args.as_of or today
    from flows import progress

    try:
        if args.command in (*RUN_COMMANDS, "simulate"):
            from flows.preflight import check_run

            check_run(args, today)  # before the lock and Prefect: a refused run leaves no file behind
        from flows.state.state import State

        holder = state_holder(args)
        before = not_there_yet(args.state, args.outbox) if holder else None
        with (
            State.open(args.state, *holder) if holder else nullcontext() as state,  # the run's one lock and state
            new_state_removed_on_failure(state, before) if holder else nullcontext(),
            prefect_server(args) as server,
        ):
            COMMANDS[args.command](args, server)
        sys.stdout.flush()  # here, not at exit: a reader gone (`| head`) is seen below
    except BrokenPipeError as exc:
        progress.stop_waiting()
        if not stdout_gone():  # a pipe of the run's own (a socket, a worker): a failure like any other
            return failed(args, exc)
        # the reader of the output went away (`vsb explain ... | head`): it read what it wanted; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no "Broken pipe" when Python exits
        return 0
    except KeyboardInterrupt:
        progress.stop_waiting()
        print(f"vsb {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the operator; the details are in the Prefect logs
        progress.stop_waiting()
        return failed(args, exc)
    finally:
        progress.stop_waiting()
    return 0


def stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (`vsb explain ... | head` after head's lines):
    the kernel flags the write end of such a pipe with POLLERR."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's captured output)
        return False


def brussels_today() -> dt.date:
    """Today's date in Brussels (flows/context.py TIMEZONE), without importing the engine."""
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo("Europe/Brussels")).date()


def not_there_yet(state: Path, outbox: Path | None) -> tuple[list[Path], list[Path]]:
    """The state's files (state, its WAL, its lock file) and the folders (the state's, the outbox) that do not
    exist before a run: what `new_state_removed_on_failure` removes (taken before the lock is)."""
    from flows.state.store import lock_path

    state = Path(state)
    files = [p for p in (state, state.with_name(state.name + ".wal"), lock_path(state)) if not p.exists()]
    return files, [Path(f) for f in (state.parent, outbox) if f is not None and not Path(f).exists()]


@contextmanager
def new_state_removed_on_failure(state, before: tuple[list[Path], list[Path]]):
    """A run on a state that did not exist yet and fails without committing anything (a feed refused during
    ingest, say) leaves no state file, no lock file and no empty folder behind (issue 20: a refused run leaves
    nothing). Runs inside the lock: the files are removed (the state closed first) while this process still
    holds it. `state`: the run's `State`; `before`: `not_there_yet`, taken before the lock."""
    created, folders = before
    try:
        yield
    except BaseException:
        state.close()
        if state.path in created and not _holds_runs(state.path):
            for path in created:
                path.unlink(missing_ok=True)
            for folder in folders:
                _remove_empty(folder)
        raise


def _remove_empty(folder: Path) -> None:
    """Remove `folder` and its subfolders when they hold no file."""
    if not folder.is_dir() or any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        return
    for sub in sorted((p for p in folder.rglob("*")), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    folder.rmdir()


def _holds_runs(state: Path) -> bool:
    """Whether the state holds any run (committed, published or not); True when it cannot be read."""
    if not state.exists():
        return False
    from flows.state.state import State

    try:
        with State.read_only(state) as looked:
            return looked.holds_runs()
    except Exception:
        return True


def failed(args: argparse.Namespace, exc: BaseException) -> int:
    """Print the failure in one line on stderr (and the traceback with --debug); returns the exit code."""
    shown = getattr(exc, "shown", None)  # what the command still prints (explain: the rows in quarantine)
    if shown:
        print(shown)
    if args.debug:
        traceback.print_exc()
    reason = " ".join(str(exc).split()) or type(exc).__name__
    print(f"vsb {args.command}: error: {with_advice(exc, reason)}", file=sys.stderr)
    # drop the frames' locals (an open DuckDB handle, frames): else the bindings report leaks at exit
    release_frames(exc)
    gc.collect()
    return 1


# a message that already says what to do ("...: pass --replace", "...; give the run its --landing")
ADVICE = re.compile(r"[:;] (give|pass|run|rerun|add|check|choose|wait|free|close|ask|an operator)\b")


def with_advice(exc: BaseException, reason: str) -> str:
    """The failure's line: what failed (the message) and, when the message does not say it, what to do."""
    if ADVICE.search(reason):
        return reason
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):  # a letter worker killed (the OOM killer, kill -9)
        return (
            "the letters step failed: a letter worker process ended abruptly (killed, or out of memory); nothing "
            "was published or committed: run again (free memory first if the system log shows the out-of-memory killer)"
        )
    from flows.io.landing import FeedError
    from pipelines.params import ParameterError

    if isinstance(exc, FeedError):
        return f"{reason}: ask the data provider for a corrected delivery (docs/spec/feeds.md), then run again"
    if isinstance(exc, ParameterError):
        return f"{reason}: add it to data/reference/parameters.yaml with its source, then run again"
    from pipelines.simulate.reform import ReformError

    if isinstance(exc, ReformError):
        return f"{reason}: correct the reform file (docs/simulation.md), then run again"
    return f"{reason}: run again with --debug for the details"


@contextmanager
def prefect_server(args: argparse.Namespace):
    """Prefect's temporary server, started now for a command that runs a flow when no server is configured
    (flows/runtime.py PrefectServer); None otherwise."""
    wanted = args.command in (*RUN_COMMANDS, "simulate") or getattr(args, "prefect", False)
    if not wanted or prefect_configured():
        yield None
        return
    server = PrefectServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _ready(args: argparse.Namespace, server: PrefectServer | None) -> None:
    """Show a spinner until the flow's first step, and wait for the temporary server (if any)."""
    from flows import progress

    if not getattr(args, "quiet", False):
        progress.start_waiting("starting Prefect" if server is not None else "starting")
    if server is not None:
        server.wait(timeout=float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))


def _run_options(args: argparse.Namespace) -> dict:
    """The folders and options every run flow takes; the folders absolute (the flow run's parameters in Prefect say
    which folders it worked on, whatever the command's working folder was)."""
    found = {
        "landing": args.landing.resolve(),
        "outbox": args.outbox.resolve(),
        "state": args.state.resolve(),
        "accept_shrink": tuple(args.accept_shrink),
        "accept_quarantine": tuple(args.accept_quarantine),
        "replace": args.replace,
        "quiet": args.quiet,
    }
    if hasattr(args, "accept_mass_change"):
        found["accept_mass_change"] = args.accept_mass_change
    return found


def nightly_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    _ready(args, server)
    from flows.nightly import run_nightly

    result = run_nightly(as_of=args.as_of, **_run_options(args))
    first = f"; completed first: {', '.join(result['completed'])}" if result.get("completed") else ""
    print(f"nightly {args.as_of.isoformat()}: {STATUS_WORDS[result['status']]} {result['path']}{first}")


def invoices_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    _ready(args, server)
    from flows.premium import run_invoices

    result = run_invoices(year=args.year, as_of=args.as_of, **_run_options(args))
    status = STATUS_WORDS[result["status"]]
    print(f"invoices {args.year} on {args.as_of.isoformat()}: {result['issued']:,} issued, {status} {result['path']}")


def fines_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    _ready(args, server)
    from flows.premium import run_fines

    result = run_fines(year=args.year, **_run_options(args))
    print(f"fines {args.year}: {result['proposed']:,} proposed, {STATUS_WORDS[result['status']]} {result['path']}")


def backfill_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    _ready(args, server)
    from flows.nightly import run_backfill

    results = run_backfill(first=args.first, last=args.last, dask_address=args.dask_address, **_run_options(args))
    counts = {s: sum(r["status"] == s for r in results) for s in ("published", "replaced", "identical")}
    print(
        f"backfill {args.first.isoformat()}..{args.last.isoformat()}: {len(results)} runs, "
        f"{counts['published']} published, {counts['replaced']} published again, "
        f"{counts['identical']} unchanged"
    )


def serve_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    missing = [f"--{name} (or {FOLDERS[name][0]})" for name in FOLDERS if getattr(args, name) is None]
    if missing:
        raise UsageError(f"vsb serve needs its folders: give {', '.join(missing)}")
    if not args.landing.is_dir():
        raise UsageError(f"the landing zone {args.landing} does not exist: give vsb serve its --landing")
    from flows.serve import serve_flows

    serve_flows(args.landing, args.outbox, args.state)


def explain_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    if args.reform:
        from flows.explain_reform import explain_reform

        print(explain_reform(args.insz, args.as_of, args.landing, args.reform, as_json=args.json, lang=args.lang))
        return
    if server is not None:
        _ready(args, server)
    from flows.explain import explain

    landing = args.landing.resolve()  # absolute in the flow run's parameters, as the run commands' (`_run_options`)
    print(explain(args.insz, args.as_of, landing, args.json, prefect=args.prefect or None, lang=args.lang))


def simulate_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    from flows.simulate import check_reforms, run_simulation, simulated_line

    check_reforms(args.reform, args.as_of, args.name)  # a wrong reform file: one line, before Prefect's start
    _ready(args, server)
    result = run_simulation(
        as_of=args.as_of,
        reforms=[reform.resolve() for reform in args.reform],  # absolute, as the folders (`_run_options`)
        landing=args.landing.resolve(),
        outbox=args.outbox.resolve(),
        name=args.name,
        dask_address=args.dask_address,
        accept_shrink=tuple(args.accept_shrink),
        accept_quarantine=tuple(args.accept_quarantine),
        quiet=args.quiet,
        lang=args.lang,
    )
    print(simulated_line(result))


def generate_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())) and not args.force:
        raise UsageError(f"{args.out} is not empty: choose an empty folder, or pass --force to write into it")
    from flows.progress import Steps
    from flows.reference import REFERENCE_DIR
    from synthdata.landing import write_landing, zorgkas_codes

    with Steps().step("generate") as shown:
        codes = zorgkas_codes(REFERENCE_DIR)
        summary = write_landing(args.out, args.members, args.seed, args.as_of, codes, scenarios=args.scenarios)
        shown["files"] = summary["files"]
    print(generated_summary(summary, args.out, args.scenarios))


def generated_summary(summary: dict, out: Path, scenarios: bool = False) -> str:
    """`vsb generate`'s result: one line (what, where, how much), then the rows of each feed per delivery."""
    deliveries = sorted({d for per_delivery in summary["rows"].values() for d in per_delivery})
    with_scenarios = " and the scenario persons" if scenarios else ""
    size = summary["bytes"]
    shown = f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"
    lines = [
        f"generated {summary['n_members']:,} members{with_scenarios} (seed {summary['seed']}) in {out}: "
        f"{len(summary['rows'])} feeds, {len(deliveries)} deliveries ({', '.join(deliveries)}), "
        f"{summary['files']:,} files, {shown}"
    ]
    width = max(len(feed) for feed in summary["rows"])
    lines.append(f"  {'rows per delivery':<{width}}" + "".join(f"  {d:>12}" for d in deliveries))
    for feed, per_delivery in summary["rows"].items():
        cells = "".join(f"  {per_delivery[d]:>12,}" if d in per_delivery else f"  {'-':>12}" for d in deliveries)
        lines.append(f"  {feed:<{width}}{cells}")
    return "\n".join(lines)


def withdraw_run(outbox: Path, state: Path, kind: str, day: dt.date, reason: str, now: str) -> dict:
    """The withdraw's work: the state open (its lock held), a pending withdraw and unpublished runs completed, then
    the withdraw. Returns the intent with `status` "withdrawn", or "completed" when this very withdraw was left
    interrupted."""
    from flows.publication.protocol import complete_unpublished
    from flows.state.state import State
    from flows.withdraw import complete_withdrawal, withdraw

    with State.open(state, "withdraw", f"{kind} {day}") as opened:
        pending = complete_withdrawal(opened, outbox)
        if pending and pending["kind"] == kind and pending["run_date"] == day.isoformat():
            return pending | {"status": "completed"}
        complete_unpublished(opened, Path(outbox), redo=lambda *_: False)
        return withdraw(outbox, opened, kind, day, reason, now) | {"status": "withdrawn"}


def withdraw_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    kind = "nightly" if args.kind == "backfill" else args.kind
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")  # read once, here
    done = withdraw_run(args.outbox, args.state, kind, args.as_of, args.reason, now)
    how = "withdrawn (an interrupted withdraw completed)" if done["status"] == "completed" else "withdrawn"
    print(
        f"{kind} {done['run_key']}: {how}, moved to {args.outbox / done['target']}: "
        "the zorgkassen must not execute its payments.xml"
    )


def rebuild_state_command(args: argparse.Namespace, server: PrefectServer | None) -> None:
    from flows.state.rebuild import rebuild_state

    done = rebuild_state(args.outbox, args.state)
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(done["by_kind"].items())) or "none"
    print(f"rebuilt {args.state} from {done['runs']} published runs of {args.outbox} ({kinds})")


COMMANDS = {
    "withdraw": withdraw_command,
    "rebuild-state": rebuild_state_command,
    "nightly": nightly_command,
    "invoices": invoices_command,
    "fines": fines_command,
    "backfill": backfill_command,
    "simulate": simulate_command,
    "serve": serve_command,
    "explain": explain_command,
    "generate": generate_command,
}


def run_command(args: argparse.Namespace, server: PrefectServer | None = None) -> None:
    """Run the subcommand and print its one-line result."""
    COMMANDS[args.command](args, server)


if __name__ == "__main__":
    sys.exit(main())
