-- L-REASON: (insz, budget, evidence) of the grants that paid the recovered_months, as the latest earlier nightly
-- run that granted each month recorded them (the runs in $unseen left out).
SELECT DISTINCT insz, budget, unnest(evidence) AS evidence FROM (
    SELECT r.insz, r.budget, g.evidence
    FROM recovered_months r
    JOIN grant_history g
      ON g.insz = r.insz AND g.budget = r.budget AND g.first_month <= r.month
     AND (g.last_month IS NULL OR g.last_month >= r.month)
    JOIN runs u ON u.run_key = g.run_key AND u.kind = 'nightly'
    WHERE NOT list_contains($unseen, g.run_key)
    QUALIFY u.seq = max(u.seq) OVER (PARTITION BY r.insz, r.budget, r.month)
)
ORDER BY ALL
