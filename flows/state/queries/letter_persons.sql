-- Persons with a grant in the latest nightly run, or in the latest one the run does not leave out ($unseen).
SELECT DISTINCT insz FROM grant_history
WHERE run_key IN (SELECT run_key FROM runs WHERE kind = 'nightly' ORDER BY seq DESC LIMIT 1)
   OR run_key IN (
       SELECT run_key FROM runs WHERE kind = 'nightly' AND NOT list_contains($unseen, run_key)
       ORDER BY seq DESC LIMIT 1)
