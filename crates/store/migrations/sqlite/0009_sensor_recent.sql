-- Recent observations, keyed by time first. A batch from a gateway holds one observation for
-- each of many series at about the same instant: in the series-keyed archive
-- (sensor_observations) that touches one page per series, here a few pages at the end of the
-- tree. Compaction moves them into the archive in series order, a page per series per
-- compaction instead of per batch. Every (series, instant) is in one of the two tables only.
CREATE TABLE sensor_recent (
    observed_ms  BIGINT NOT NULL,
    series_id    BIGINT NOT NULL REFERENCES sensor_series (id) ON DELETE CASCADE,
    value        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (observed_ms, series_id)
) WITHOUT ROWID;

-- Every stored observation: what reads use.
CREATE VIEW sensor_points AS
    SELECT series_id, observed_ms, value FROM sensor_observations
    UNION ALL
    SELECT series_id, observed_ms, value FROM sensor_recent;
