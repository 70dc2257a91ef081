"""Decisions: for every member and budget, the months of the evaluation window (docs/spec/rules.md D-DECISION).

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
from dataclasses import dataclass, field, replace

import polars as pl

from pipelines.decide import conditions, exclusions
from pipelines.decide.absence import ABSENCE_KINDS, g_absence
from pipelines.decide.bob import g_bob
from pipelines.decide.cases import by_hand_runs, granted_by_hand
from pipelines.decide.conditions import (
    e_affiliated,
    e_alive,
    e_residence,
    e_waiting,
    residence_from_year,
    waiting_until,
)
from pipelines.decide.exclusions import BOB_EXCLUSIONS, ZZB_EXCLUSIONS, exclusion_flags, flag_name, x_special_stay
from pipelines.decide.grounds import all_grounds, zzb_start
from pipelines.decide.worklist import w_apply_facility, w_apply_special, w_check_residence, w_nrth_transition
from pipelines.params import Params, Period
from pipelines.timeline import add_months, age_on, window_months
from schemas.feeds import FEEDS
from schemas.outputs import DecidedPeriods, columns

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
PERIOD_COLUMNS = columns(DecidedPeriods)
# the periods month by month (vsb explain)
MONTH_COLUMNS = {
    **{c: t for c, t in PERIOD_COLUMNS.items() if c not in ("first_month", "last_month")},
    "month": pl.Date,
}
# the parameters the conditions and exclusions read on first(M): where one changes, a new run of months
MONTHLY = tuple(sorted({*conditions.MONTHLY, *exclusions.MONTHLY}))


@dataclass(frozen=True)
class Feeds:
    """The valid rows of the feeds a decision reads."""

    members: pl.LazyFrame
    residence_periods: pl.LazyFrame
    belrai_screeners: pl.LazyFrame
    medsoc_scales: pl.LazyFrame
    facility_stays: pl.LazyFrame
    vaph_support: pl.LazyFrame
    # docs/spec/rules.md §10: applications, decisions by hand and appeals (none when not given)
    case_decisions: pl.LazyFrame = field(default_factory=lambda: pl.LazyFrame(schema=FEEDS["case_decisions"].columns))

    def only(self, persons: pl.LazyFrame) -> Feeds:
        """The same feeds for the given persons only (a frame with `insz`)."""
        return Feeds(
            **{name: getattr(self, name).join(persons, on="insz", how="semi") for name in self.__dataclass_fields__}
        )


@dataclass(frozen=True)
class Amounts:
    """Dated monthly amounts: frames of (from_date, to_date, amount) (`in_force`)."""

    zzb: pl.DataFrame
    bob: pl.DataFrame

    @classmethod
    def in_force(cls, p: Params, first: dt.date, last: dt.date) -> Amounts:
        """zzb_monthly and bob_monthly over the days [first, last]: a month is paid the amount in force on its
        first day (PAY-MONTH), an absence budget that in force on 31 August (G-ABSENCE)."""
        return cls(
            *(p.series(name, first, last).rename({"value": "amount"}) for name in ("zzb_monthly", "bob_monthly"))
        )


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
    return [flag_name(c) for c in codes] + ["in_right", "is_zzb", "by_hand", "on_appeal"]


def _holds_and_fails() -> list[pl.Expr]:
    """The rule codes that hold and fail, from the flags of one month."""
    zzb = pl.col("is_zzb")
    right_code = pl.when(zzb).then(pl.lit("ZZB-START")).otherwise(pl.lit("G-BOB"))
    by_hand, on_appeal = pl.col("by_hand"), pl.col("on_appeal")
    holds = pl.concat_list(
        _codes([(c, pl.col(flag_name(c))) for c in GROUND_CODES]),
        pl.when(pl.col("in_right")).then(pl.concat_list(right_code)).otherwise(EMPTY),
        _codes([("M-GRANT", by_hand & ~on_appeal), ("M-APPEAL", by_hand & on_appeal)]),
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


def m_entitled(automatic: pl.Expr) -> pl.Expr:
    """M-ENTITLED: a month is entitled when the automatic rules entitle it (`automatic`: sections 2 to 6), or it is
    granted by hand or on appeal (M-GRANT, M-APPEAL: `by_hand`) and E-AFFILIATED and E-ALIVE hold on its first day.

    docs/spec/rules.md §10. Grounds, residence, waiting and exclusions of a month granted by hand are not re-judged
    (the zorgkas judged them): such a month is ENTITLED, never PENDING (no W-NRTH-TRANSITION) and not a residence
    question (no W-CHECK-RESIDENCE). A month entitled both ways is one month (one row, paid once: PAY-ONCE); its
    record lists the automatic rules and M-GRANT or M-APPEAL, its evidence the records and the case record.
    """
    by_hand = pl.col("by_hand") & pl.col(flag_name("E-AFFILIATED")) & pl.col(flag_name("E-ALIVE"))
    return automatic | by_hand


def _compose(frame: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """entitled = in_right & e_affiliated & e_alive & e_residence & e_waiting & ~excluded, or by hand (m_entitled);
    every flag kept.

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
        pl.when(m_entitled(grantable & ~transition))
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
        pl.when(pl.col("by_hand"))
        .then(pl.concat_list(pl.format("case_decisions:{}", pl.col("hand_record"))))
        .otherwise(EMPTY),
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
    periods: pl.LazyFrame  # PERIOD_COLUMNS and the rule flags, one row per (insz, budget, first_month)
    months: pl.LazyFrame  # MONTH_COLUMNS and the rule flags, one row per (insz, budget, month)
    absences: pl.LazyFrame  # ABSENCE_COLUMNS, one row per (insz, school_year)
    worklist: pl.LazyFrame  # WORKLIST_COLUMNS


