-- Sensors: entities (NGSI-LD, latest state), one series per numeric attribute, observations
-- (one per series and instant: writes are idempotent), and the alerts detectors raised.

CREATE TABLE sensor_entities (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    attributes   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    modified_at  TEXT NOT NULL
);
CREATE INDEX sensor_entities_type ON sensor_entities (type);

CREATE TABLE sensor_series (
    id              INTEGER PRIMARY KEY,
    entity_id       TEXT NOT NULL REFERENCES sensor_entities (id) ON DELETE CASCADE,
    attribute       TEXT NOT NULL,
    retention_days  BIGINT NOT NULL,
    UNIQUE (entity_id, attribute)
);

CREATE TABLE sensor_observations (
    series_id    BIGINT NOT NULL REFERENCES sensor_series (id) ON DELETE CASCADE,
    observed_ms  BIGINT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, observed_ms)
);

CREATE TABLE sensor_alerts (
    id           INTEGER PRIMARY KEY,
    series_id    BIGINT NOT NULL REFERENCES sensor_series (id) ON DELETE CASCADE,
    entity_id    TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    attribute    TEXT NOT NULL,
    observed_ms  BIGINT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    detector     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX sensor_alerts_created ON sensor_alerts (created_at);
