-- Why items failed or were quarantined, per day, stage and reason, with one example detail.
SELECT dt, stage, reason, count(DISTINCT source_uri) AS items, count(*) AS rows, min(detail) AS example_detail
FROM quarantine
GROUP BY dt, stage, reason
ORDER BY dt, items DESC, stage, reason;
