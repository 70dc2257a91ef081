-- PAY-ONCE (docs/spec/rules.md §8): the payment ledger's primary key refuses a second payment of a month
-- (absence budgets: budget ZZB-ABSENCE, month the 31 August that ends the school year).
CREATE TABLE IF NOT EXISTS grant_history (
    run_key VARCHAR NOT NULL,
    insz VARCHAR NOT NULL, zorgkas VARCHAR NOT NULL, budget VARCHAR NOT NULL,
    first_month DATE NOT NULL, last_month DATE, monthly_amount DECIMAL(12,2),
    grounds VARCHAR[], evidence VARCHAR[]
);
CREATE TABLE IF NOT EXISTS payment_ledger (
    insz VARCHAR NOT NULL, budget VARCHAR NOT NULL, month DATE NOT NULL,
    amount DECIMAL(12,2) NOT NULL, run_key VARCHAR NOT NULL, paid_on DATE NOT NULL,
    PRIMARY KEY (insz, budget, month)
);
CREATE TABLE IF NOT EXISTS recovery_ledger (
    insz VARCHAR NOT NULL, budget VARCHAR NOT NULL, month DATE NOT NULL,
    amount DECIMAL(12,2) NOT NULL, run_key VARCHAR NOT NULL, listed_on DATE NOT NULL,
    PRIMARY KEY (insz, budget, month)
);
