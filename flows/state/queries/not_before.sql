-- The run keys whose rows the run $run_key does not see: the nightly runs committed after it (its own is added
-- by the caller). None, unless $run_key is a rerun of a date before the latest night.
SELECT run_key FROM runs
WHERE kind = 'nightly' AND seq > (SELECT seq FROM runs WHERE kind = 'nightly' AND run_key = $run_key)
ORDER BY seq
