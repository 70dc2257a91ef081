"""The care premium's state: the invoice and fine ledgers (docs/spec/rules.md §7).

- premium_invoices: one row per (insz, premium_year) ever invoiced, with its zorgkas, invoice_id,
  reference base, amount, due and invoice dates and the run that issued it. An invoice run of (Y, D)
  publishes the invoices of Y it issued on D in an earlier attempt (read back, never recomputed) and
  issues the members liable on D that no run has invoiced yet; nothing is ever reissued. Reference
  bases follow the zorgkas's highest base in the ledger (pipelines/premium/invoices.py `p_reference`).
- premium_fines: one row per (insz, fine_year): a rerun of year F adds no second fine.
Each run is a row of the state's `runs` table, as the nightly runs are (flows/publication/protocol.py).
"""

from __future__ import annotations

import duckdb
import polars as pl

from flows.state.ledger import frame_of
from flows.state.store import register, transaction
from pipelines.premium.fines import FINE_COLUMNS
from pipelines.premium.invoices import LEDGER_INVOICE_COLUMNS

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS premium_invoices (
    insz VARCHAR NOT NULL,
    premium_year INTEGER NOT NULL,
    zorgkas VARCHAR NOT NULL,
    invoice_id VARCHAR NOT NULL,
    reference_base BIGINT NOT NULL,     -- one sequence per zorgkas, across years (`p_reference`)
    amount DECIMAL(12, 2) NOT NULL,
    reduced BOOLEAN NOT NULL,
    grounds VARCHAR[] NOT NULL,
    due_date DATE NOT NULL,
    invoice_date DATE NOT NULL,         -- the run date D of the run that issued it
    run_key VARCHAR NOT NULL            -- the folder that first published it, e.g. 2026/2026-01-02
    -- keys (insz, premium_year) and (zorgkas, reference_base): checked before the commit
    -- (`check_new_invoices`), not declared: DuckDB's index upkeep costs ~2 s per million rows inserted
);
CREATE TABLE IF NOT EXISTS premium_fines (
    insz VARCHAR NOT NULL,
    fine_year INTEGER NOT NULL,
    zorgkas VARCHAR NOT NULL,
    amount DECIMAL(12, 2) NOT NULL,
    years_in_default INTEGER[] NOT NULL,
    run_key VARCHAR NOT NULL,           -- e.g. 2026, 2026.v2
    PRIMARY KEY (insz, fine_year)
);
"""


@register
def ensure_premium_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEDGER_SCHEMA)
    retire_premium_runs(con)


def retire_premium_runs(con: duckdb.DuckDBPyConnection) -> None:
    """A state from before the one `runs.published` flag: premium_runs' dates and flags move to `runs`."""
    if con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'premium_runs'").fetchall()[0][0]:
        with transaction(con):
            con.execute(
                "UPDATE runs SET run_date = p.run_date, published = p.published FROM premium_runs p "
                "WHERE runs.kind = p.kind AND runs.run_key = p.run_key"
            )
            con.execute("DROP TABLE premium_runs")


def invoices_of_year(con: duckdb.DuckDBPyConnection, year: int) -> pl.DataFrame:
    """Every invoice of premium year `year` in the ledger (LEDGER_INVOICE_COLUMNS)."""
    sql = f"SELECT {', '.join(LEDGER_INVOICE_COLUMNS)} FROM premium_invoices WHERE premium_year = ?"
    return frame_of(con, sql, [year], LEDGER_INVOICE_COLUMNS)


def last_reference_bases(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per zorgkas, the highest reference base issued so far (all years)."""
    sql = "SELECT zorgkas, max(reference_base) AS last_base FROM premium_invoices GROUP BY zorgkas"
    return frame_of(con, sql, [], {"zorgkas": pl.String, "last_base": pl.Int64})


def fines_of_year(con: duckdb.DuckDBPyConnection, fine_year: int) -> pl.DataFrame:
    """Every fine of year `fine_year` in the ledger (FINE_COLUMNS)."""
    sql = f"SELECT {', '.join(FINE_COLUMNS)} FROM premium_fines WHERE fine_year = ? ORDER BY zorgkas, insz"
    return frame_of(con, sql, [fine_year], FINE_COLUMNS)


def insert_rows(table: str, rows: pl.DataFrame, run_key: str):
    """The state change of a premium run: its new ledger rows, under its run key."""
    rows = rows.with_columns(pl.lit(run_key).alias("run_key"))

    def change(con: duckdb.DuckDBPyConnection) -> None:
        con.register("new_ledger_rows", rows.to_arrow())
        try:
            columns = ", ".join(rows.columns)
            con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM new_ledger_rows")
        finally:
            con.unregister("new_ledger_rows")

    return change
