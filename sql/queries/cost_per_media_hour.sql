-- Cost per media hour, by day and model: everything paid for a day's media (every run's requests,
-- reruns included) divided by the hours of media that were answered (status ok) in the committed view.
WITH paid AS (
    SELECT dt, model, sum(cost_usd) AS cost_usd, count(*) AS requests
    FROM requests
    GROUP BY dt, model
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
