-- 0001: the store's tables, shared by SQLite and PostgreSQL.
-- Times are unix seconds (minute and hour columns hold the start of their bucket); every row names the
-- replica (instance_id) that wrote it, and counters are only ever added to, so replicas add up.

-- Per route, per minute, per replica: one column per outcome counter, latency sums and histograms.
-- Histogram buckets are not cumulative: legacy_ms_le_25 counts answers in (10 ms, 25 ms].
CREATE TABLE shadow_route_minute (
    route TEXT NOT NULL,
    minute BIGINT NOT NULL,
    instance_id TEXT NOT NULL,
    compared BIGINT NOT NULL DEFAULT 0,
    matched BIGINT NOT NULL DEFAULT 0,
    diverged BIGINT NOT NULL DEFAULT 0,
    candidate_errors BIGINT NOT NULL DEFAULT 0,
    legacy_errors BIGINT NOT NULL DEFAULT 0,
    dropped BIGINT NOT NULL DEFAULT 0,
    too_large BIGINT NOT NULL DEFAULT 0,
    shadow_failures BIGINT NOT NULL DEFAULT 0,
    not_mirrored BIGINT NOT NULL DEFAULT 0,
    ignored BIGINT NOT NULL DEFAULT 0,
    noise BIGINT NOT NULL DEFAULT 0,
    records_dropped BIGINT NOT NULL DEFAULT 0,
    legacy_ms_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    legacy_ms_count BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_5 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_10 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_25 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_50 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_100 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_250 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_500 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_1000 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_2500 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_5000 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_10000 BIGINT NOT NULL DEFAULT 0,
    legacy_ms_le_inf BIGINT NOT NULL DEFAULT 0,
    candidate_ms_sum DOUBLE PRECISION NOT NULL DEFAULT 0,
    candidate_ms_count BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_5 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_10 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_25 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_50 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_100 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_250 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_500 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_1000 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_2500 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_5000 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_10000 BIGINT NOT NULL DEFAULT 0,
    candidate_ms_le_inf BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (route, minute, instance_id)
);
CREATE INDEX shadow_route_minute_by_minute ON shadow_route_minute (minute);

-- How many exchanges showed each (path, kind); origin 'candidate' (legacy vs candidate) or 'noise'
-- (legacy vs secondary: differences legacy has with itself).
CREATE TABLE shadow_diff_minute (
    route TEXT NOT NULL,
    minute BIGINT NOT NULL,
    instance_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (route, minute, instance_id, origin, path, kind)
);
CREATE INDEX shadow_diff_minute_by_minute ON shadow_diff_minute (minute);

-- Comparison rules: how often each acted (hits) and how many real differences it hid (ignored).
CREATE TABLE shadow_rule_minute (
    route TEXT NOT NULL,
    minute BIGINT NOT NULL,
    instance_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    ignored BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (route, minute, instance_id, rule)
);
CREATE INDEX shadow_rule_minute_by_minute ON shadow_rule_minute (minute);

-- One row per divergence signature: route + sorted set of (path, kind). 'signature' is a stable hash,
-- 'paths' the JSON list of [path, kind] pairs and 'summary' the same, readable.
CREATE TABLE shadow_signatures (
    signature TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    paths TEXT NOT NULL,
    summary TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    instance_id TEXT NOT NULL
);

-- Divergences per signature, per hour, per replica: counted even when no example is kept.
CREATE TABLE shadow_signature_hour (
    signature TEXT NOT NULL,
    hour BIGINT NOT NULL,
    instance_id TEXT NOT NULL,
    route TEXT NOT NULL,
    count BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (signature, hour, instance_id)
);
CREATE INDEX shadow_signature_hour_by_hour ON shadow_signature_hour (hour);

-- Examples offered per signature and hour across all replicas: the first K offered are kept.
-- instance_id is the replica that offered the first one.
CREATE TABLE shadow_example_slots (
    signature TEXT NOT NULL,
    hour BIGINT NOT NULL,
    offered BIGINT NOT NULL DEFAULT 0,
    instance_id TEXT NOT NULL,
    PRIMARY KEY (signature, hour)
);

-- Full divergence examples, redacted before they were written; bodies truncated (size is the original
-- size in bytes, body_format 'text' or 'base64'); headers and differences are JSON.
CREATE TABLE shadow_examples (
    id TEXT PRIMARY KEY,
    signature TEXT NOT NULL,
    route TEXT NOT NULL,
    hour BIGINT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL,
    instance_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    request_body_format TEXT NOT NULL,
    request_body_size BIGINT NOT NULL,
    legacy_status INTEGER,
    legacy_error TEXT,
    legacy_ms DOUBLE PRECISION NOT NULL,
    legacy_headers TEXT NOT NULL,
    legacy_body TEXT NOT NULL,
    legacy_body_format TEXT NOT NULL,
    legacy_body_size BIGINT NOT NULL,
    candidate_status INTEGER,
    candidate_error TEXT,
    candidate_ms DOUBLE PRECISION NOT NULL,
    candidate_headers TEXT NOT NULL,
    candidate_body TEXT NOT NULL,
    candidate_body_format TEXT NOT NULL,
    candidate_body_size BIGINT NOT NULL,
    differences TEXT NOT NULL
);
CREATE INDEX shadow_examples_by_signature ON shadow_examples (signature, recorded_at);
CREATE INDEX shadow_examples_by_time ON shadow_examples (recorded_at);
