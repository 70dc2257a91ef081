"""The state's tables, made by numbered migrations; `schema_version` lists the ones a state file has had.

A new state gets every migration in order; a state file from before `schema_version` (any vsb state written
before it: the tables it holds were made by `CREATE TABLE IF NOT EXISTS` on every open) gets them all too:
each migration is written to find its work done (IF NOT EXISTS, a column looked up first), so an older file
is brought to the same tables, its rows kept. Then each migration is recorded in `schema_version` and, on
the next open, only the ones after the highest recorded run. Tables are made when a state is opened
(flows/state/state.py `State`), never when a module is imported.

The marker `vsb_state` (docs/spec/outputs.md, Only a vsb state; flows/state/store.py) keeps its own number,
`STATE_VERSION`: the oldest vsb that reads the file. A migration that only adds (a table, a nullable column:
an older vsb reads the tables by their column names) leaves it as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

SQL = Path(__file__).with_name("sql")
VERSIONS = "schema_version"


def sql_file(name: str) -> str:
    """The text of `flows/state/sql/<name>`."""
    return (SQL / name).read_text()


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    query = "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
    return {c for (c,) in con.execute(query, [table]).fetchall()}


def runs(con: duckdb.DuckDBPyConnection) -> None:
    """The runs table; a state from before `published` gets the column, its runs counted as published."""
    con.execute(sql_file("001_runs.sql"))
    if "published" not in columns_of(con, "runs"):
        con.execute("ALTER TABLE runs ADD COLUMN published BOOLEAN DEFAULT TRUE")


def pay_once(con: duckdb.DuckDBPyConnection) -> None:
    """PAY-ONCE: the payment ledger holds one row per (insz, budget, month) and per (insz, school year) for
    absence budgets: no month is ever paid twice, whatever reruns, backfills or crashes happen.

    docs/spec/rules.md §8. The ledger's primary key (absence budgets: budget ZZB-ABSENCE, month the 31 August that
    ends the school year) refuses a second row, so a second payment of a month can never be committed;
    `pay_month` pays only what the ledger does not hold, and the run's rows are written in the transaction
    that commits the run (flows/state/state.py `State.commit`). Made by migration 2 (sql/002_pay_once.sql).
    """
    con.execute(sql_file("002_pay_once.sql"))


def premium_ledgers(con: duckdb.DuckDBPyConnection) -> None:
    """The invoice and fine ledgers; a state from before the one `runs.published` flag: premium_runs' dates and
    flags move to `runs`."""
    con.execute(sql_file("005_premium_ledgers.sql"))
    if con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'premium_runs'").fetchall()[0][0]:
        con.execute(
            "UPDATE runs SET run_date = p.run_date, published = p.published FROM premium_runs p "
            "WHERE runs.kind = p.kind AND runs.run_key = p.run_key"
        )
        con.execute("DROP TABLE premium_runs")


# run_trends columns added since the table was first made (issue 21), in order: (name, type)
TREND_CASE_COLUMNS = (
    ("applications_open", "BIGINT"),  # nightly: open applications, those past their legal term included
    ("applications_overdue", "BIGINT"),  # nightly: open applications past their legal term
    ("appeals_open", "BIGINT"),  # nightly: open appeals
)


def trend_cases(con: duckdb.DuckDBPyConnection) -> None:
    """run_trends' case counts (issue 21): null in the rows from before, which the report leaves out of the chart."""
    present = columns_of(con, "run_trends")
    for name, kind in TREND_CASE_COLUMNS:
        if name not in present:
            con.execute(f"ALTER TABLE run_trends ADD COLUMN {name} {kind}")


def script(name: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    return lambda con: con.execute(sql_file(name))


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


MIGRATIONS = (
    Migration(1, "runs", runs),
    Migration(2, "pay_once", pay_once),
    Migration(3, "letters_ledger", script("003_l_request_letters_ledger.sql")),
    Migration(4, "letter_numbers", script("004_letter_numbers.sql")),
    Migration(5, "premium_ledgers", premium_ledgers),
    Migration(6, "run_trends", script("006_run_trends.sql")),
    Migration(7, "run_trends_cases", trend_cases),
)
LATEST = MIGRATIONS[-1].version


def applied(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration the file has had (0: a new file, or one from before `schema_version`)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {VERSIONS} (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    return con.execute(f"SELECT coalesce(max(version), 0) FROM {VERSIONS}").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations the file has not had, in order, in one transaction; returns their numbers."""
    con.execute("BEGIN TRANSACTION")
    try:
        done = applied(con)
        todo = [m for m in MIGRATIONS if m.version > done]
        for migration in todo:
            migration.apply(con)
            con.execute(f"INSERT INTO {VERSIONS} VALUES (?, ?)", [migration.version, migration.name])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return [m.version for m in todo]
