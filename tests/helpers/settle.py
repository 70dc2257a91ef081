"""Builders of the frames `settle` reads (tests/settle/): hand-made frames with the exact schemas.

The default case: the payment run of 2026-11-26 (window 2024-12 to 2026-11), one member (INSZ_1985, ZK100, a
valid IBAN) with a ZZB at 140.00 a month.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import polars as pl

from flows.reference import load_reference
from flows.state.ledger import previous as state_before
from flows.state.migrations import migrate
from flows.state.store import connect
from pipelines.decide.absence import ABSENCE_COLUMNS
from pipelines.decide.decisions import PERIOD_COLUMNS
from pipelines.decide.worklist import WORKLIST_COLUMNS
from pipelines.ingest.iban import with_iban_status
from pipelines.ingest.staging import QUARANTINE_COLUMNS
from pipelines.settle.appeals import CASE_COLUMNS
from pipelines.settle.grants import GRANT_COLUMNS
from pipelines.settle.payments import (
    LEDGER_COLUMNS,
)
from pipelines.settle.settlement import Settlement, settle
from pipelines.timeline import add_months, window_months
from schemas.feeds import FEEDS
from tests.helpers.builders import INSZ_1985, frame, valid_rows

D = dt.date
RUN = D(2026, 11, 26)  # the payment run of November 2026
WINDOW_FIRST = D(2024, 12, 1)
MONTH_OF_RUN = D(2026, 11, 1)
REFERENCE = load_reference()
PARAMS = REFERENCE.parameters.params_on(RUN)
IBAN_1985 = "BE72735100000116"
IBAN_2000 = "BE55735200000244"
HOLDS = ["G-MEDSOC", "ZZB-START", "E-AFFILIATED", "E-ALIVE", "E-RESIDENCE", "E-WAITING"]


def M(year: int, month: int) -> dt.date:
    return D(year, month, 1)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from `first` through `last`."""
    found = []
    while first <= last:
        found.append(first)
        first = add_months(first, 1)
    return found


# --- builders of the frames settle reads ---------------------------------------------------------------


def period(
    first: dt.date,
    last: dt.date,
    entitled: bool = True,
    amount: str = "140.00",
    budget: str = "ZZB",
    insz: str = INSZ_1985,
    fails: list[str] | None = None,
) -> dict:
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        status="ENTITLED" if entitled else "NOT_ENTITLED",
        entitled=entitled,
        holds=HOLDS if budget == "ZZB" else ["G-BOB", "E-AFFILIATED"],
        fails=[] if entitled else (fails or ["E-AFFILIATED"]),
        evidence=["medsoc_scales:MS0"],
        monthly_amount=Decimal(amount),
    )


def periods(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PERIOD_COLUMNS, orient="row")


def member(insz: str = INSZ_1985, iban: str | None = IBAN_1985, **changes) -> dict:
    return valid_rows()["members"][0] | {"insz": insz, "iban": iban, "name": f"Member {insz[:2]}"} | changes


def members(rows: list[dict]) -> pl.DataFrame:
    """The members feed as staging gives it: with iban_status, an invalid IBAN set to null."""
    return with_iban_status(frame("members", rows), "iban")


SCHOOL_YEAR_END = D(2025, 8, 31)  # the last day of school year 2024


def absence(
    month: dt.date = SCHOOL_YEAR_END, quantity: int = 2, due: bool = True, insz: str = INSZ_1985, fails=()
) -> dict:
    """An absence budget (ABSENCE_COLUMNS) at 140.00 per budget."""
    return dict(
        insz=insz,
        zorgkas="ZK100",
        school_year=month.year - 1,
        month=month,
        quantity=quantity,
        amount=Decimal("140.00") * quantity,
        due=due,
        holds=["G-ABSENCE"],
        fails=list(fails),
        evidence=["vaph_support:A1"],
    )


def absences(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ABSENCE_COLUMNS, orient="row")


def paid(
    month: dt.date, budget: str = "ZZB", amount: str = "140.00", insz: str = INSZ_1985, paid_on: dt.date | None = None
) -> dict:
    """A payment ledger row; paid on the 26th of its month unless told."""
    on = paid_on or D(month.year, month.month, 26)
    return dict(insz=insz, budget=budget, month=month, amount=Decimal(amount), run_key=on.isoformat(), paid_on=on)


def g(first: dt.date, last: dt.date | None = None, budget: str = "ZZB", insz: str = INSZ_1985) -> dict:
    """A previous run's grant."""
    amount, grounds = ("140.00", ["G-MEDSOC"]) if budget == "ZZB" else ("300.00", ["G-BOB"])
    return dict(
        insz=insz,
        zorgkas="ZK100",
        budget=budget,
        first_month=first,
        last_month=last,
        monthly_amount=Decimal(amount),
        grounds=grounds,
        evidence=["medsoc_scales:MS0"],
    )


