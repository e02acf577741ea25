-- Estimate vs actual per run (reruns that reused answers cost nothing and estimate nothing).
SELECT dt, run_id, started_at, model, mode, items_total, requests, estimated_cost_usd, cost_usd,
       CAST(cost_usd AS DOUBLE) / nullif(CAST(estimated_cost_usd AS DOUBLE), 0) AS actual_over_estimate,
       status
FROM runs
ORDER BY started_at;
