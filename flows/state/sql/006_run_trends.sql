-- The trends of the runs: one row per committed run, counts only (flows/state/trends.py).
CREATE TABLE IF NOT EXISTS run_trends (
    kind VARCHAR NOT NULL,          -- nightly, invoices, fines
    run_key VARCHAR NOT NULL,       -- as in runs
    run_date DATE NOT NULL,
    active_grants BIGINT,           -- open grants after the run (nightly)
    payment_rows BIGINT,            -- payment runs
    payment_amount DECIMAL(18,2),
    quarantine_rate DOUBLE,         -- quarantined rows / rows read
    seconds DOUBLE,                 -- from the start of the run to its commit
    PRIMARY KEY (kind, run_key)
);
