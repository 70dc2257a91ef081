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
BY_HAND_CODES = ("M-GRANT", "M-APPEAL")  # a month granted by hand or on appeal (rules.md §10)
_FAR = dt.date(9999, 12, 1)
_NONE = pl.lit(None, pl.String)


def _vaph_code(kind: pl.Expr, budget: int) -> pl.Expr:
    """The code a VAPH record of this kind decides for the ZZB (0) or the BOB (1); null when none."""
    return kind.replace_strict(
        {k: codes[budget] for k, codes in VAPH_CODES.items()}, default=None, return_dtype=pl.String
    )


def _records(frame: pl.DataFrame, feed: str, id_column: str, wanted: pl.DataFrame, **columns: pl.Expr) -> pl.DataFrame:
    evidence = pl.format("{}:{}", pl.lit(feed), pl.col(id_column))
    on = "evidence" if "evidence" in wanted.columns else "insz"
    picked = frame.with_columns(evidence.alias("evidence")).join(wanted.select(on).unique(), on=on, how="semi")
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
    """RECORD_COLUMNS of the feeds' valid rows whose "feed:record id" is in `wanted` (column `evidence`), or of the
    persons in `wanted` (column `insz`: every record of theirs, as L-REASON needs the records no period names).

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


def case_records(cases: pl.DataFrame) -> pl.DataFrame:
    """RECORD_COLUMNS from the case_decisions feed (rules.md §10): the decision behind an M-GRANT (a GRANT of the
    zorgkas) or an M-APPEAL (an APPEAL_GRANT of the agency) for the budget of the row, dated by its decided_date."""
    code = pl.when(pl.col("kind") == "APPEAL_GRANT").then(pl.lit("M-APPEAL")).otherwise(pl.lit("M-GRANT"))
    rows = cases.filter(pl.col("kind").is_in(["GRANT", "APPEAL_GRANT"]))
    named = {
        "evidence": pl.format("case_decisions:{}", pl.col("record_id")),
        "zzb_code": pl.when(pl.col("budget") == "ZZB").then(code),
        "bob_code": pl.when(pl.col("budget") == "BOB").then(code),
        "feed": pl.lit("case_decisions"),
        "record_id": pl.col("record_id"),
        "record_date": pl.col("decided_date"),
    }
    return rows.select(
        "insz", *[named.get(c, pl.lit(None)).cast(t).alias(c) for c, t in RECORD_COLUMNS.items() if c != "insz"]
    )


def residence_records(residence: pl.DataFrame) -> pl.DataFrame:
    """RECORD_COLUMNS from the residence_periods feed: the domicile behind a failing E-RESIDENCE (kind: the region),
    for both budgets; the motivation keeps the one that covers the month the right was lost."""
    named = {
        "zzb_code": pl.lit("E-RESIDENCE"),
        "bob_code": pl.lit("E-RESIDENCE"),
        "feed": pl.lit("residence_periods"),
        "record_date": pl.col("start_date"),
        "record_end_date": pl.col("end_date"),
        "record_kind": pl.col("region"),
    }
    return residence.select(
        "insz", *[named.get(c, pl.lit(None)).cast(t).alias(c) for c, t in RECORD_COLUMNS.items() if c != "insz"]
    )


# --- which grant or recovery, and what the earlier decision rested on -------------------------------------------

REASON_COLUMNS = {
    "insz": pl.String,
    "budget": pl.String,
    "first_month": pl.Date,  # the letter's key: the grant's first month, a recovery's first month
    "last_month": pl.Date,
    "event": pl.String,  # NEW, CHANGED, STOPPED, CANCELLED, or RECOVERY
    "lost_month": pl.Date,  # the first month no longer entitled (STOPPED, CANCELLED, RECOVERY); null otherwise
    "before": pl.List(pl.String),  # the records ("feed:record id") the earlier decision rested on
}
_EMPTY = pl.lit([], pl.List(pl.String))


def event_reasons(events: pl.DataFrame) -> pl.DataFrame:
    """REASON_COLUMNS of the decision events (grants.EVENT_COLUMNS): a STOPPED grant lost the month after its last,
    a CANCELLED one its first; both rested on the event's evidence (the grant as it was decided before)."""
    ended = pl.col("event").is_in(["STOPPED", "CANCELLED"])
    lost = pl.when(pl.col("event") == "STOPPED").then(pl.col("last_month").dt.offset_by("1mo"))
    lost = lost.when(pl.col("event") == "CANCELLED").then(pl.col("first_month"))
    return events.filter(pl.col("event").is_in(DECISION_EVENTS)).select(
        "insz",
        "budget",
        "first_month",
        "last_month",
        "event",
        lost.alias("lost_month"),
        pl.when(ended).then(pl.col("evidence")).otherwise(_EMPTY).alias("before"),
    )


