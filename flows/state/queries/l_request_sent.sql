-- L-REQUEST: the (insz, code, since) of wanted_requests whose request letter an earlier run sent. A row whose since
-- is the window's first month ($window_first) began before the window: the request sent with a since on or before it.
SELECT DISTINCT w.insz, w.code, w.since
FROM wanted_requests w
JOIN letters_ledger l
  ON l.insz = w.insz AND l.code = w.code
 AND (l.since = w.since OR (w.since = $window_first AND l.since <= $window_first))
WHERE NOT list_contains($unseen, l.run_key)
