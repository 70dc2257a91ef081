-- The trends of the committed runs of $kind up to $run_date, but the run's own key; the latest $history.
SELECT run_date, kind, active_grants, payment_rows, payment_amount::DOUBLE AS payment_amount,
       quarantine_rate, seconds, applications_open, applications_overdue, appeals_open
FROM run_trends
WHERE kind = $kind AND run_key <> $run_key AND run_date <= $run_date
ORDER BY run_date DESC, run_key DESC
LIMIT $history
