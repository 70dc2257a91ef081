"""Decisions: for every member and budget, the months of the evaluation window (rules.md D-DECISION).

The composition of the rules, in one visible place (`_compose`): a month is entitled when it
is inside a right (ZZB-START, G-BOB), every condition of §3 holds on its first day and no
exclusion of §4/§6 is active. Every flag is kept so that each month explains itself: the
codes that hold, the codes that fail, and the source records behind them.

Only persons with a right in the window need month-level work. Everyone else is decided in
bulk: no month of theirs is entitled (no ground), and no month row is stored for them;
`full_window=True` (used by `vsb explain`) gives every month of the window for the persons given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipelines.absence import ABSENCE_KINDS, g_absence
from pipelines.bob import g_bob
from pipelines.conditions import (
    e_affiliated,
    e_alive,
    e_residence,
    e_waiting,
    residence_from_year,
    waiting_until,
)
from pipelines.exclusions import BOB_EXCLUSIONS, ZZB_EXCLUSIONS, exclusion_flags, flag_name
from pipelines.grounds import all_grounds, zzb_start
from pipelines.params import Params
from pipelines.timeline import age_on, window_months
from pipelines.worklist import w_apply_facility, w_apply_special, w_check_residence, w_nrth_transition

ENTITLED, NOT_ENTITLED, PENDING = "ENTITLED", "NOT_ENTITLED", "PENDING"
CONDITIONS = ["E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]
GROUND_CODES = ["G-BELRAI", "G-FACILITY", "G-MEDSOC", "G-ZTK"]
EMPTY = pl.lit([], pl.List(pl.String))
MEMBER_COLUMNS = [
    "insz",
    "zorgkas",
    "birth_date",
    "death_date",
    "affiliation_basis",
    "affiliation_start",
    "affiliation_end",
    "eu_insured_since",
]
MONTH_COLUMNS = {
    "insz": pl.String,
    "zorgkas": pl.String,
    "budget": pl.String,
    "month": pl.Date,
    "status": pl.String,
    "entitled": pl.Boolean,
    "holds": pl.List(pl.String),
    "fails": pl.List(pl.String),
    "evidence": pl.List(pl.String),
    "monthly_amount": pl.Decimal(12, 2),
}


@dataclass(frozen=True)
class Feeds:
    """The valid rows of the feeds a decision reads."""

    members: pl.LazyFrame
    residence_periods: pl.LazyFrame
    belrai_screeners: pl.LazyFrame
    medsoc_scales: pl.LazyFrame
    facility_stays: pl.LazyFrame
    vaph_support: pl.LazyFrame

    def only(self, persons: pl.LazyFrame) -> Feeds:
        """The same feeds for the given persons only (a frame with `insz`)."""
        return Feeds(
            **{name: getattr(self, name).join(persons, on="insz", how="semi") for name in self.__dataclass_fields__}
        )


@dataclass(frozen=True)
class Amounts:
    """Dated monthly amounts: frames of (from_date, to_date, amount) from ParameterTable.money_series."""

    zzb: pl.DataFrame
    bob: pl.DataFrame


def _months_of_rights(rights: pl.LazyFrame, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """One row per (insz, month) of the window inside a right (rights: insz, right_from, right_until, evidence?)."""
    start = pl.max_horizontal(pl.col("right_from"), pl.lit(first))
    end = pl.min_horizontal(pl.col("right_until").fill_null(last), pl.lit(last))
    return (
        rights.filter(start <= end)
        .with_columns(pl.date_ranges(start, end, "1mo").alias("month"))
        .explode("month")
        .drop("right_from", "right_until")
    )


def _amount_on_month(months: pl.LazyFrame, amounts: pl.DataFrame, name: str) -> pl.LazyFrame:
    """Join the amount in force on first(month)."""
    return months.join_where(
        amounts.lazy().rename({"amount": name}),
        pl.col("month") >= pl.col("from_date"),
        pl.col("month") <= pl.col("to_date"),
    ).drop("from_date", "to_date")


def _ground_codes_by_month(grounds: pl.LazyFrame, months: pl.LazyFrame) -> pl.LazyFrame:
    """Per ZZB (insz, month): the grounds whose interval overlaps the month, and their records."""
    month_end = pl.col("month").dt.month_end()
    return (
        months.select("insz", "month")
        .join(grounds, on="insz")
        .filter(
            (pl.col("start_date") <= month_end)
            & (pl.col("end_date").is_null() | (pl.col("end_date") >= pl.col("month")))
        )
        .group_by("insz", "month")
        .agg(
            *[(pl.col("ground") == code).any().alias(flag_name(code)) for code in GROUND_CODES],
            pl.col("evidence").sort().alias("ground_evidence"),
        )
        .with_columns(pl.lit("ZZB").alias("budget"))
    )


def _codes(pairs: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """The codes whose expression is True, in the given order, as a list."""
    if not pairs:
        return EMPTY
    joined = pl.concat_str([pl.when(expr).then(pl.lit(code)) for code, expr in pairs], separator=",", ignore_nulls=True)
    return pl.when(joined == "").then(EMPTY).otherwise(joined.str.split(","))


def _facts() -> list[str]:
    """Every boolean a month's holds and fails depend on."""
    codes = GROUND_CODES + CONDITIONS + ZZB_EXCLUSIONS + ["T-NRTH-2017"] + BOB_EXCLUSIONS
    return [flag_name(c) for c in codes] + ["in_right", "is_zzb"]


