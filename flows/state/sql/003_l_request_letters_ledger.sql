-- L-REQUEST (docs/spec/rules.md §9): the request letters sent, one row per (insz, code, since).
CREATE TABLE IF NOT EXISTS letters_ledger (
    insz VARCHAR NOT NULL,
    code VARCHAR NOT NULL,              -- the W- code the request letter is about
    since DATE NOT NULL,                -- the work-list row's since: a new since is a new request
    letter_id VARCHAR NOT NULL,
    run_key VARCHAR NOT NULL,           -- the nightly run that sent it
    sent_on DATE NOT NULL,
    PRIMARY KEY (insz, code, since)
);