def recovery_reasons(recoveries: pl.DataFrame, granted: pl.DataFrame | None = None) -> pl.DataFrame:
    """REASON_COLUMNS of the recoveries (payments.RECOVERY_COLUMNS), one per person and budget: from the first to the
    last month recovered, the first lost; `granted` (insz, budget, evidence): the records the grants that paid those
    months rested on (the state's grant history, flows/state/letters_ledger.py `granted_evidence`)."""
    keys = recoveries.group_by("insz", "budget").agg(
        pl.col("month").min().alias("first_month"), pl.col("month").max().alias("last_month")
    )
    if granted is None:
        granted = pl.DataFrame(schema={"insz": pl.String, "budget": pl.String, "evidence": pl.String})
    before = granted.group_by("insz", "budget").agg(pl.col("evidence").unique().sort().alias("before"))
    return (
        keys.join(before, on=["insz", "budget"], how="left")
        .select(
            "insz",
            "budget",
            "first_month",
            "last_month",
            pl.lit("RECOVERY").alias("event"),
            pl.col("first_month").alias("lost_month"),
            pl.col("before").fill_null(_EMPTY),
        )
        .sort("insz", "budget")
    )


# --- the codes behind each letter --------------------------------------------------------------------------------


def _periods_behind(keys: pl.DataFrame, periods: pl.DataFrame, month_of_run: dt.date) -> pl.DataFrame:
    """Per key (REASON_COLUMNS), the periods its motivation reads (module docstring); a recovery reads the periods of
    the months recovered."""
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
        pl.col("event").is_in(["CANCELLED", "RECOVERY"])
        & ~pl.col("entitled")
        & (pl.col("first_month_period") <= cancelled_last)
        & (pl.col("last_month_period") >= pl.col("first_month"))
    )
    columns = ["insz", "budget", "first_month", "event", "holds", "fails", "evidence"]
    return pl.concat([latest.select(columns), stopped.select(columns), cancelled.select(columns)])


def _codes(keys: pl.DataFrame, behind: pl.DataFrame) -> pl.DataFrame:
    """(insz, budget, first_month, code, outcome): what holds in a granted period, what fails otherwise; the
    right's code fails for a STOPPED or CANCELLED event or a recovery without any period.

    A granted period that holds by hand or on appeal (M-GRANT, M-APPEAL) is entitled whatever the automatic rules
    say: they are not re-judged (rules.md §10, M-ENTITLED), so what fails in it (ZZB-START, a waiting time, an
    exclusion) is no ground of the decision and the letter names the decision by hand instead (§10, L-DECISION for
    decisions by hand). An automatic granted period has nothing failing."""
    key = ["insz", "budget", "first_month"]
    granted = pl.col("event").is_in(["NEW", "CHANGED"])
    holds = behind.filter(granted).select(*key, pl.col("holds").alias("code"))
    by_hand = pl.col("holds").list.set_intersection(pl.lit(list(BY_HAND_CODES))).list.len() > 0
    fails = behind.filter(~(granted & by_hand)).select(*key, pl.col("fails").alias("code"))
    coded = pl.concat(
        [
            holds.explode("code").with_columns(pl.lit("HOLDS").alias("outcome")),
            fails.explode("code").with_columns(pl.lit("FAILS").alias("outcome")),
        ]
    ).drop_nulls("code")
    ended = keys.filter(pl.col("event").is_in(["STOPPED", "CANCELLED", "RECOVERY"])).select(key)
    gone = ended.join(behind.select(key), on=key, how="anti").with_columns(
        pl.col("budget").replace_strict(RIGHT_CODES, return_dtype=pl.String).alias("code"),
        pl.lit("FAILS").alias("outcome"),
    )
    return pl.concat([coded, gone.select(coded.columns)]).unique()