def _holds_and_fails() -> list[pl.Expr]:
    """The rule codes that hold and fail, from the flags of one month."""
    zzb = pl.col("is_zzb")
    right_code = pl.when(zzb).then(pl.lit("ZZB-START")).otherwise(pl.lit("G-BOB"))
    holds = pl.concat_list(
        _codes([(c, pl.col(flag_name(c))) for c in GROUND_CODES]),
        pl.when(pl.col("in_right")).then(pl.concat_list(right_code)).otherwise(EMPTY),
        _codes([(c, pl.col(flag_name(c))) for c in CONDITIONS]),
    )
    fails = pl.concat_list(
        pl.when(pl.col("in_right")).then(EMPTY).otherwise(pl.concat_list(right_code)),
        _codes(
            [(c, ~pl.col(flag_name(c))) for c in CONDITIONS]
            + [(c, zzb & pl.col(flag_name(c))) for c in ZZB_EXCLUSIONS + ["T-NRTH-2017"]]
            + [(c, ~zzb & pl.col(flag_name(c))) for c in BOB_EXCLUSIONS]
        ),
    )
    return [holds.alias("holds"), fails.alias("fails")]


def _compose(frame: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """entitled = in_right & e_affiliated & e_alive & e_residence & e_waiting & ~excluded; every flag kept.

    The lists of codes are built once per distinct combination of flags (a few hundred) and
    joined back by that combination: building lists row by row is the slow part at 7M members.
    """
    conditions = [pl.col(flag_name(c)) for c in CONDITIONS]
    zzb = pl.col("is_zzb")
    excluded = (
        pl.when(zzb)
        .then(pl.any_horizontal([flag_name(c) for c in ZZB_EXCLUSIONS]))
        .otherwise(pl.any_horizontal([flag_name(c) for c in BOB_EXCLUSIONS]))
    )
    transition = zzb & pl.col("t_nrth_2017")
    grantable = pl.col("in_right") & pl.all_horizontal(conditions) & ~excluded
    status = (
        pl.when(grantable & ~transition)
        .then(pl.lit(ENTITLED))
        .when(grantable & transition)
        .then(pl.lit(PENDING))
        .otherwise(pl.lit(NOT_ENTITLED))
    )
    facts = _facts()
    key = pl.sum_horizontal([pl.col(f).cast(pl.Int64) * (1 << i) for i, f in enumerate(facts)]).alias("_facts")
    flagged = frame.with_columns((pl.col("budget") == "ZZB").alias("is_zzb")).with_columns(key)
    lists = flagged.select("_facts", *facts).unique(subset="_facts").select("_facts", *_holds_and_fails())
    evidence = pl.concat_list(
        pl.col("right_evidence"),
        pl.when(zzb).then(pl.col("zzb_exclusion_evidence")).otherwise(pl.col("bob_exclusion_evidence")),
    )
    return (
        flagged.join(lists, on="_facts", how="left")
        .with_columns(
            status.alias("status"),
            (status == ENTITLED).alias("entitled"),
            evidence.alias("evidence"),
            pl.when(zzb).then(pl.col("zzb_amount")).otherwise(pl.col("bob_amount")).alias("monthly_amount"),
        )
        .drop("_facts", "is_zzb")
    )


@dataclass(frozen=True)
class Decisions:
    months: pl.LazyFrame  # MONTH_COLUMNS and the rule flags, one row per (insz, budget, month)
    absences: pl.LazyFrame  # ABSENCE_COLUMNS, one row per (insz, school_year)
    worklist: pl.LazyFrame  # WORKLIST_COLUMNS


def decide(feeds: Feeds, p: Params, amounts: Amounts, run_date: dt.date, full_window: bool = False) -> Decisions:
    """The decided months (MONTH_COLUMNS) with their rule flags, the absence budgets and the work list.

    Bulk (full_window False): only months inside a right (ZZB-START or G-BOB) are given; every
    other month of every member is not entitled for want of a ground. full_window: every month
    of the window for every member in `feeds`, both budgets.
    """
    first, last = window_months(run_date, p.evaluation_window_months)
    members = feeds.members.select(MEMBER_COLUMNS)
    grounds = all_grounds(feeds.belrai_screeners, feeds.medsoc_scales, feeds.facility_stays, p)
    episodes = zzb_start(grounds, p)
    zzb_rights = _months_of_rights(episodes.select("insz", "right_from", "right_until"), first, last).with_columns(
        pl.lit("ZZB").alias("budget"), EMPTY.alias("right_evidence")
    )
    bob_rights = (
        _months_of_rights(g_bob(feeds.vaph_support), first, last)
        .group_by("insz", "month")
        .agg(pl.col("evidence").sort().alias("right_evidence"))
        .with_columns(pl.lit("BOB").alias("budget"))
    )
    rights = pl.concat([zzb_rights, bob_rights], how="diagonal").select(
        "insz", "budget", "month", "right_evidence", pl.lit(True).alias("in_right")
    )
    if full_window:
        grid = (
            members.select("insz")
            .join(pl.LazyFrame({"budget": ["ZZB", "BOB"]}), how="cross")
            .join(pl.LazyFrame({"month": pl.date_range(first, last, "1mo", eager=True)}), how="cross")
        )
        months = grid.join(rights, on=["insz", "budget", "month"], how="left").with_columns(
            pl.col("in_right").fill_null(False), pl.col("right_evidence").fill_null(EMPTY)
        )
    else:
        months = rights
    months = months.join(members, on="insz", how="inner")  # only members are decided
    persons = months.select("insz").unique()
    residence = feeds.residence_periods.join(persons, on="insz", how="semi")
    residence_years = residence_from_year(residence, p, run_date)
    months = (
        months.join(residence_years, on="insz", how="left")
        .join(waiting_until(members.join(persons, on="insz", how="semi"), residence, p), on="insz", how="left")
        .with_columns(age_on(pl.col("birth_date"), pl.col("month")).alias("age"))
        .with_columns(
            e_affiliated().alias("e_affiliated"),
            e_alive().alias("e_alive"),
            e_residence().alias("e_residence"),
            e_waiting().alias("e_waiting"),
        )
    )
    keys = months.select("insz", "month", "age").unique()
    flags = exclusion_flags(keys, feeds.vaph_support, feeds.facility_stays, p)
    ground_codes = _ground_codes_by_month(grounds, months.filter(pl.col("budget") == "ZZB"))
    months = (
        months.join(flags, on=["insz", "month"], how="left")
        .join(ground_codes, on=["insz", "budget", "month"], how="left")
        .with_columns(
            *[pl.col(flag_name(c)).fill_null(False) for c in GROUND_CODES],
            pl.concat_list(pl.col("right_evidence"), pl.col("ground_evidence").fill_null(EMPTY)).alias(
                "right_evidence"
            ),
        )
    )
    months = _amount_on_month(months, amounts.zzb, "zzb_amount")
    months = _amount_on_month(months, amounts.bob, "bob_amount")
    # materialised once: the work list reads the decided months twice
    decided = _compose(months, p).collect().lazy()
    absence_persons = feeds.vaph_support.filter(pl.col("support_kind").is_in(ABSENCE_KINDS)).select("insz")
    absences = g_absence(
        feeds.vaph_support,
        feeds.members,
        episodes,
        residence_from_year(feeds.residence_periods.join(absence_persons, on="insz", how="semi"), p, run_date),
        amounts.zzb,
        p,
        run_date,
        first,
    )
    worklist = pl.concat(
        [
            w_apply_special(feeds.facility_stays, feeds.members, run_date),
            w_apply_facility(feeds.facility_stays, feeds.members, episodes, run_date),
            w_nrth_transition(decided, run_date),
            w_check_residence(decided, run_date),
        ]
    )
    return Decisions(decided, absences, worklist)
