-- Cost per media hour, by day and run model: everything paid for a day's media (every run's requests,
-- reruns included) divided by the hours of media that were answered (status ok) in the committed view.
-- A run's requests may go to two models (a video's sound to the task's audio model): they count under
-- the run's model here; requests.model says which model answered each one.
WITH paid AS (
    SELECT requests.dt, runs.model, sum(requests.cost_usd) AS cost_usd, count(*) AS requests
    FROM requests
    JOIN runs ON runs.run_id = requests.run_id AND runs.dt = requests.dt
    GROUP BY requests.dt, runs.model
),
hours AS (
    SELECT dt, sum(duration_s) / 3600.0 AS media_hours, count(*) AS items
    FROM media
    WHERE status = 'ok' AND duration_s IS NOT NULL
    GROUP BY dt
)
SELECT paid.dt, paid.model, hours.items, round(hours.media_hours, 6) AS media_hours, paid.requests,
       paid.cost_usd, CAST(paid.cost_usd AS DOUBLE) / nullif(hours.media_hours, 0) AS usd_per_media_hour
FROM paid
JOIN hours USING (dt)
ORDER BY paid.dt, paid.model;
