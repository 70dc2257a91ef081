"""G-ABSENCE: lump sums for absence from an MFC or a residential facility for minors outside Flanders.

docs/spec/rules.md §4, exception to X-VAPH-MFC and X-VAPH-MINOR-OUTSIDE.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.decide.conditions import MONTHLY, e_residence, residence_from_year
from pipelines.params import Params, by_period
from pipelines.timeline import active_on
from schemas.outputs import Absences, columns

ABSENCE_KINDS = ["MFC_FULLTIME", "MINOR_RESIDENTIAL_OUTSIDE_VL"]
ABSENCE_COLUMNS = columns(Absences)


def absence_day(school_year: pl.Expr) -> pl.Expr:
    """The day the absence budgets of school year Y fall on: 31 August Y+1, the last day of the school year."""
    return pl.date(school_year + 1, 8, 31)


def absence_quantity(p: Params) -> pl.Expr:
    """More than absence_two_days days: two care budgets; more than absence_one_days: one; else none.

    Both read on 31 August Y+1 of the record's school year Y (local decision: the thresholds in force at the
    end of the school year whose absences they count)."""
    days, day = pl.col("absence_days"), absence_day(pl.col("school_year"))
    two, one = p.read_on("absence_two_days", day), p.read_on("absence_one_days", day)
    return pl.when(days > two).then(2).when(days > one).then(1).otherwise(0)


def absence_records(vaph: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """Per person and school year with absence budgets: the highest count of its records (not the sum), their
    evidence and the day they fall on (`absence_date`, 31 August Y+1)."""
    return (
        vaph.filter(pl.col("support_kind").is_in(ABSENCE_KINDS) & pl.col("school_year").is_not_null())
        .with_columns(absence_quantity(p).alias("quantity"))
        .filter(pl.col("quantity") > 0)
        .group_by("insz", "school_year")
        .agg(
            pl.col("quantity").max(),
            pl.format("vaph_support:{}", pl.col("record_id")).sort().alias("evidence"),
        )
        .with_columns(absence_day(pl.col("school_year")).alias("absence_date"))
    )


def _running_episode(with_member: pl.LazyFrame, episodes: pl.LazyFrame) -> pl.LazyFrame:
    """(insz, school_year) whose absence day lies in a care-need episode whose right started on or before it."""
    day = pl.col("absence_date")
    return (
        with_member.select("insz", "school_year", "absence_date")
        .join(episodes, on="insz")
        .filter(
            (pl.col("episode_start") <= day)
            & (pl.col("episode_end").is_null() | (day <= pl.col("episode_end")))
            & (pl.col("right_from") <= day)
        )
        .select("insz", "school_year", pl.lit(True).alias("running_episode"))
        .unique()
    )


def _judged(
    records: pl.LazyFrame, members: pl.LazyFrame, episodes: pl.LazyFrame, residence: pl.LazyFrame, p: Params, run_date
) -> pl.LazyFrame:
    """The records of members with the conditions on their absence day: running_episode, affiliated, alive,
    e_residence (as for the month of the day, with the adult_age and residence_years in force on its first day)."""
    day = pl.col("absence_date")
    member_columns = [
        "insz",
        "zorgkas",
        "birth_date",
        "death_date",
        "affiliation_start",
        "affiliation_end",
        "eu_insured_since",
    ]
    with_member = records.join(members.select(member_columns), on="insz", how="inner")
    judged = with_member.join(
        _running_episode(with_member, episodes), on=["insz", "school_year"], how="left"
    ).with_columns(
        pl.col("running_episode").fill_null(False),
        active_on(pl.col("affiliation_start"), pl.col("affiliation_end"), day).alias("affiliated"),
        (pl.col("death_date").is_null() | (day <= pl.col("death_date"))).alias("alive"),
        # E-RESIDENCE is judged as for the month of 31 August Y+1
        day.dt.truncate("1mo").alias("month"),
    )

    def resident(part: pl.LazyFrame, q: Params) -> pl.LazyFrame:
        years = residence_from_year(residence, q, run_date)
        return part.join(years, on="insz", how="left").with_columns(e_residence(q))

    return by_period(judged, p.periods(MONTHLY), resident, "month")


def _codes(checks: dict[str, pl.Expr], holding: bool) -> pl.Expr:
    """The codes of `checks` that hold (or fail), in their order, as a list."""
    none = pl.lit([], pl.List(pl.String))
    return pl.concat_list([pl.when(v if holding else ~v).then(pl.lit([k])).otherwise(none) for k, v in checks.items()])


def g_absence(
    vaph: pl.LazyFrame,
    members: pl.LazyFrame,
    episodes: pl.LazyFrame,
    residence: pl.LazyFrame,
    zzb_amounts: pl.DataFrame,
    p: Params,
    run_date: dt.date,
    window_first: dt.date,
) -> pl.LazyFrame:
    """G-ABSENCE: one row per person and school year with absence budgets (ABSENCE_COLUMNS).

    For a record of MFC_FULLTIME or MINOR_RESIDENTIAL_OUTSIDE_VL with school_year Y: more than
    30 days absent gives one care budget, more than 100 gives two; several records of the same
    person and school year give the highest count, not the sum. Due only when 31 August Y+1 is
    before the run date and in the window, and on that day the person has a running file
    (affiliated and alive, and a care-need episode contains the day and its right started on
    or before it); E-RESIDENCE as for the month of 31 August Y+1. Amount per budget: the ZZB
    monthly amount in force on 31 August Y+1. `residence`: the residence_periods rows of the persons with
    absence records; the thresholds are read on 31 August Y+1 (`absence_quantity`).
    """
    judged = _judged(absence_records(vaph, p), members, episodes, residence, p, run_date)
    day = pl.col("absence_date")
    checks = {
        "E-AFFILIATED": pl.col("affiliated"),
        "E-ALIVE": pl.col("alive"),
        "ZZB-START": pl.col("running_episode"),
        "E-RESIDENCE": pl.col("e_residence"),
    }
    due = (day < run_date) & (day >= window_first) & pl.all_horizontal(list(checks.values()))
    priced = judged.join_where(
        zzb_amounts.lazy(), pl.col("absence_date") >= pl.col("from_date"), pl.col("absence_date") <= pl.col("to_date")
    )
    return priced.select(
        "insz",
        "zorgkas",
        "school_year",
        pl.col("absence_date").alias("month"),
        pl.col("quantity").cast(pl.Int64),
        (pl.col("amount") * pl.col("quantity")).cast(pl.Decimal(12, 2)).alias("amount"),
        due.alias("due"),
        pl.concat_list(pl.lit(["G-ABSENCE"]), _codes(checks, True)).alias("holds"),
        _codes(checks, False).alias("fails"),
        pl.col("evidence"),
    )
