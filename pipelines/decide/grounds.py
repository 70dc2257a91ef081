"""Care need: the grounds of the ZZB and their active intervals, merged into episodes (docs/spec/rules.md §2).

Every ground function gives one row per qualifying record: insz, ground (its rule code),
evidence ("feed:record id"), start_date, end_date (null: open). Records whose interval is
empty (superseded on the day they start) are left out.
"""

from __future__ import annotations

import polars as pl

from pipelines.params import Params
from pipelines.timeline import OPEN_END, closed_end, open_end

HOME_CARE_SERVICES = ["GEZINSZORG", "AANVULLENDE_THUISZORG"]
MEDSOC_KINDS = ["IT", "THAB", "ZBO"]
CARE_HOMES = ["WZC", "PVT"]
ONE_DAY = pl.duration(days=1)


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
    assessment_id).
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
    """G-MEDSOC: an IT, THAB or ZBO scale with score >= medsoc_min (docs/spec/rules.md §2)."""
    qualifies = pl.col("scale_kind").is_in(MEDSOC_KINDS) & (pl.col("score") >= p.medsoc_min)
    return _interval(
        _scale_intervals(scales).filter(qualifies.fill_null(False)), "G-MEDSOC", "medsoc_scales", "decision_id"
    )


def g_ztk(scales: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """G-ZTK: a ZTK scale whose three pillars add up to >= ztk_min (docs/spec/rules.md §2); same interval rule."""
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


def all_grounds(screeners: pl.LazyFrame, scales: pl.LazyFrame, stays: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    return pl.concat([g_belrai(screeners, p), g_medsoc(scales, p), g_ztk(scales, p), g_facility(stays)])


def zzb_start(grounds: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """ZZB-START: care-need episodes and the right they give (docs/spec/rules.md §2).

    Ground intervals that overlap or touch (the next starts at most one day after the previous
    ends) form one episode [es, ee]. Its right runs from the first day of the month
    `ground_delay_months` after month(es) through the month that contains ee (right_until is
    that month's first day; null while the episode is open).
    One row per episode: insz, episode_start, episode_end, right_from, right_until.
    """
    order = ["start_date", "end_date"]
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
        pl.col("episode_start").dt.truncate("1mo").dt.offset_by(f"{p.ground_delay_months}mo").alias("right_from"),
        pl.when(pl.col("_episode_end") == OPEN_END)
        .then(None)
        .otherwise(pl.col("_episode_end").dt.truncate("1mo"))
        .alias("right_until"),
    )
