"""Care need: the grounds of the ZZB and their active intervals, merged into episodes (docs/spec/rules.md §2).

Every ground function gives one row per qualifying record: insz, ground (its rule code),
evidence ("feed:record id"), start_date, end_date (null: open). Records whose interval is
empty (superseded on the day they start) are left out.
"""

from __future__ import annotations

import polars as pl

from pipelines.params import Params, Period
from pipelines.timeline import OPEN_END, closed_end, offset_months, open_end

HOME_CARE_SERVICES = ["GEZINSZORG", "AANVULLENDE_THUISZORG"]
MEDSOC_KINDS = ["IT", "THAB", "ZBO"]
CARE_HOMES = ["WZC", "PVT"]
ONE_DAY = pl.duration(days=1)
# read on first(M) for each month M a ground's interval covers (`all_grounds`)
THRESHOLDS = ("belrai_total_min", "belrai_adl_iadl_min", "medsoc_min", "ztk_min")


def _interval(frame: pl.LazyFrame, ground: str, feed: str, id_col: str) -> pl.LazyFrame:
    return frame.select(
        pl.col("insz"),
        pl.lit(ground).alias("ground"),
        pl.format("{}:{}", pl.lit(feed), pl.col(id_col)).alias("evidence"),
        pl.col("start_date"),
        pl.col("end_date"),
    ).filter(pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("start_date")))


def belrai_qualifies(p: Params) -> pl.Expr:
    """The screener proves severe care need: a recognised home-care service, and a high enough score."""
    home_care = pl.col("service_kind").is_in(HOME_CARE_SERVICES)
    severe = (pl.col("total_score") >= p.belrai_total_min) | (
        pl.col("adl_score") + pl.col("iadl_score") >= p.belrai_adl_iadl_min
    )
    return (home_care & pl.col("service_recognised") & severe).fill_null(False)


def g_belrai(screeners: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-BELRAI: a recognised home-care service's screener proves severe care need.

    docs/spec/rules.md §2. Active from assessment_date until the earliest of valid_until and the day
    before the person's next screener (any service kind, whatever its score; ties broken by
    assessment_id). The minimums are those of `p`; `all_grounds` reads them on first(M) for each month M
    the interval covers (a score of 12.5 is a ground in the months whose first day has a minimum of 12).
    """
    order = ["assessment_date", "assessment_id"]
    next_screener = pl.col("assessment_date").shift(-1).over("insz", order_by=order)
    return _interval(
        screeners.with_columns(
            pl.col("assessment_date").alias("start_date"),
            pl.min_horizontal(pl.col("valid_until"), next_screener - ONE_DAY).alias("end_date"),
        ).filter(belrai_qualifies(p)),
        "G-BELRAI",
        "belrai_screeners",
        "assessment_id",
    )


def _scale_intervals(scales: pl.LazyFrame) -> pl.LazyFrame:
    """Active from valid_from until the earliest of valid_until and the day before the next decision's
    valid_from, per person and scale kind (order: valid_from, decision_date, decision_id)."""
    order = ["valid_from", "decision_date", "decision_id"]
    next_from = pl.col("valid_from").shift(-1).over(["insz", "scale_kind"], order_by=order)
    return scales.with_columns(
        pl.col("valid_from").alias("start_date"),
        pl.min_horizontal(pl.col("valid_until"), next_from - ONE_DAY).alias("end_date"),
    )


def g_medsoc(scales: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-MEDSOC: an IT, THAB or ZBO scale with score >= medsoc_min (docs/spec/rules.md §2).

    medsoc_min as G-BELRAI reads its minimums: on first(M) for each month M of the interval (`all_grounds`)."""
    qualifies = pl.col("scale_kind").is_in(MEDSOC_KINDS) & (pl.col("score") >= p.medsoc_min)
    return _interval(
        _scale_intervals(scales).filter(qualifies.fill_null(False)), "G-MEDSOC", "medsoc_scales", "decision_id"
    )


