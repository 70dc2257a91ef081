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
from pipelines.premium.fines import FINE_COLUMNS
from pipelines.premium.invoices import LEDGER_INVOICE_COLUMNS


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
