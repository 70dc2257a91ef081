"""The motivation of a decision letter (docs/spec/rules.md §9, L-DECISION): every rule that decided the grant event, in
plain words, with the source record behind it, taken from the same decision record `vsb explain` shows.

The decided periods (D-DECISION) carry, per person, budget and run of months, the rule codes that hold and fail
and the ids of the records used ("feed:record id"). For each event (content.DECISION_EVENTS) the motivation is:
- NEW and CHANGED: the codes of the grant's latest period (the last entitled period inside the grant);
- STOPPED: the codes that fail in the month after the grant (its period);
- CANCELLED: the codes that fail in the months of the cancelled grant (every period that overlaps them);
- STOPPED or CANCELLED without any period (no right any more: the ground or the VAPH record is gone): the right's
  own code fails, ZZB-START for the ZZB, G-BOB for the BOB.
Each code gets the records of its period that decide it (`evidence_records`: a screener for G-BELRAI, a scale for
G-MEDSOC or G-ZTK, a stay for G-FACILITY or X-SPECIAL-STAY, a VAPH record for G-BOB and the VAPH exclusions),
and a failing E-ALIVE or E-AFFILIATED the member's date of death or end of affiliation (`member_records`); a code
resting on no single record (ZZB-START, E-RESIDENCE, ...) gets a row without one.

Pure: frames in, content.MOTIVATION_COLUMNS out. The flow takes the records from the feeds before it lets the
feeds' rows go (flows/letters.py).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.emit.letters.content import DECISION_EVENTS, MOTIVATION_COLUMNS

# the record behind a code, as the letters name it: one row per record, with the codes it decides per budget
RECORD_COLUMNS = {
    "insz": pl.String,
    "evidence": pl.String,  # "feed:record id" as the decided periods list it; null for a members record
    "zzb_code": pl.String,  # the code the record decides for the ZZB (G-BELRAI, X-VAPH-PVB, E-ALIVE, ...), or null
    "bob_code": pl.String,  # the same for the BOB (G-BOB, X-BOB-PVB, E-ALIVE, ...), or null
    **{c: t for c, t in MOTIVATION_COLUMNS.items() if c not in ("insz", "budget", "first_month", "code", "outcome")},
}
# which exclusion or right a VAPH record of a kind decides, per budget (pipelines/decide/exclusions.py, bob.py):
# (ZZB code, BOB code); NRTH that started on or before nrth_transition_date is T-NRTH-2017 instead
VAPH_CODES = {
    "SUPPORT_NEED": (None, "G-BOB"),
    "PVB": ("X-VAPH-PVB", "X-BOB-PVB"),
    "NRTH": ("X-VAPH-NRTH", None),
    "PAB": ("X-VAPH-PAB", "X-BOB-PAB"),
    "MFC_FULLTIME": ("X-VAPH-MFC", "X-BOB-MFC"),
    "ADULT_FACILITY_OUTSIDE_VL": ("X-VAPH-ADULT-OUTSIDE", None),
    "MINOR_RESIDENTIAL_OUTSIDE_VL": ("X-VAPH-MINOR-OUTSIDE", None),
    "ADULT_AMBULATORY_OUTSIDE_VL": ("X-VAPH-AMBULATORY-OUTSIDE", None),
    "MPI_BOARDING": ("X-MPI-BOARDING", None),
}
RIGHT_CODES = {"ZZB": "ZZB-START", "BOB": "G-BOB"}
_FAR = dt.date(9999, 12, 1)
_NONE = pl.lit(None, pl.String)


def _vaph_code(kind: pl.Expr, budget: int) -> pl.Expr:
    """The code a VAPH record of this kind decides for the ZZB (0) or the BOB (1); null when none."""
    return kind.replace_strict(
        {k: codes[budget] for k, codes in VAPH_CODES.items()}, default=None, return_dtype=pl.String
    )


def _records(frame: pl.DataFrame, feed: str, id_column: str, wanted: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    evidence = pl.format("{}:{}", pl.lit(feed), pl.col(id_column))
    picked = frame.with_columns(evidence.alias("evidence")).join(wanted, on="evidence", how="semi")
    named = {"feed": pl.lit(feed), "record_id": pl.col(id_column), **columns}
    return picked.select(
        "insz",
        "evidence",
        *[named.get(c, _NONE).cast(t).alias(c) for c, t in RECORD_COLUMNS.items() if c not in ("insz", "evidence")],
    )


def evidence_records(
    screeners: pl.DataFrame,
    scales: pl.DataFrame,
    stays: pl.DataFrame,
    vaph: pl.DataFrame,
    wanted: pl.DataFrame,
    nrth_transition_date: dt.date,
) -> pl.DataFrame:
    """RECORD_COLUMNS of the feeds' valid rows whose "feed:record id" is in `wanted` (column `evidence`).

    Dates: the screener's assessment date, the scale's valid_from, the stay's admission, the VAPH record's start;
    end dates likewise; score: the screener's total, the scale's score, the sum of the ZTK pillars.
    """
    pillars = pl.col("pillar_1") + pl.col("pillar_2") + pl.col("pillar_3")
    ztk = pl.col("scale_kind") == "ZTK"
    special = pl.col("special_category").is_not_null()
    kind = pl.col("support_kind")
    transition = (kind == "NRTH") & (pl.col("start_date") <= nrth_transition_date)
    vaph_zzb = pl.when(transition).then(pl.lit("T-NRTH-2017")).otherwise(_vaph_code(kind, 0))
    parts = [
        _records(
            screeners, "belrai_screeners", "assessment_id", wanted, zzb_code=pl.lit("G-BELRAI"),
            record_date=pl.col("assessment_date"), record_end_date=pl.col("valid_until"),
            score=pl.col("total_score"), record_kind=pl.col("service_kind"),
        ),
        _records(
            scales, "medsoc_scales", "decision_id", wanted,
            zzb_code=pl.when(ztk).then(pl.lit("G-ZTK")).otherwise(pl.lit("G-MEDSOC")),
            record_date=pl.col("valid_from"), record_end_date=pl.col("valid_until"),
            score=pl.when(ztk).then(pillars).otherwise(pl.col("score")), record_kind=pl.col("scale_kind"),
        ),
        _records(
            stays, "facility_stays", "stay_id", wanted,
            zzb_code=pl.when(special).then(pl.lit("X-SPECIAL-STAY")).otherwise(pl.lit("G-FACILITY")),
            record_date=pl.col("admission_date"), record_end_date=pl.col("discharge_date"),
            record_kind=pl.col("facility_kind"),
        ),
        _records(
            vaph, "vaph_support", "record_id", wanted, zzb_code=vaph_zzb,
            bob_code=_vaph_code(kind, 1),
            record_date=pl.col("start_date"), record_end_date=pl.col("end_date"), record_kind=pl.col("support_kind"),
        ),
    ]  # fmt: skip
    return pl.concat(parts)


def member_records(members: pl.DataFrame) -> pl.DataFrame:
    """RECORD_COLUMNS from the members feed: the date of death behind a failing E-ALIVE and the end of the
    affiliation behind a failing E-AFFILIATED (kinds DEATH and AFFILIATION_END), for both budgets."""

    def dated(code: str, column: str, kind: str) -> pl.DataFrame:
        rows = members.filter(pl.col(column).is_not_null())
        named = {"zzb_code": pl.lit(code), "bob_code": pl.lit(code), "feed": pl.lit("members")}
        named |= {"record_date": pl.col(column), "record_kind": pl.lit(kind)}
        return rows.select(
            "insz", *[named.get(c, pl.lit(None)).cast(t).alias(c) for c, t in RECORD_COLUMNS.items() if c != "insz"]
        )

    return pl.concat(
        [dated("E-ALIVE", "death_date", "DEATH"), dated("E-AFFILIATED", "affiliation_end", "AFFILIATION_END")]
    )


def _periods_behind(events: pl.DataFrame, periods: pl.DataFrame, month_of_run: dt.date) -> pl.DataFrame:
    """Per decision event (insz, budget, first_month, event), the periods its motivation reads (module docstring)."""
    keys = events.filter(pl.col("event").is_in(DECISION_EVENTS)).select(
        "insz", "budget", "first_month", "last_month", "event"
    )
    pairs = keys.join(periods, on=["insz", "budget"], how="inner", suffix="_period")
    last = pl.col("last_month").fill_null(_FAR)
    overlaps = (pl.col("first_month_period") <= last) & (pl.col("last_month_period") >= pl.col("first_month"))
    after = pl.col("last_month").dt.offset_by("1mo")
    granted = pairs.filter(pl.col("event").is_in(["NEW", "CHANGED"]) & pl.col("entitled") & overlaps)
    latest = granted.filter(
        pl.col("first_month_period") == pl.col("first_month_period").max().over("insz", "budget", "first_month")
    )
    stopped = pairs.filter(
        (pl.col("event") == "STOPPED") & pl.col("first_month_period").le(after) & pl.col("last_month_period").ge(after)
    )
    cancelled_last = pl.col("last_month").fill_null(pl.lit(month_of_run))
    cancelled = pairs.filter(
        (pl.col("event") == "CANCELLED")
        & (pl.col("first_month_period") <= cancelled_last)
        & (pl.col("last_month_period") >= pl.col("first_month"))
    )
    columns = ["insz", "budget", "first_month", "event", "holds", "fails", "evidence"]
    return pl.concat([latest.select(columns), stopped.select(columns), cancelled.select(columns)])


def _codes(events: pl.DataFrame, behind: pl.DataFrame) -> pl.DataFrame:
    """(insz, budget, first_month, code, outcome): what holds in a granted period, what fails otherwise; the
    right's code fails for a STOPPED or CANCELLED event without any period."""
    key = ["insz", "budget", "first_month"]
    holds = behind.filter(pl.col("event").is_in(["NEW", "CHANGED"])).select(*key, pl.col("holds").alias("code"))
    fails = behind.select(*key, pl.col("fails").alias("code"))
    coded = pl.concat(
        [
            holds.explode("code").with_columns(pl.lit("HOLDS").alias("outcome")),
            fails.explode("code").with_columns(pl.lit("FAILS").alias("outcome")),
        ]
    ).drop_nulls("code")
    ended = events.filter(pl.col("event").is_in(["STOPPED", "CANCELLED"])).select(key)
    gone = ended.join(behind.select(key), on=key, how="anti").with_columns(
        pl.col("budget").replace_strict(RIGHT_CODES, return_dtype=pl.String).alias("code"),
        pl.lit("FAILS").alias("outcome"),
    )
    return pl.concat([coded, gone.select(coded.columns)]).unique()


