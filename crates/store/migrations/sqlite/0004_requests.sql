-- Service requests (Open311 GeoReport v2), their status history and, apart, the reporter's
-- personal data.

CREATE TABLE service_requests (
    id                  INTEGER PRIMARY KEY,
    token               TEXT NOT NULL UNIQUE,
    service_code        TEXT NOT NULL,
    status              TEXT NOT NULL,
    stage               TEXT NOT NULL,
    status_notes        TEXT,
    description         TEXT,
    lat                 DOUBLE PRECISION,
    lon                 DOUBLE PRECISION,
    address             TEXT,
    address_id          TEXT,
    arrondissement      BIGINT,
    media_url           TEXT,
    agency_responsible  TEXT NOT NULL,
    service_notice      TEXT,
    attributes          TEXT NOT NULL,
    classification      TEXT,
    jurisdiction_id     TEXT,
    device_id           TEXT,
    account_id          TEXT,
    merged_into         BIGINT,
    requested_at        TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    expected_at         TEXT NOT NULL,
    closed_at           TEXT
);
CREATE INDEX service_requests_requested_at ON service_requests (requested_at);
CREATE INDEX service_requests_code_status ON service_requests (service_code, status);

CREATE TABLE service_request_contacts (
    request_id  BIGINT PRIMARY KEY REFERENCES service_requests (id) ON DELETE CASCADE,
    email       TEXT,
    phone       TEXT,
    first_name  TEXT,
    last_name   TEXT
);

CREATE TABLE service_request_updates (
    id          INTEGER PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    stage       TEXT NOT NULL,
    note        TEXT,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX service_request_updates_request ON service_request_updates (request_id, id);
CREATE INDEX service_request_updates_at ON service_request_updates (at);