def _by_budget() -> pl.Expr:
    return pl.when(pl.col("budget") == "ZZB").then("zzb_code").otherwise("bob_code").alias("code")


def l_reason(keys: pl.DataFrame, periods: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """L-REASON: a letter about a STOPPED, CANCELLED or CHANGED grant, and a recovery letter, names the facts that
    changed, each with its record and dates: the date of death, the end of the affiliation, the end of the facility
    stay, the newer scale or screener result under its threshold (date and score), the VAPH record that started
    (kind and date), the residence that no longer counts. A generic sentence ("the month lies in no period with a
    right") is never the only reason. A NEW grant whose first month is the first month of the evaluation window
    says that earlier months are not part of this decision and that the member may ask the zorgkas about them; a
    letter that pays arrears states the months and the amount paid.

    docs/spec/rules.md §9. The failing codes of the months lost, with their records (the death, the affiliation's
    end, the VAPH record, the residence), come from the decided periods (`motivation`); this gives the facts about
    the grounds, per key (REASON_COLUMNS) with a lost month, as motivation rows (key, code, outcome, record):
    - ENDED: a ground record the earlier decision rested on (`before`, and the evidence of this run's entitled
      period that ends the month before the lost month) whose validity ended before the lost month (a screener's or
      scale's valid_until, a stay's discharge, a VAPH support need's end);
    - GONE: such a record that is no longer among the person's records (withdrawn from the feed, or quarantined
      under another insz): the right's code, with the feed and record id;
    - BELOW: a screener or scale of the person newer than those records that proves no care need (under its
      threshold, or from a service that does not count): in the evidence of no decided period of the person and
      budget (a record that proves the need is a ground of some period, entitled or excluded).
    The window's NEW grant and the arrears are content.py's `earlier` and `month_runs`. CHANGED grants keep the
    codes and records of their latest period (their grounds, amount or first month are what changed).
    """
    key = ["insz", "budget", "first_month"]
    changed = keys.filter(pl.col("lost_month").is_not_null())
    entitled = periods.filter(pl.col("entitled"))
    ending = (
        changed.join(entitled, on=["insz", "budget"], suffix="_period")
        .filter(pl.col("last_month_period") == pl.col("lost_month").dt.offset_by("-1mo"))
        .select(*key, "evidence")
    )
    before = (
        pl.concat([changed.select(*key, pl.col("before").alias("evidence")), ending])
        .explode("evidence")
        .drop_nulls("evidence")
        .unique()
        .join(changed.select(*key, "lost_month"), on=key)
    )
    found = before.join(records.drop_nulls("evidence"), on=["insz", "evidence"], how="left").with_columns(_by_budget())
    grounds = found.filter(pl.col("feed").is_not_null() & pl.col("code").str.starts_with("G-"))
    ended = grounds.filter(pl.col("record_end_date") < pl.col("lost_month")).with_columns(
        pl.lit("ENDED").alias("outcome")
    )
    # a case record (case_decisions:, a decision by hand) is no source record: it never goes, an END ends it
    gone = found.filter(pl.col("feed").is_null() & ~pl.col("evidence").str.starts_with("case_decisions:")).with_columns(
        pl.col("budget").replace_strict(RIGHT_CODES, return_dtype=pl.String).alias("code"),
        pl.lit("GONE").alias("outcome"),
        pl.col("evidence").str.split_exact(":", 1).struct.field("field_0").alias("feed"),
        pl.col("evidence").str.split_exact(":", 1).struct.field("field_1").alias("record_id"),
    )
    below = _newer_without_need(changed.filter(pl.col("budget") == "ZZB").select(key), grounds, periods, records)
    columns = [*key, "code", "outcome", *[c for c in MOTIVATION_COLUMNS if c not in (*key, "code", "outcome")]]
    parts = [frame.select([pl.col(c).cast(MOTIVATION_COLUMNS[c]) for c in columns]) for frame in (ended, gone, below)]
    return pl.concat(parts)


def _newer_without_need(
    keys: pl.DataFrame, grounds: pl.DataFrame, periods: pl.DataFrame, records: pl.DataFrame
) -> pl.DataFrame:
    """L-REASON's BELOW rows: per key, the screeners and scales newer than the grounds the decision rested on that are
    in no decided period's evidence (they prove no care need)."""
    key = ["insz", "budget", "first_month"]
    latest = grounds.group_by(key).agg(pl.col("record_date").max().alias("_latest"))
    rested = periods.select("insz", "budget", "evidence").explode("evidence").drop_nulls().unique()
    needs = records.drop_nulls("evidence").filter(pl.col("zzb_code").is_in(["G-BELRAI", "G-MEDSOC", "G-ZTK"]))
    return (
        keys.join(needs, on="insz")
        .join(latest, on=key, how="left")
        .filter(pl.col("record_date") > pl.col("_latest").fill_null(dt.date.min))
        .join(rested, on=["insz", "budget", "evidence"], how="anti")
        .with_columns(pl.col("zzb_code").alias("code"), pl.lit("BELOW").alias("outcome"))
    )


def motivation(
    events: pl.DataFrame, periods: pl.DataFrame, records: pl.DataFrame, month_of_run: dt.date
) -> pl.DataFrame:
    """MOTIVATION_COLUMNS for the decision events among `events` (grants.EVENT_COLUMNS): per event, every code that
    decided it with its records (module docstring) and the facts that changed (`l_reason`). `periods`: the decided
    periods (PERIOD_COLUMNS) of this run; `records`: RECORD_COLUMNS (`evidence_records`, `member_records`,
    `residence_records`) of at least the persons of `events`."""
    return _motivation(event_reasons(events), periods, records, month_of_run)


def recovery_motivation(
    recoveries: pl.DataFrame,
    periods: pl.DataFrame,
    records: pl.DataFrame,
    month_of_run: dt.date,
    granted: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """MOTIVATION_COLUMNS for the recovery letters: per person and budget (first_month: the first month recovered),
    what fails in the months recovered with its records, and the facts that changed (`l_reason`); `granted`: see
    `recovery_reasons`."""
    return _motivation(recovery_reasons(recoveries, granted), periods, records, month_of_run)


def _motivation(keys: pl.DataFrame, periods: pl.DataFrame, records: pl.DataFrame, month_of_run: dt.date):
    key = ["insz", "budget", "first_month"]
    behind = _periods_behind(keys, periods, month_of_run)
    codes = _codes(keys, behind)
    listed = behind.select(*key, "evidence").explode("evidence").drop_nulls("evidence").unique()
    from_periods = listed.join(records.drop_nulls("evidence"), on=["insz", "evidence"]).with_columns(_by_budget())
    failing = codes.filter(pl.col("outcome") == "FAILS").select(*key, "code")
    at = keys.select(*key, pl.coalesce("lost_month", "first_month").alias("_at"))
    of_members = (
        failing.join(
            records.filter(pl.col("evidence").is_null()), left_on=["insz", "code"], right_on=["insz", "zzb_code"]
        )
        .join(at, on=key)
        .filter(
            (pl.col("feed") != "residence_periods")
            | ((pl.col("record_date") <= pl.col("_at")) & pl.col("record_end_date").fill_null(_FAR).ge(pl.col("_at")))
        )
    )
    detail = [c for c in MOTIVATION_COLUMNS if c not in (*key, "code", "outcome")]
    found = pl.concat([from_periods.select(*key, "code", *detail), of_members.select(*key, "code", *detail)])
    rows = codes.join(found.unique(), on=[*key, "code"], how="left")
    rows = rows.select([pl.col(c).cast(t) for c, t in MOTIVATION_COLUMNS.items()])
    facts = l_reason(keys, periods, records)
    generic = pl.col("code").is_in(list(RIGHT_CODES.values())) & (pl.col("outcome") == "FAILS")
    generic = generic & pl.col("record_id").is_null()
    told = facts.select(key).unique()
    rows = pl.concat([rows.filter(~generic), rows.filter(generic).join(told, on=key, how="anti"), facts])
    return rows.unique().sort(*MOTIVATION_COLUMNS, nulls_last=True)
