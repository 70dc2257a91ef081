"""The `vsb` command (outputs.md, "Command line").

Every run subcommand runs a Prefect flow (local ephemeral mode unless PREFECT_API_URL is
set) and exits non-zero with a one-line reason on failure: no Python or Prefect traceback on
the terminal unless `--debug` (Prefect's console shows only critical records; the run's
records still go to the Prefect API). A run command takes the state's lock before anything
else, so that a second run on the same state exits at once, naming the run that holds it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import traceback
from contextlib import contextmanager, nullcontext
from pathlib import Path

from flows.runtime import PrefectServer, configure_environment, prefect_configured, release_frames

# how a run's publication ends, for the one line printed
STATUS_WORDS = {"published": "published", "replaced": "published again", "identical": "unchanged, already"}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing",
        type=Path,
        default=Path(os.environ.get("VSB_LANDING", "data/sample/landing")),
        help="landing zone of the feeds (VSB_LANDING; default data/sample/landing)",
    )
    parser.add_argument(
        "--outbox",
        type=Path,
        default=Path(os.environ.get("VSB_OUTBOX", "out")),
        help="where runs are published (VSB_OUTBOX; default out)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=Path(os.environ.get("VSB_STATE", "state/vsb.duckdb")),
        help="state database (VSB_STATE; default state/vsb.duckdb)",
    )
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
        "--replace",
        action="store_true",
        help="publish a date again as <D>.v2 when its result differs from the published one",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    _debug(parser)


def _debug(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="on failure, show the traceback and Prefect's own log on the terminal"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vsb", description="Flemish care budgets: the automatic grant engine")
    sub = parser.add_subparsers(dest="command", required=True)
    nightly = sub.add_parser("nightly", help="the nightly run for a date (default: today)")
    nightly.add_argument("--as-of", type=_date, default=None, help="run date D (default: today)")
    _common(nightly)
    invoices = sub.add_parser(
        "invoices", help="the yearly care premium invoice run (rerun: only invoices not yet issued)"
    )
    invoices.add_argument("--year", type=int, required=True, help="premium year Y")
    invoices.add_argument("--as-of", type=_date, default=None, help="invoice date D (default: today)")
    _common(invoices)
    fines = sub.add_parser("fines", help="the fine-candidate run on the fine reference date of a year")
    fines.add_argument("--year", type=int, required=True, help="fine year F (judged on 15 October F)")
    _common(fines)
    backfill = sub.add_parser("backfill", help="the nightly runs for every date D1..D2, in order")
    backfill.add_argument("--from", dest="first", type=_date, required=True, help="first run date D1")
    backfill.add_argument("--to", dest="last", type=_date, required=True, help="last run date D2")
    backfill.add_argument(
        "--dask-address", help="decide the nights in parallel on this Dask scheduler (tcp://host:port)"
    )
    _common(backfill)
    _simulate_parser(sub)
    served = sub.add_parser("serve", help="serve the flows with their schedules (needs a Prefect server)")
    _common(served)
    explain = sub.add_parser("explain", help="the decision record of one person, month by month")
    explain.add_argument("insz", help="national or BIS number (11 digits)")
    explain.add_argument("--as-of", type=_date, required=True, help="run date D")
    explain.add_argument("--json", action="store_true", help="print the record as JSON")
    explain.add_argument("--reform", type=Path, help="a reform file: baseline and reform side by side")
    explain.add_argument(
        "--prefect",
        action="store_true",
        help="run as a Prefect flow even without a Prefect server (slower: starts a temporary one)",
    )
    _common(explain)
    generate = sub.add_parser("generate", help="write a synthetic landing zone")
    generate.add_argument("--members", type=int, required=True)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument(
        "--as-of",
        type=_date,
        default=dt.date(2026, 11, 1),
        help="date of the newest delivery (the other is one month earlier)",
    )
    generate.add_argument(
        "--scenarios",
        action="store_true",
        help="add the reviewed scenario persons of synthdata/scenarios.py (as in the sample)",
    )
    _debug(generate)
    return parser


def _simulate_parser(sub) -> None:
    simulate = sub.add_parser("simulate", help="policy simulation: the decide stage under the baseline and reforms")
    simulate.add_argument("--as-of", type=_date, required=True, help="run date D (the deliveries of D)")
    simulate.add_argument("--reform", type=Path, action="append", required=True, help="a reform file (repeatable)")
    simulate.add_argument("--name", help="the simulation's folder name (default: the reform names joined by +)")
    simulate.add_argument("--dask-address", help="run the scenarios on this Dask scheduler (tcp://host:port)")
    _common(simulate)


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
    return None  # explain and generate read no state; serve's scheduled flows take the lock themselves


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_environment()
    if not args.debug and args.command != "serve":  # (serve shows its runs' logs) before Prefect is imported
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    if args.command in ("nightly", "invoices"):
        from flows.context import today

        args.as_of = args.as_of or today()
    try:
        from flows.state.store import hold_state

        holder = state_holder(args)
        with hold_state(args.state, *holder) if holder else nullcontext(), prefect_server(args) as server:
            run_command(args, server)
    except KeyboardInterrupt:
        print(f"vsb {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the operator; the details are in the Prefect logs
        if args.debug:
            traceback.print_exc()
        reason = " ".join(str(exc).split()) or type(exc).__name__
        print(f"vsb {args.command}: error: {reason}", file=sys.stderr)
        # drop the frames' locals (an open DuckDB handle, frames): else the bindings report leaks at exit
        release_frames(exc)
        gc.collect()
        return 1
    return 0


@contextmanager
def prefect_server(args: argparse.Namespace):
    """Prefect's temporary server, started now for a command that runs a flow when no server is configured
    (flows/runtime.py PrefectServer); None otherwise."""
    wanted = args.command in ("nightly", "invoices", "fines", "backfill", "simulate") or getattr(args, "prefect", False)
    if not wanted or prefect_configured():
        yield None
        return
    server = PrefectServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _ready(server: PrefectServer | None) -> None:
    """Wait for the temporary server (if any) before the first flow call."""
    if server is not None:
        server.wait(timeout=float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))


def run_command(args: argparse.Namespace, server: PrefectServer | None = None) -> None:
    """Run the subcommand and print its one-line result."""
    if args.command == "nightly":
        from flows.nightly import run_nightly

        _ready(server)
        as_of = args.as_of
        result = run_nightly(
            as_of=as_of,
            landing=args.landing,
            outbox=args.outbox,
            state=args.state,
            accept_shrink=tuple(args.accept_shrink),
            accept_mass_change=args.accept_mass_change,
            replace=args.replace,
            quiet=args.quiet,
        )
        print(f"nightly {as_of.isoformat()}: {STATUS_WORDS[result['status']]} {result['path']}")
    elif args.command == "invoices":
        from flows.premium import run_invoices

        _ready(server)
        as_of = args.as_of
        result = run_invoices(
            year=args.year,
            as_of=as_of,
            landing=args.landing,
            outbox=args.outbox,
            state=args.state,
            accept_shrink=tuple(args.accept_shrink),
            replace=args.replace,
            quiet=args.quiet,
        )
        print(
            f"invoices {args.year} on {as_of.isoformat()}: {result['issued']:,} issued, "
            f"{STATUS_WORDS[result['status']]} {result['path']}"
        )
    elif args.command == "fines":
        from flows.premium import run_fines

        _ready(server)
        result = run_fines(
            year=args.year,
            landing=args.landing,
            outbox=args.outbox,
            state=args.state,
            accept_shrink=tuple(args.accept_shrink),
            replace=args.replace,
            quiet=args.quiet,
        )
        print(f"fines {args.year}: {result['proposed']:,} proposed, {STATUS_WORDS[result['status']]} {result['path']}")
    elif args.command == "backfill":
        from flows.nightly import run_backfill

        _ready(server)
        results = run_backfill(
            first=args.first,
            last=args.last,
            landing=args.landing,
            outbox=args.outbox,
            state=args.state,
            accept_shrink=tuple(args.accept_shrink),
            accept_mass_change=args.accept_mass_change,
            replace=args.replace,
            quiet=args.quiet,
            dask_address=args.dask_address,
        )
        counts = {s: sum(r["status"] == s for r in results) for s in ("published", "replaced", "identical")}
        print(
            f"backfill {args.first.isoformat()}..{args.last.isoformat()}: {len(results)} runs, "
            f"{counts['published']} published, {counts['replaced']} published again, "
            f"{counts['identical']} unchanged"
        )
    elif args.command == "serve":
        from flows.serve import serve_flows

        serve_flows(args.landing, args.outbox, args.state)
    elif args.command == "explain" and args.reform:
        from flows.explain_reform import explain_reform

        print(explain_reform(args.insz, args.as_of, args.landing, args.reform, as_json=args.json))
    elif args.command == "explain":
        from flows.explain import explain

        _ready(server)
        print(explain(args.insz, args.as_of, args.landing, as_json=args.json, prefect=args.prefect or None))
    elif args.command == "simulate":
        from flows.simulate import check_reforms, run_simulation, simulated_line

        check_reforms(args.reform, args.as_of, args.name)  # a wrong reform file: one line, before Prefect's start
        _ready(server)
        print(simulated_line(run_simulation(
            as_of=args.as_of, reforms=args.reform, landing=args.landing, outbox=args.outbox, name=args.name,
            dask_address=args.dask_address, accept_shrink=tuple(args.accept_shrink), quiet=args.quiet,
        )))  # fmt: skip
    elif args.command == "generate":
        from flows.reference import REFERENCE_DIR
        from synthdata.landing import write_landing, zorgkas_codes

        summary = write_landing(
            args.out, args.members, args.seed, args.as_of, zorgkas_codes(REFERENCE_DIR), scenarios=args.scenarios
        )
        print(f"generated {args.members:,} members in {args.out}: {summary}")


if __name__ == "__main__":
    sys.exit(main())
