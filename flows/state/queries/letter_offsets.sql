-- Per zorgkas and kind, the highest letter number that other runs of $letter_date used.
SELECT zorgkas, kind, max(last_number) AS offset
FROM letter_numbers
WHERE letter_date = $letter_date AND run_key <> $run_key
GROUP BY zorgkas, kind
ORDER BY zorgkas, kind
