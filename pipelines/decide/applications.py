"""Applications and decisions by hand on the work list (docs/spec/rules.md §10).

The engine does not re-judge what people at the zorgkas or the agency decided: it tells the zorgkas
which applications wait for its decision (and which are past the legal 90-day term), which appeals
wait for the agency, which months it granted by hand clash with a VAPH or MPI exclusion, and it
stops asking a member to apply who has applied.

`cases` is the valid rows of the `case_decisions` feed (docs/spec/feeds.md): record_id, insz,
budget, kind, received_date, decided_date, refers_to, first_month, last_month. `granted` is one
row per month granted by hand or on appeal (pipelines/decide/cases.py `granted_by_hand`): insz,
budget, month, record_id, on_appeal, decided_date, received_date.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipelines.decide.conditions import e_affiliated, e_alive
from pipelines.decide.exclusions import BOB_VAPH, ZZB_VAPH
from pipelines.decide.worklist import work_rows
from pipelines.params import Params
from pipelines.timeline import active_on, age_on, window_months

APPLY_CODES = ["W-APPLY-SPECIAL", "W-APPLY-FACILITY"]
MEMBER_COLUMNS = ["insz", "zorgkas", "birth_date", "death_date", "affiliation_start", "affiliation_end"]
# W-APPLY-SPECIAL and W-APPLY-FACILITY ask for an application for the ZZB (a facility stay is a ground of the ZZB
# only: §2, §5)
APPLY_BUDGET = "ZZB"
# W-MANUAL-CONFLICT: the VAPH and MPI exclusions of each budget; not X-SPECIAL-STAY nor T-NRTH-2017 (one applies
# for those situations)
CONFLICTS = {"ZZB": [c for c in ZZB_VAPH if c.startswith("X-")], "BOB": list(BOB_VAPH)}


def members_of(members: pl.LazyFrame, persons: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """`columns` of the members among `persons` (insz): the few persons of the cases first, so that 7M members
    are scanned once against a small hash, never hashed themselves."""
    return members.select(columns).join(persons.select("insz").unique(), on="insz", how="semi")


def _case_evidence(record_id: str = "record_id") -> pl.Expr:
    return pl.format("case_decisions:{}", pl.col(record_id))


def m_application(cases: pl.LazyFrame, p: Params, run_date: dt.date) -> pl.LazyFrame:
    """M-APPLICATION: an APPLICATION row is open from its received_date until a GRANT or REFUSAL row refers
    to it; the zorgkas decides within application_decision_days (90) of receiving the form.

    docs/spec/rules.md §10; official page, "Na uw aanvraag". Gives the applications open on the run date D:
    insz, budget, record_id, received_date and `due` = received_date + application_decision_days (read on D).
    Only rows of D or before count (a run reads nothing later). A GRANT or REFUSAL names its application by
    `refers_to` (R-REFERENCE checked the insz and budget at ingest; they are part of the join all the same).
    """
    decided = cases.filter(
        pl.col("kind").is_in(["GRANT", "REFUSAL"])
        & (pl.col("decided_date") <= run_date)
        & pl.col("refers_to").is_not_null()
    ).select("insz", "budget", pl.col("refers_to").alias("record_id"))
    return (
        cases.filter((pl.col("kind") == "APPLICATION") & (pl.col("received_date") <= run_date))
        .join(decided, on=["insz", "budget", "record_id"], how="anti")
        .select(
            "insz",
            "budget",
            "record_id",
            "received_date",
            pl.col("received_date").dt.offset_by(f"{p.application_decision_days}d").alias("due"),
        )
    )


def _application_rows(open_applications: pl.LazyFrame, members: pl.LazyFrame, code: str, detail: str):
    return work_rows(
        open_applications.join(members_of(members, open_applications, ["insz", "zorgkas"]), on="insz"),
        code,
        pl.col("received_date"),
        pl.format(detail, pl.col("budget"), pl.col("received_date"), pl.col("due")),
        pl.concat_list(_case_evidence()),
        pl.col("due"),
    )


def w_application_open(open_applications: pl.LazyFrame, members: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-APPLICATION-OPEN: an application open on D (M-APPLICATION) whose due date is D or later: the
    zorgkas decides; `since` = received_date, `due` = the day by which it must.

    docs/spec/rules.md §10. `open_applications`: `m_application`. Members only (the zorgkas is theirs).
    """
    within = open_applications.filter(pl.col("due") >= run_date)
    return _application_rows(within, members, "W-APPLICATION-OPEN", "{} application received {}: decide by {}")


def w_application_overdue(open_applications: pl.LazyFrame, members: pl.LazyFrame, run_date: dt.date) -> pl.LazyFrame:
    """W-APPLICATION-OVERDUE: from the day after its due date an open application is overdue instead of
    open: the zorgkas is past its legal term; `since` = received_date, `due` = the day the term ended.

    docs/spec/rules.md §10 (M-APPLICATION). Received on D - 90 days: due on D, still open; on D - 91: overdue.
    """
    past = open_applications.filter(pl.col("due") < run_date)
    return _application_rows(past, members, "W-APPLICATION-OVERDUE", "{} application received {}: legal term ended {}")


