-- 0004: how many times legacy was compared with itself (a secondary, or a re-sent legacy request under
-- [shadow] resample_legacy). It is the denominator of the legacy-vs-legacy difference rate that noise is
-- judged against; `noise` counts only those comparisons that differed.
ALTER TABLE shadow_route_minute ADD COLUMN noise_compared BIGINT NOT NULL DEFAULT 0;