def _materialised(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Computed once: a lazy frame read by several later steps would be computed again by each."""
    return frame.collect().lazy()


def _amounts_by_month(amounts: Amounts, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """The ZZB and BOB monthly amounts in force on the first of each month of the window (a small table)."""
    months = pl.LazyFrame({"month": pl.date_range(first, last, "1mo", eager=True)})
    for name, series in (("zzb_amount", amounts.zzb), ("bob_amount", amounts.bob)):
        months = months.join_where(
            series.lazy().rename({"amount": name}),
            pl.col("month") >= pl.col("from_date"),
            pl.col("month") <= pl.col("to_date"),
        ).drop("from_date", "to_date")
    return _materialised(months)


def _next_month(day: pl.Expr) -> pl.Expr:
    """The first day of the month after the one containing `day`."""
    return day.dt.truncate("1mo").dt.offset_by("1mo")


def _month_ceil(day: pl.Expr) -> pl.Expr:
    """The first month whose first day is on or after `day`."""
    return pl.when(day.dt.day() == 1).then(day).otherwise(_next_month(day))


def _boundaries(
    who: _Persons,
    grounds: pl.LazyFrame,
    episodes: pl.LazyFrame,
    bob_rights: pl.LazyFrame,
    hand_runs: pl.LazyFrame,
    vaph: pl.LazyFrame,
    stays: pl.LazyFrame,
    monthly: tuple[Period, ...],
    fixed_months: list[dt.date],
) -> pl.LazyFrame:
    """Per person, every month on whose first day a flag of §2-§6 can change (insz, month).

    Between two boundaries every rule gives the same answer, so each run of months is judged
    once, on its first month. Any date a rule compares first(M) with is a boundary: a record
    active on first(M) changes at the first month on or after its start and the month after
    its end; a ground overlapping the month at the month of its start and the month after its
    end; a run of months granted by hand (`hand_runs`) at its first month and the month after its last;
    affiliation, death, EU insurance; and, under the parameters of each run of months
    (`monthly`), age 18, the residence year and the end of the waiting period; and `fixed_months`
    for everyone: the months from which an amount or a parameter of `monthly` holds.
    """

    def dates(frame: pl.LazyFrame, *exprs: pl.Expr) -> list[pl.LazyFrame]:
        return [frame.select("insz", e.alias("month")) for e in exprs]

    parts = [
        *dates(grounds, pl.col("start_date").dt.truncate("1mo"), _next_month(pl.col("end_date"))),
        *dates(episodes, pl.col("right_from"), _next_month(pl.col("right_until"))),
        *dates(bob_rights, pl.col("right_from"), _next_month(pl.col("right_until"))),
        *dates(hand_runs, pl.col("right_from"), _next_month(pl.col("right_until"))),
        *dates(vaph, _month_ceil(pl.col("start_date")), _next_month(pl.col("end_date"))),
        *dates(stays, _month_ceil(pl.col("admission_date")), _next_month(pl.col("discharge_date"))),
        *dates(
            who.people,
            _month_ceil(pl.col("affiliation_start")),
            _next_month(pl.col("affiliation_end")),
            _next_month(pl.col("death_date")),
            # E-RESIDENCE by EU insurance holds from the 1 January on or after eu_insured_since
            pl.date(pl.col("eu_insured_since").dt.year() + (pl.col("eu_insured_since").dt.ordinal_day() > 1), 1, 1),
        ),
    ]
    for period, person_dates in zip(monthly, who.dates, strict=True):
        changes = [
            *dates(who.people, _month_ceil(pl.col("birth_date").dt.offset_by(f"{period.params.adult_age}y"))),
            *dates(person_dates, pl.date(pl.col("residence_from_year"), 1, 1), _month_ceil(pl.col("waiting_until"))),
        ]
        parts += changes if period.unbounded else [c.filter(period.holds(pl.col("month"))) for c in changes]
    fixed = who.persons.join(pl.LazyFrame({"month": fixed_months}, schema={"month": pl.Date}), how="cross")
    everything = pl.concat([p.join(who.persons, on="insz", how="semi") for p in parts] + [fixed])
    return everything.drop_nulls()


def _segments(boundaries: pl.LazyFrame, first: dt.date, last: dt.date) -> pl.LazyFrame:
    """Runs of months [month, last_month] between a person's boundaries, within the window."""
    inside = boundaries.filter(pl.col("month").is_between(first, last)).unique()
    following = pl.col("month").shift(-1).over("insz", order_by="month")
    return inside.with_columns(
        following.dt.offset_by("-1mo").fill_null(last).alias("last_month"),
    )


@dataclass(frozen=True)
class _Persons:
    """Who is decided month by month, with what every rule of theirs reads."""

    persons: pl.LazyFrame  # insz
    people: pl.LazyFrame  # their members rows (MEMBER_COLUMNS)
    dates: tuple[pl.LazyFrame, ...]  # per run of months of `monthly`: insz, residence_from_year, waiting_until


def _persons(
    feeds: Feeds,
    members: pl.LazyFrame,
    rights: list[pl.LazyFrame],
    monthly: tuple[Period, ...],
    run_date: dt.date,
    window: tuple[dt.date, dt.date],
    full_window: bool,
) -> _Persons:
    """The members with a right (`rights`: ZZB episodes, BOB records) in the window, or every member
    (full_window), with their members rows and the dates E-RESIDENCE and E-WAITING compare with under the
    parameters of each run of months of `monthly`."""
    first, last = window
    in_window = (pl.col("right_from") <= last) & (pl.col("right_until").is_null() | (pl.col("right_until") >= first))
    persons = members.select("insz") if full_window else pl.concat([r.filter(in_window).select("insz") for r in rights])
    persons = _materialised(persons.join(members.select("insz"), on="insz", how="semi").unique())
    people = _materialised(members.join(persons, on="insz", how="semi"))  # only members are decided
    residence = _materialised(feeds.residence_periods.join(persons, on="insz", how="semi"))
    dates = tuple(
        _materialised(
            persons.join(residence_from_year(residence, q.params, run_date), on="insz", how="left").join(
                waiting_until(people, residence, q.params), on="insz", how="left"
            )
        )
        for q in monthly
    )
    return _Persons(persons, people, dates)


def _rights(episodes: pl.LazyFrame, bob_records: pl.LazyFrame) -> pl.LazyFrame:
    """Every right of a person: insz, right_from, right_until, budget and the records behind it (`_ev`)."""
    return pl.concat(
        [
            episodes.select("insz", "right_from", "right_until", pl.lit("ZZB").alias("budget"), EMPTY.alias("_ev")),
            bob_records.select(
                "insz",
                "right_from",
                "right_until",
                pl.lit("BOB").alias("budget"),
                pl.concat_list("evidence").alias("_ev"),
            ),
        ]
    )


def _in_right(segments: pl.LazyFrame, rights: pl.LazyFrame, hand_runs: pl.LazyFrame, full_window: bool) -> pl.LazyFrame:
    """The segments per budget with `in_right` and `right_evidence`, and `by_hand`, `on_appeal` and `hand_record` (the
    case record) for those granted by hand or on appeal (bulk: only the segments inside a right or granted by hand).
    A run of months granted by hand starts and ends at segment boundaries (`_boundaries`): a segment lies wholly
    inside it or outside."""
    inside = (
        segments.join(rights, on="insz")
        .filter(
            (pl.col("right_from") <= pl.col("month"))
            & (pl.col("right_until").is_null() | (pl.col("month") <= pl.col("right_until")))
        )
        .group_by("insz", "budget", "month")
        .agg(pl.col("_ev").list.explode(keep_nulls=False, empty_as_null=False).sort().alias("right_evidence"))
        .with_columns(pl.lit(True).alias("in_right"))
    )
    by_hand = (
        segments.select("insz", "month")
        .join(hand_runs, on="insz")
        .filter(pl.col("month").is_between(pl.col("right_from"), pl.col("right_until")))
        .select(
            "insz",
            "budget",
            "month",
            pl.lit(True).alias("by_hand"),
            "on_appeal",
            pl.col("record_id").alias("hand_record"),
        )
    )
    budgets = pl.LazyFrame({"budget": ["ZZB", "BOB"]})
    periods = (
        segments.join(budgets, how="cross")
        .join(inside, on=["insz", "budget", "month"], how="left")
        .join(by_hand, on=["insz", "budget", "month"], how="left")
    )
    periods = periods.with_columns(
        pl.col("in_right").fill_null(False),
        pl.col("right_evidence").fill_null(EMPTY),
        pl.col("by_hand").fill_null(False),
        pl.col("on_appeal").fill_null(False),
    )
    return periods if full_window else periods.filter(pl.col("in_right") | pl.col("by_hand"))


def _conditions(periods: pl.LazyFrame, people: pl.LazyFrame, dates: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """The periods with their member, age and the conditions of §3 on their first month, under `p`."""
    return _materialised(
        periods.join(people, on="insz", how="inner")
        .join(dates, on="insz", how="left")
        .with_columns(age_on(pl.col("birth_date"), pl.col("month")).alias("age"))
        .with_columns(e_affiliated(), e_alive(), e_residence(p), e_waiting())
    )


def _flagged(
    periods: pl.LazyFrame,
    who: _Persons,
    feeds: Feeds,
    grounds: pl.LazyFrame,
    amounts: Amounts,
    monthly: tuple[Period, ...],
    window: tuple[dt.date, dt.date],
) -> pl.LazyFrame:
    """The periods with every flag of §2-§6 judged on their first month, and the amounts in force then: each
    run of months of `monthly` with the parameters in force on its first day."""
    if len(monthly) == 1 and monthly[0].unbounded:
        parts = [_conditions(periods, who.people, who.dates[0], monthly[0].params)]
    else:
        parts = [
            _conditions(periods.filter(q.holds(pl.col("month"))), who.people, dates, q.params)
            for q, dates in zip(monthly, who.dates, strict=True)
        ]
    judged = pl.concat(parts) if len(parts) > 1 else parts[0]
    vaph, stays = feeds.vaph_support, feeds.facility_stays
    flags = [
        exclusion_flags(part.select("insz", "month", "age").unique(), vaph, stays, q.params)
        for part, q in zip(parts, monthly, strict=True)
    ]
    ground_codes = _ground_codes_by_month(grounds, judged.filter(pl.col("budget") == "ZZB"))
    return (
        judged.join(pl.concat(flags) if len(flags) > 1 else flags[0], on=["insz", "month"], how="left")
        .join(ground_codes, on=["insz", "budget", "month"], how="left")
        .join(_amounts_by_month(amounts, *window), on="month", how="left")
        .with_columns(
            *[pl.col(flag_name(c)).fill_null(False) for c in GROUND_CODES],
            pl.concat_list(pl.col("right_evidence"), pl.col("ground_evidence").fill_null(EMPTY)).alias(
                "right_evidence"
            ),
        )
    )


def _worklist(feeds: Feeds, episodes: pl.LazyFrame, decided: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """The work-list rows the decisions give (W-APPLY-SPECIAL, W-APPLY-FACILITY, W-NRTH-TRANSITION,
    W-CHECK-RESIDENCE)."""
    return pl.concat(
        [
            w_apply_special(feeds.facility_stays, feeds.members, run_date),
            w_apply_facility(feeds.facility_stays, feeds.members, episodes, run_date),
            w_nrth_transition(decided, run_date),
            w_check_residence(decided, run_date),
        ]
    )


def decide(feeds: Feeds, p: Params, amounts: Amounts, run_date: dt.date, full_window: bool = False) -> Decisions:
    """D-DECISION: every run decides, for every member and budget, the months of the evaluation window
    (24 months ending with the month of D), and records for each month: entitled or not, the rule codes that
    hold and fail, and the ids of the source records used.

    docs/spec/rules.md §8. Gives the decided periods (PERIOD_COLUMNS) with their rule flags, the absence budgets and
    the work list.

    A period is a run of months of one person and budget in which no rule can change its answer:
    it is judged on its first month. Bulk (full_window False): only the periods inside a right
    (ZZB-START or G-BOB) or granted by hand or on appeal (M-GRANT, M-APPEAL) of persons with one in the
    window; every other month of every member is not entitled for want of a ground. full_window: every month of
    the window for every member in `feeds`, both budgets. `Decisions.months` gives them month by month.

    Parameters are read where docs/spec/rules.md judges: a month with those in force on its first day (MONTHLY:
    a `from` inside the window starts a new period; the ground minimums in `all_grounds`), a delay on the day its
    episode or record starts (ZZB-START, G-BOB), the absence thresholds on 31 August (G-ABSENCE), the amounts
    as PAY-MONTH says; the window's length on D.
    """
    first, last = window = window_months(run_date, p.evaluation_window_months)
    monthly = _window_periods(p, first, last)
    members = feeds.members.select(MEMBER_COLUMNS)
    grounds = _materialised(all_grounds(feeds.belrai_screeners, feeds.medsoc_scales, feeds.facility_stays, p))
    episodes = _materialised(zzb_start(grounds, p))
    bob_records = _materialised(g_bob(feeds.vaph_support, p))
    hand = granted_by_hand(feeds.case_decisions.join(members.select("insz"), on="insz", how="semi"), first, last)
    hand_runs = _materialised(by_hand_runs(hand))
    who = _persons(feeds, members, [episodes, bob_records, hand_runs], monthly, run_date, window, full_window)
    changes = _amount_change_months(amounts) + [q.first for q in monthly[1:]]
    fixed_months = [first] + [m for m in changes if first < m <= last]
    special_stays = feeds.facility_stays.filter(x_special_stay())
    boundaries = _boundaries(
        who, grounds, episodes, bob_records, hand_runs, feeds.vaph_support, special_stays, monthly, fixed_months
    )
    segments = _materialised(_segments(boundaries, first, last))
    periods = _in_right(segments, _rights(episodes, bob_records), hand_runs, full_window)
    periods = _flagged(periods, who, feeds, grounds, amounts, monthly, window)
    decided = _materialised(_compose(periods, p).rename({"month": "first_month"}))
    absence_persons = feeds.vaph_support.filter(pl.col("support_kind").is_in(ABSENCE_KINDS)).select("insz")
    residence = feeds.residence_periods.join(absence_persons, on="insz", how="semi")
    absences = g_absence(feeds.vaph_support, feeds.members, episodes, residence, amounts.zzb, p, run_date, first)
    return Decisions(decided, _months_of(decided), absences, _worklist(feeds, episodes, decided, run_date))


def _window_periods(p: Params, first: dt.date, last: dt.date) -> tuple[Period, ...]:
    """The runs of months of the window [first, last] in which no parameter of MONTHLY changes, each with the
    parameters in force on its first day; the first open to the past and the last to the future (only the
    window's months are judged). One unbounded run when none changes inside the window (the usual case)."""
    inside = [
        q for q in p.periods(MONTHLY) if (q.last is None or q.last >= first) and (q.first is None or q.first <= last)
    ]
    inside[0] = replace(inside[0], first=None)
    inside[-1] = replace(inside[-1], last=None)
    return tuple(inside)


def _amount_change_months(amounts: Amounts) -> list[dt.date]:
    """The first months on whose first day a monthly amount changes."""
    starts = pl.concat([amounts.zzb["from_date"], amounts.bob["from_date"]]).unique().to_list()
    return sorted({d if d.day == 1 else add_months(d.replace(day=1), 1) for d in starts})


def _months_of(periods: pl.LazyFrame) -> pl.LazyFrame:
    """The periods month by month (MONTH_COLUMNS and the flags)."""
    return (
        periods.with_columns(pl.date_ranges("first_month", "last_month", "1mo").alias("month"))
        .explode("month")
        .drop("first_month", "last_month")
    )
