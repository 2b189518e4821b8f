-- Foundation tables: API keys and the record of benchmark and evaluation runs.

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('resident-app', 'agent', 'operator', 'admin')),
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE benchmark_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    suite        TEXT NOT NULL,
    command      TEXT NOT NULL,
    machine      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL,
    results      TEXT NOT NULL
);

CREATE INDEX benchmark_runs_suite ON benchmark_runs (suite, finished_at);
