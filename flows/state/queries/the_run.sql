-- The latest run of $kind dated $day (its latest version).
SELECT kind, run_key, folder, manifest_sha256, run_date, seq
FROM runs
WHERE kind = $kind AND run_date = $day
ORDER BY seq DESC LIMIT 1
