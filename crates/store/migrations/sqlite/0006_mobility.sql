-- Mobility: the live status of each controlled intersection (for the dashboard) and every plan
-- change a controller made (an automated decision, kept for the audit).

CREATE TABLE signal_status (
    intersection  TEXT PRIMARY KEY,
    controller    TEXT NOT NULL,
    phase         BIGINT NOT NULL,
    phases        BIGINT NOT NULL,
    state         TEXT NOT NULL,
    yellow        BOOLEAN NOT NULL,
    queue         DOUBLE PRECISION NOT NULL,
    sim_time      DOUBLE PRECISION NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE signal_plan_changes (
    id            INTEGER PRIMARY KEY,
    intersection  TEXT NOT NULL,
    controller    TEXT NOT NULL,
    sim_time      DOUBLE PRECISION NOT NULL,
    from_phase    BIGINT NOT NULL,
    to_phase      BIGINT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX signal_plan_changes_recorded ON signal_plan_changes (recorded_at);
