-- The run key of the latest nightly run committed before this one (the keys in $unseen left out).
SELECT run_key FROM runs
WHERE kind = 'nightly' AND NOT list_contains($unseen, run_key)
ORDER BY seq DESC LIMIT 1
