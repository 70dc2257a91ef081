-- The care premium's ledgers (docs/spec/rules.md §7; flows/state/premium_ledger.py).
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