def g_ztk(scales: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-ZTK: a ZTK scale whose three pillars add up to >= ztk_min (docs/spec/rules.md §2); same interval rule.

    ztk_min read on first(M) for each month M of the interval (`all_grounds`)."""
    pillars = pl.col("pillar_1") + pl.col("pillar_2") + pl.col("pillar_3")
    qualifies = (pl.col("scale_kind") == "ZTK") & (pillars >= p.ztk_min)
    return _interval(
        _scale_intervals(scales).filter(qualifies.fill_null(False)), "G-ZTK", "medsoc_scales", "decision_id"
    )


def facility_is_automatic_ground() -> pl.Expr:
    """A WZC or PVT in Flanders, recognised by Flanders, with no special category."""
    return (
        pl.col("facility_kind").is_in(CARE_HOMES)
        & (pl.col("facility_region") == "VL")
        & pl.col("recognised_by_flanders")
        & pl.col("special_category").is_null()
    ).fill_null(False)


def g_facility(stays: pl.LazyFrame) -> pl.LazyFrame:
    """G-FACILITY: a stay in a recognised WZC or PVT in Flanders without special category (docs/spec/rules.md §2).

    Service flats, short stay and day care count as living at home: no ground.
    """
    return _interval(
        stays.filter(facility_is_automatic_ground()).with_columns(
            pl.col("admission_date").alias("start_date"), pl.col("discharge_date").alias("end_date")
        ),
        "G-FACILITY",
        "facility_stays",
        "stay_id",
    )


def _within(grounds: pl.LazyFrame, period: Period) -> pl.LazyFrame:
    """The ground intervals cut to the days of the months of `period` (where its minimums are in force)."""
    start, end = pl.col("start_date"), pl.col("end_date")
    if period.first is not None:
        start = pl.max_horizontal(start, pl.lit(period.first))
    if period.last is not None:
        last_day = pl.lit(period.last).dt.month_end()
        end = pl.when(end.is_null()).then(last_day).otherwise(pl.min_horizontal(end, last_day))
    cut = grounds.with_columns(start.alias("start_date"), end.alias("end_date"))
    return cut.filter(pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("start_date")))


def all_grounds(screeners: pl.LazyFrame, scales: pl.LazyFrame, stays: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """Every ground interval of §2. The minimums of G-BELRAI, G-MEDSOC and G-ZTK are read on first(M) for each
    month M an interval covers: where one changes (a `from` date; one from the 15th holds from the next month),
    each record is judged with the minimums of each run of months and its interval cut to the months where it
    proves care need. Constant minimums (the usual case): one judgement, nothing cut."""
    periods = p.periods(THRESHOLDS)
    if len(periods) == 1 and periods[0].unbounded:
        q = periods[0].params
        return pl.concat([g_belrai(screeners, q), g_medsoc(scales, q), g_ztk(scales, q), g_facility(stays)])
    scored = [
        _within(pl.concat([g_belrai(screeners, q.params), g_medsoc(scales, q.params), g_ztk(scales, q.params)]), q)
        for q in periods
    ]
    return pl.concat([*scored, g_facility(stays)])


def zzb_start(grounds: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """ZZB-START: care-need episodes and the right they give (docs/spec/rules.md §2).

    Ground intervals that overlap or touch (the next starts at most one day after the previous
    ends) form one episode [es, ee]. Its right runs from the first day of the month
    `ground_delay_months` after month(es) through the month that contains ee (right_until is
    that month's first day; null while the episode is open). ground_delay_months is read on es, the
    day the episode starts (local decision: the delay in force when the care need is first proven).
    One row per episode: insz, episode_start, episode_end, right_from, right_until.
    """
    order = ["start_date", "end_date"]
    delay = p.read_on("ground_delay_months", pl.col("episode_start"))
    ends = grounds.with_columns(open_end(pl.col("end_date")).alias("_end"))
    previous_max_end = pl.col("_end").cum_max().shift(1).over("insz", order_by=order)
    new_episode = (previous_max_end.is_null() | (pl.col("start_date") > previous_max_end + ONE_DAY)).cast(pl.Int32)
    episodes = (
        ends.with_columns(new_episode.cum_sum().over("insz", order_by=order).alias("episode"))
        .group_by("insz", "episode")
        .agg(pl.col("start_date").min().alias("episode_start"), pl.col("_end").max().alias("_episode_end"))
    )
    return episodes.select(
        "insz",
        "episode_start",
        closed_end(pl.col("_episode_end")).alias("episode_end"),
        offset_months(pl.col("episode_start").dt.truncate("1mo"), delay).alias("right_from"),
        pl.when(pl.col("_episode_end") == OPEN_END)
        .then(None)
        .otherwise(pl.col("_episode_end").dt.truncate("1mo"))
        .alias("right_until"),
    )
