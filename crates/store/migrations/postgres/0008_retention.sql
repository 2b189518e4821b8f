-- Where the audit log starts once retention has removed its oldest records: the seq and hash
-- of the last record removed, so the chain that remains still verifies from it.
CREATE TABLE audit_anchor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    pruned_at  TEXT NOT NULL
);

-- When retention erased a request's personal data (contact deleted, description redacted):
-- each request is handled once.
ALTER TABLE service_requests ADD COLUMN personal_data_erased_at TEXT;
