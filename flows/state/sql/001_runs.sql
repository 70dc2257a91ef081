-- The runs: one row per committed run of any kind (flows/publication/protocol.py).
CREATE TABLE IF NOT EXISTS runs (
    kind VARCHAR NOT NULL,          -- nightly, invoices, fines
    run_key VARCHAR NOT NULL,       -- e.g. 2026-11-26, 2026-11-26.v2, 2026/2026-01-02
    folder VARCHAR NOT NULL,        -- the published folder, relative to the outbox
    manifest_sha256 VARCHAR NOT NULL,
    run_date DATE,
    seq BIGINT,                     -- commit order
    payment_run BOOLEAN DEFAULT FALSE,
    published BOOLEAN NOT NULL DEFAULT FALSE,  -- false between the state commit and the rename (protocol.py)
    PRIMARY KEY (kind, run_key)
);
