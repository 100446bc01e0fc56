-- 0005: reconciliation runs (`shadow-proxy reconcile --store`), shared by SQLite and PostgreSQL, so the
-- cutover report can show the last reconciliation of each job. Times are unix seconds.

-- One finished job of one run: its verdict (equal, different, error, interrupted), its totals as columns
-- (checked: source documents matched, different or missing), and the job's JSON report as printed by
-- `reconcile --format json` (proxy/reconcile/render.py `job_json`). Retention never purges them: they are evidence.
CREATE TABLE shadow_reconcile_runs (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    instance_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    checked BIGINT NOT NULL DEFAULT 0,
    missing BIGINT NOT NULL DEFAULT 0,
    extra BIGINT NOT NULL DEFAULT 0,
    different BIGINT NOT NULL DEFAULT 0,
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX shadow_reconcile_runs_by_job ON shadow_reconcile_runs (job, finished_at);