def motivation(
    events: pl.DataFrame, periods: pl.DataFrame, records: pl.DataFrame, month_of_run: dt.date
) -> pl.DataFrame:
    """MOTIVATION_COLUMNS for the decision events among `events` (grants.EVENT_COLUMNS): per event, every code that
    decided it with its records (module docstring). `periods`: the decided periods (PERIOD_COLUMNS) of this run;
    `records`: RECORD_COLUMNS (`evidence_records` and `member_records`) of at least the persons of `events`."""
    key = ["insz", "budget", "first_month"]
    behind = _periods_behind(events, periods, month_of_run)
    codes = _codes(events, behind)
    listed = behind.select(*key, "evidence").explode("evidence").drop_nulls("evidence").unique()
    by_budget = pl.when(pl.col("budget") == "ZZB").then("zzb_code").otherwise("bob_code").alias("code")
    from_periods = listed.join(records.drop_nulls("evidence"), on=["insz", "evidence"]).with_columns(by_budget)
    failing = codes.filter(pl.col("outcome") == "FAILS").select(*key, "code")
    of_members = failing.join(
        records.filter(pl.col("evidence").is_null()), left_on=["insz", "code"], right_on=["insz", "zzb_code"]
    )
    detail = [c for c in MOTIVATION_COLUMNS if c not in (*key, "code", "outcome")]
    found = pl.concat([from_periods.select(*key, "code", *detail), of_members.select(*key, "code", *detail)])
    rows = codes.join(found.unique(), on=[*key, "code"], how="left")
    return (
        rows.select([pl.col(c).cast(t) for c, t in MOTIVATION_COLUMNS.items()])
        .unique()
        .sort(*MOTIVATION_COLUMNS, nulls_last=True)
    )
