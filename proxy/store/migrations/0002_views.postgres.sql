-- 0002: views for BI tools (Metabase, Grafana, …), summed over all replicas; times as timestamptz (UTC).

-- One row per route and UTC day: every counter, the divergence rate and mean latencies.
CREATE VIEW shadow_route_daily AS
SELECT
    (to_timestamp(minute) AT TIME ZONE 'UTC')::date AS day,
    route,
    SUM(compared) AS compared,
    SUM(matched) AS matched,
    SUM(diverged) AS diverged,
    SUM(candidate_errors) AS candidate_errors,
    SUM(legacy_errors) AS legacy_errors,
    SUM(dropped) AS dropped,
    SUM(too_large) AS too_large,
    SUM(ignored) AS ignored,
    SUM(noise) AS noise,
    CASE WHEN SUM(compared) > 0 THEN SUM(diverged)::double precision / SUM(compared) END AS divergence_rate,
    CASE WHEN SUM(legacy_ms_count) > 0 THEN SUM(legacy_ms_sum) / SUM(legacy_ms_count) END AS legacy_ms_avg,
    CASE WHEN SUM(candidate_ms_count) > 0 THEN SUM(candidate_ms_sum) / SUM(candidate_ms_count) END
        AS candidate_ms_avg,
    COUNT(DISTINCT instance_id) AS instances
FROM shadow_route_minute
GROUP BY 1, route;

-- One row per route, UTC day and differing (path, kind); origin 'candidate' or 'noise'.
CREATE VIEW shadow_difference_daily AS
SELECT
    (to_timestamp(minute) AT TIME ZONE 'UTC')::date AS day,
    route,
    origin,
    path,
    kind,
    SUM(count) AS count
FROM shadow_diff_minute
GROUP BY 1, route, origin, path, kind;

-- Divergence examples of the last 7 days with their readable signature, newest first.
CREATE VIEW shadow_divergence_recent AS
SELECT
    to_timestamp(e.recorded_at) AS recorded_at,
    e.route,
    e.signature,
    s.summary,
    e.verdict,
    e.method,
    e.target,
    e.legacy_status,
    e.candidate_status,
    e.candidate_error,
    e.request_id,
    e.instance_id,
    e.id AS example_id
FROM shadow_examples e
JOIN shadow_signatures s ON s.signature = e.signature
WHERE e.recorded_at >= extract(epoch FROM now()) - 7 * 86400
ORDER BY e.recorded_at DESC;
