-- Segments per media type: how many items were answered, how many spans they yielded, how long those are.
WITH per_item AS (
    SELECT m.dt, m.media_type, m.source_uri, count(s.segment_index) AS segments,
           coalesce(sum(s.end_s - s.start_s), 0) AS segment_seconds
    FROM media m
    LEFT JOIN segments s ON s.source_uri = m.source_uri AND s.dt = m.dt
    WHERE m.status = 'ok'
    GROUP BY m.dt, m.media_type, m.source_uri
)
SELECT media_type, count(*) AS items, sum(segments) AS segments,
       round(avg(segments), 3) AS segments_per_item,
       round(sum(segment_seconds) / nullif(sum(segments), 0), 3) AS mean_segment_s
FROM per_item
GROUP BY media_type
ORDER BY media_type;
