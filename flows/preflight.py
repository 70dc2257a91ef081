"""What a run command checks before it takes the state's lock and starts Prefect (docs/spec/outputs.md).

Fail fast: the folders, the state file, the run dates, the options and the deliveries of the first
run date are checked here, in the command's own process, before anything is written and before
Prefect's temporary server starts: a run refused here leaves no file behind (no state, no lock
file) and says why in one line, within a second for a missing landing zone. The flows check the
same again when they run (a scheduled run comes without the command line).

Today's date is read once, by the command line (flows/cli.py main), and handed in here: nothing below
the command reads the clock to decide whether a date lies in the future.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


class Refused(Exception):
    """A run command refused before it starts: one line naming the date, folder or option, and what to do."""


def future_date(command: str, run_date: dt.date, today: dt.date, what: str = "run date") -> Refused:
    return Refused(
        f"the {what} {run_date.isoformat()} is after today's date {today.isoformat()}: give a date up to today "
        "(a run decides, pays and dates its letters as of its date), or pass --allow-future-date for a test "
        "(vsb simulate needs none)"
    )


def run_dates(args: argparse.Namespace, reference) -> tuple[dt.date, dt.date]:
    """The first and the last run date of a run command (fines: the fine reference date of the year)."""
    if args.command == "backfill":
        return args.first, args.last
    if args.command == "fines":
        from pipelines.premium.fines import fine_reference_date

        day = fine_reference_date(args.year, reference.parameters.params_on(dt.date(args.year, 1, 1)))
        return day, day
    return args.as_of, args.as_of


def check_date(args: argparse.Namespace, today: dt.date, reference) -> tuple[dt.date, dt.date]:
    """The command's run dates, refused when the last is after today (without --allow-future-date) or before
    the first. Without `reference`, fines (whose date is a parameter) are not checked yet."""
    if args.command == "fines" and reference is None:
        return today, today
    first, last = run_dates(args, reference)
    if args.command == "backfill" and last < first:
        raise Refused(f"--to {last.isoformat()} is before --from {first.isoformat()}: give --from the earlier date")
    if last > today and not args.allow_future_date:
        what = {"fines": "fine reference date", "invoices": "invoice date"}.get(args.command, "run date")
        raise future_date(args.command, last, today, what)
    return first, last


def check_folders(args: argparse.Namespace) -> None:
    """The landing zone exists, the outbox is not a file, and the state is a vsb state (or a new path)."""
    landing = args.landing
    if not Path(landing).is_dir():
        what = "is not a folder" if Path(landing).exists() else "does not exist"
        raise Refused(f"the landing zone {landing} {what}: give the run its --landing (or VSB_LANDING)")
    outbox = getattr(args, "outbox", None)
    if outbox is not None and Path(outbox).exists() and not Path(outbox).is_dir():
        raise Refused(f"the outbox {outbox} is a file, not a folder: give the run its --outbox (or VSB_OUTBOX)")
    state = getattr(args, "state", None)
    if state is not None and args.command != "simulate":
        from flows.state.store import check_state_file

        check_state_file(Path(state))


def check_feed_options(args: argparse.Namespace) -> None:
    """--accept-shrink and --accept-quarantine name feeds of the contract."""
    from schemas.feeds import FEEDS

    for option in ("accept_shrink", "accept_quarantine"):
        unknown = sorted(set(getattr(args, option, ()) or ()) - set(FEEDS))
        if unknown:
            flag = "--" + option.replace("_", "-")
            raise Refused(f"{flag} names no feed: {', '.join(unknown)}; give one of {', '.join(FEEDS)}")


def check_run(args: argparse.Namespace, today: dt.date) -> None:
    """Every check of a run command that needs no Prefect and writes nothing; raises Refused (or the feed,
    parameter or state error) in one line."""
    check_folders(args)  # first: a missing landing zone is refused before anything is imported
    if args.command != "simulate":  # a simulation changes no state and publishes nothing: any date
        check_date(args, today, None)  # (fines: once the parameters give the fine reference date)
    check_feed_options(args)
    if args.command == "simulate":
        return
    from flows.context import Options, start
    from flows.reference import load_reference

    reference = load_reference()
    first, _ = check_date(args, today, reference)
    year = getattr(args, "year", None)
    if args.command == "invoices":
        p = reference.parameters.params_on(dt.date(year, 1, 1))
        p.premium_normal, p.premium_reduced  # noqa: B018 (a year without its amounts: ParameterError, one line)
    options = Options(frozenset(args.accept_shrink), accept_quarantine=frozenset(args.accept_quarantine))
    feeds = RUN_FEEDS.get(args.command)
    extra = {"feeds": feeds} if feeds else {}
    start(args.command, first, args.landing, args.outbox, args.state, options, year=year, reference=reference, **extra)


# the feeds each run reads (flows/premium.py INVOICE_FEEDS, FINE_FEEDS; the nights read every feed)
RUN_FEEDS = {
    "invoices": ("members", "residence_periods", "increased_allowance"),
    "fines": ("members", "premium_payments", "increased_allowance"),
}
