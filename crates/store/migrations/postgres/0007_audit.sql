-- The audit log of automated decisions: append-only, hash-chained (each record carries the
-- hash of the one before); `seq` is gapless from 1, so a removed record shows.

CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    recorded_at  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    inputs       TEXT NOT NULL,
    output       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_recorded ON audit_log (recorded_at);
