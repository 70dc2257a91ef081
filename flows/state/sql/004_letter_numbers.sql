-- The letter numbers a run used (flows/state/letter_numbers.py).
CREATE TABLE IF NOT EXISTS letter_numbers (
    run_key VARCHAR NOT NULL,       -- the nightly run that used the numbers
    letter_date DATE NOT NULL,
    zorgkas VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,          -- L-DECISION, L-RECOVERY, L-REQUEST
    last_number BIGINT NOT NULL,    -- the highest n of the run's letter ids of that zorgkas and kind
    PRIMARY KEY (run_key, zorgkas, kind)
);