def without_applied(
    worklist: pl.LazyFrame, cases: pl.LazyFrame, granted: pl.LazyFrame, run_date: dt.date
) -> pl.LazyFrame:
    """The work list without the W-APPLY-SPECIAL and W-APPLY-FACILITY rows of persons who applied (rules.md §10,
    M-APPLICATION): an application of the ZZB (open or decided) received on or after the row's `since`, or the month
    of D granted by hand or on appeal. Their L-REQUEST is not sent either: the letters are built from the work list.
    """
    applications = cases.filter(
        (pl.col("kind") == "APPLICATION") & (pl.col("budget") == APPLY_BUDGET) & (pl.col("received_date") <= run_date)
    ).select("insz", "received_date")
    asked = worklist.filter(pl.col("code").is_in(APPLY_CODES)).select("insz", "code", "since").unique()
    applied = (
        asked.join(applications, on="insz")
        .filter(pl.col("received_date") >= pl.col("since"))
        .select("insz", "code", "since")
    )
    granted_now = granted.filter(
        (pl.col("budget") == APPLY_BUDGET) & (pl.col("month") == run_date.replace(day=1))
    ).select("insz")
    by_hand = asked.join(granted_now, on="insz", how="semi").select("insz", "code", "since")
    done = pl.concat([applied, by_hand]).unique()
    return worklist.join(done, on=["insz", "code", "since"], how="anti", nulls_equal=True)


def w_manual_conflict(
    granted: pl.LazyFrame, members: pl.LazyFrame, vaph: pl.LazyFrame, p: Params, window: tuple[dt.date, dt.date]
) -> pl.LazyFrame:
    """W-MANUAL-CONFLICT: a month of the window granted by hand (not on appeal) in which a VAPH or MPI
    exclusion holds (X-VAPH-*, X-MPI-BOARDING, X-BOB-*; not X-SPECIAL-STAY nor T-NRTH-2017): still entitled
    and paid; the zorgkas checks its decision. `since` = the first such month; evidence: the case records and
    the exclusions' records.

    docs/spec/rules.md §10. One row per person and budget. Only months that are entitled (E-AFFILIATED and
    E-ALIVE hold: M-ENTITLED); the exclusions of the budget granted (ZZB: §4, BOB: §6), on first(M), with the
    age on first(M) and adult_age read on D.
    """
    first, last = window
    codes = {**ZZB_VAPH, **BOB_VAPH}
    months = (
        granted.filter(~pl.col("on_appeal") & pl.col("month").is_between(first, last))
        .join(members_of(members, granted, MEMBER_COLUMNS), on="insz")
        .filter(e_affiliated() & e_alive())
        .with_columns(age_on(pl.col("birth_date"), pl.col("month")).alias("age"))
    )
    active = months.join(
        vaph.select("insz", pl.col("record_id").alias("vaph_id"), "support_kind", "start_date", "end_date"), on="insz"
    ).filter(active_on(pl.col("start_date"), pl.col("end_date"), pl.col("month")))
    holding = pl.concat_list(
        [pl.when((pl.col("budget") == b) & codes[c](p)).then(pl.lit(c)) for b, cs in CONFLICTS.items() for c in cs]
    ).list.drop_nulls()
    clashes = active.with_columns(holding.alias("_codes")).filter(pl.col("_codes").list.len() > 0)
    found = clashes.group_by("insz", "zorgkas", "budget").agg(
        pl.col("month").min().alias("since"),
        pl.col("_codes")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .str.join(", ")
        .alias("_codes"),
        pl.concat_list(_case_evidence(), pl.format("vaph_support:{}", pl.col("vaph_id")))
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .alias("evidence"),
    )
    return work_rows(
        found,
        "W-MANUAL-CONFLICT",
        pl.col("since"),
        pl.format("{} granted by hand while {} holds: check the decision", pl.col("budget"), pl.col("_codes")),
        pl.col("evidence"),
    )


def case_worklist(
    worklist: pl.LazyFrame,
    cases: pl.LazyFrame,
    granted: pl.LazyFrame,
    members: pl.LazyFrame,
    vaph: pl.LazyFrame,
    p: Params,
    run_date: dt.date,
) -> pl.LazyFrame:
    """The decisions' work list with the rows of section 10: the requests to apply of persons who applied left out
    (`without_applied`), the open applications (W-APPLICATION-OPEN, or W-APPLICATION-OVERDUE past their term) and
    the months granted by hand under a VAPH or MPI exclusion (W-MANUAL-CONFLICT). The open appeals are listed when
    the night is settled (pipelines/settle/appeals.py), with the recoveries they hold back."""
    window = window_months(run_date, p.evaluation_window_months)
    applications = m_application(cases, p, run_date)
    worklist = worklist.collect().lazy()  # a few thousand rows, read twice by without_applied: computed once
    return pl.concat(
        [
            without_applied(worklist, cases, granted, run_date),
            w_application_open(applications, members, run_date),
            w_application_overdue(applications, members, run_date),
            w_manual_conflict(granted, members, vaph, p, window),
        ]
    )
