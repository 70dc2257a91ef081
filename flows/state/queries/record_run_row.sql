-- The run's row, committed with its state change, not yet published (the next place in the commit order).
INSERT INTO runs (kind, run_key, folder, manifest_sha256, run_date, seq, payment_run, published)
SELECT $kind, $run_key, $folder, $manifest_sha256, $run_date, coalesce(max(seq), 0) + 1, $payment_run, false
FROM runs
