-- The most frequent tags over the committed annotations (one count per media item).
SELECT tag, count(DISTINCT source_uri) AS items
FROM (SELECT source_uri, unnest(tags) AS tag FROM annotations)
GROUP BY tag
ORDER BY items DESC, tag
LIMIT 25;
