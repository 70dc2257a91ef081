"""Holds and guards of a run (docs/spec/rules.md §8 S-HOLD, S-MASS-CHANGE; §5 W-MEMBER-MISSING, W-HELD).

A held person's last decisions stand: no event, payment, recovery, letter or other work-list row is
built from their partial data this run (pipelines/settle/settlement.py applies the holds).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.ingest.insz import r_id_valid

EMPTY_CODES = pl.lit([], pl.List(pl.String))
NO_DUE = pl.lit(None, pl.Date).alias("due")  # a work-list row without a legal term


def s_hold(quarantines: dict[str, pl.DataFrame], missing: pl.DataFrame | None, run_year: int) -> pl.DataFrame:
    """S-HOLD: a person (valid insz) with a quarantined row in any of the eight feeds of this run, or listed
    as W-MEMBER-MISSING, is held: their last decisions stand, no event, payment or recovery is emitted for
    them in this run, and the hold is reported. Their only work-list row is W-HELD: no other W- row and no
    letter is built from their partial data.

    docs/spec/rules.md §8. Gives the held persons with the reason of each hold: insz, feed, rule (`missing`: the
    W-MEMBER-MISSING rows, or None, held as rule W-MEMBER-MISSING of feed members). The settlement leaves them out
    of every event, payment, recovery and letter, and keeps only their hold rows on the work list
    (`hold_rows`).
    """
    rows = [
        quarantine.select(pl.col("row").str.json_path_match("$.insz").alias("insz"), pl.lit(feed).alias("feed"), "rule")
        for feed, quarantine in quarantines.items()
    ]
    if missing is not None:
        rows.append(missing.select("insz", pl.lit("members").alias("feed"), pl.lit("W-MEMBER-MISSING").alias("rule")))
    found = pl.concat(rows) if rows else pl.DataFrame(schema={"insz": pl.String, "feed": pl.String, "rule": pl.String})
    return found.filter(r_id_valid(pl.col("insz"), run_year).fill_null(False)).unique().sort("insz", "feed", "rule")


def hold_rows(worklist: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """The work list without the rows of held persons other than their hold rows (held, missing member):
    nothing is asked of them from this run's partial data."""
    hold_codes = ["W-HELD", "W-MEMBER-MISSING"]
    of_held = pl.col("insz").is_in(held["insz"].implode()) & ~pl.col("code").is_in(hold_codes)
    return worklist.filter(~of_held)


def w_member_missing(open_grants: pl.DataFrame, members: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """W-MEMBER-MISSING: a person with an active (open) grant is not in the members feed, and no affiliation
    end or death explains it: the grant is held, not stopped."""
    # the members among the grant holders first: a hash of the grant holders, not of 7M members
    present = members.select("insz").join(open_grants.select("insz").unique(), on="insz", how="semi")
    gone = open_grants.join(present, on="insz", how="anti")
    return (
        gone.group_by("insz")
        .agg(pl.col("zorgkas").first(), pl.col("first_month").min())
        .select(
            "insz",
            "zorgkas",
            pl.lit("W-MEMBER-MISSING").alias("code"),
            pl.lit(run_date).alias("since"),
            pl.lit("open grant, person missing from the members feed").alias("detail"),
            EMPTY_CODES.alias("evidence"),
            NO_DUE,
        )
    )


def w_held(held: pl.DataFrame, zorgkas_of: pl.DataFrame, run_date: dt.date) -> pl.DataFrame:
    """W-HELD: the person is held this run: the row names the quarantine rule and feed; the zorgkas or the
    data provider corrects the source (docs/spec/rules.md §5)."""
    return (
        held.join(zorgkas_of, on="insz", how="inner")
        .group_by("insz", "zorgkas")
        .agg(pl.format("{} in {}", pl.col("rule"), pl.col("feed")).sort().str.join(", ").alias("detail"))
        .select(
            "insz",
            "zorgkas",
            pl.lit("W-HELD").alias("code"),
            pl.lit(run_date).alias("since"),
            pl.format("held: {}", pl.col("detail")).alias("detail"),
            EMPTY_CODES.alias("evidence"),
            NO_DUE,
        )
    )


def s_mass_change(events: pl.DataFrame, previous_open: int, p_stop: float, p_new: float) -> str | None:
    """S-MASS-CHANGE: a reason to refuse the run when it would stop more than max_stop_fraction of the active
    grants or start more than max_new_fraction; None when it may go on. A first run (no active grant) is exempt."""
    if previous_open == 0:
        return None
    stopped = events.filter(pl.col("event").is_in(["STOPPED", "CANCELLED"])).height
    new = events.filter(pl.col("event") == "NEW").height
    if stopped > p_stop * previous_open:
        return (
            f"S-MASS-CHANGE: this run would stop {stopped} of {previous_open} active grants "
            f"(more than {p_stop:.0%}); pass --accept-mass-change if that is right"
        )
    if new > p_new * previous_open:
        return (
            f"S-MASS-CHANGE: this run would start {new} grants against {previous_open} active ones "
            f"(more than {p_new:.0%}); pass --accept-mass-change if that is right"
        )
    return None