@dataclass(frozen=True)
class Before:
    """The state before a run, as rows: the previous night's grants, the payment ledger, the recoveries listed."""

    grant_rows: list[dict] = ()
    ledger: list[dict] = ()
    recovered: list[tuple] = ()

    @property
    def grants(self) -> pl.DataFrame:
        return pl.DataFrame(self.grant_rows, schema=GRANT_COLUMNS, orient="row")


def previous(grants: list[dict] = (), ledger: list[dict] = (), recovered: list[tuple] = ()) -> Before:
    return Before(list(grants), list(ledger), list(recovered))


def state_with(before: Before) -> duckdb.DuckDBPyConnection:
    """An in-memory state holding `before` as the nightly run records it (flows/state tables): the previous
    night's grants, its payment ledger and the recoveries already listed."""
    con = connect()
    migrate(con)  # every table of the state (flows/state/migrations.py)
    con.execute(
        "INSERT INTO runs (kind, run_key, folder, manifest_sha256, run_date, seq, published) "
        "VALUES ('nightly', 'before', 'nightly/before', '', DATE '2026-10-27', 1, true)"
    )
    grants = before.grants
    recovered = [(i, b, m, Decimal("0"), "before", m) for i, b, m in before.recovered]
    tables = {
        "grant_history": grants.select(pl.lit("before").alias("run_key"), *GRANT_COLUMNS),
        "payment_ledger": pl.DataFrame(before.ledger, schema=LEDGER_COLUMNS, orient="row"),
        "recovery_ledger": pl.DataFrame(recovered, schema=RECOVERED, orient="row"),
    }
    for table, rows in tables.items():
        con.register("new_rows", rows.to_arrow())
        con.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
        con.unregister("new_rows")
    return con


RECOVERED = {**LEDGER_COLUMNS, "listed_on": pl.Date}
del RECOVERED["paid_on"]


def quarantined(feed: str, insz: str | None = INSZ_1985, rule: str = "R-RANGE") -> pl.DataFrame:
    """One quarantined row of `feed` (the original row as JSON in `row`)."""
    row = {column: None for column in FEEDS[feed].columns} | {"insz": insz}
    return pl.DataFrame(
        [
            dict(
                feed=feed,
                delivery_date=D(2026, 11, 1),
                source_file=f"{feed}/delivery_date=2026-11-01/part-00000.parquet",
                row_number=1,
                rule=rule,
                column="insz",
                rules=[rule],
                row=json.dumps(row, default=str),
            )
        ],
        schema=QUARANTINE_COLUMNS,
        orient="row",
    )


def no_quarantine() -> dict[str, pl.DataFrame]:
    return {feed: pl.DataFrame(schema=QUARANTINE_COLUMNS) for feed in FEEDS}


def run(
    rows: list[dict],
    *,
    run_date: dt.date = RUN,
    member_rows: list[dict] | None = None,
    quarantines: dict[str, pl.DataFrame] | None = None,
    before: Before | None = None,
    absence_rows: list[dict] = (),
    payment_run: bool = True,
    worklist_rows: pl.DataFrame | None = None,
    case_rows: list[dict] = (),
) -> Settlement:
    """`settle` on hand-made frames, with what is owed and recoverable computed by the state's SQL
    (pipelines/settle/payments.py pay_month, pay_recovery, run by flows/state/ledger.py `previous`, as the
    night runs them); by default the payment run of RUN on an empty state."""
    p = REFERENCE.parameters.params_on(run_date)
    decided, due = periods(rows), absences(list(absence_rows))
    con = state_with(before or previous())
    try:
        found = state_before(
            con, "this run", decided, due, window_months(run_date, p.evaluation_window_months), payment_run
        )
    finally:
        con.close()
    return settle(
        decided,
        due,
        members(member_rows if member_rows is not None else [member()]),
        no_quarantine() | (quarantines or {}),
        worklist_rows if worklist_rows is not None else pl.DataFrame(schema=WORKLIST_COLUMNS),
        found,
        p,
        run_date,
        payment_run,
        pl.DataFrame(list(case_rows), schema=CASE_COLUMNS, orient="row"),
    )


def ledger_of(*settlements: Settlement, paid_on: dt.date = RUN) -> list[dict]:
    """The ledger rows a run records for its payments (flows/state/ledger.py run_rows, written by State.record)."""
    return [
        paid(r["month"], r["budget"], str(r["amount"]), r["insz"], paid_on)
        for s in settlements
        for r in s.payments.iter_rows(named=True)
    ]


def paid_months(settled: Settlement, budget: str = "ZZB") -> list[dt.date]:
    return settled.payments.filter(pl.col("budget") == budget)["month"].to_list()


def worklist(settled: Settlement, code: str) -> list[dict]:
    return settled.worklist.filter(pl.col("code") == code).drop("code", "due").to_dicts()


# a death in July 2026 reported late, and every month through October 2026 paid
DIED = [period(M(2025, 1), M(2026, 7)), period(M(2026, 8), MONTH_OF_RUN, False, fails=["E-ALIVE"])]
PAID_THROUGH_OCTOBER = [paid(m) for m in months(M(2025, 1), M(2026, 10))]
