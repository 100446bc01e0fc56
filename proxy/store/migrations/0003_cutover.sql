-- 0003: cutover operations, shared by SQLite and PostgreSQL: the live mode of each route (every replica
-- follows it), the audit log of every mode change, ids learned from mirrored writes, and the client-path
-- counters of the candidate-serving modes. Times are unix seconds.

-- The current mode of a route, once anyone changed it (a route without a row runs its configured mode).
-- config_mode is the configured mode when the row was written: a config file that later names another
-- mode is an operator's decision and wins; an unchanged file keeps the live mode across restarts.
CREATE TABLE shadow_route_mode (
    route TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    config_mode TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    instance_id TEXT NOT NULL
);

-- Every mode change (manual, reload, automatic): who, why, and the numbers behind automatic ones (JSON).
CREATE TABLE shadow_mode_audit (
    id TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    route TEXT NOT NULL,
    from_mode TEXT NOT NULL,
    to_mode TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX shadow_mode_audit_by_time ON shadow_mode_audit (at);

-- Ids of one resource on both sides, learned from the two answers to a mirrored write (kind: namespace).
CREATE TABLE shadow_id_map (
    kind TEXT NOT NULL,
    legacy_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    learned_at DOUBLE PRECISION NOT NULL,
    route TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    PRIMARY KEY (kind, legacy_id)
);
CREATE INDEX shadow_id_map_by_time ON shadow_id_map (learned_at);

-- Per route, minute and replica: requests the candidate answered on the client path, its failures there
-- (transport error, timeout or 5xx), and how many of those were answered with legacy's response instead.
CREATE TABLE shadow_cutover_minute (
    route TEXT NOT NULL,
    minute BIGINT NOT NULL,
    instance_id TEXT NOT NULL,
    served BIGINT NOT NULL DEFAULT 0,
    candidate_failures BIGINT NOT NULL DEFAULT 0,
    fallbacks BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (route, minute, instance_id)
);
CREATE INDEX shadow_cutover_minute_by_minute ON shadow_cutover_minute (minute);
