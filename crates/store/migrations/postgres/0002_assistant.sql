-- The assistant's knowledge base: procedure sheets, their passages, conversations.

CREATE TABLE assistant_sheets (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    url           TEXT NOT NULL,
    format        TEXT NOT NULL,
    audience      TEXT,
    sheet_date    TEXT,
    source        TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    ingested_at   TEXT NOT NULL
);

CREATE INDEX assistant_sheets_source ON assistant_sheets (source);

CREATE TABLE assistant_passages (
    sheet_id  TEXT NOT NULL REFERENCES assistant_sheets (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    headings  TEXT NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (sheet_id, seq)
);

-- One row: a counter bumped by every change of the knowledge base, so that search indexes
-- built from it know when they are stale.
CREATE TABLE assistant_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO assistant_generation (id, generation) VALUES (1, 0);

CREATE TABLE assistant_conversations (
    id          TEXT PRIMARY KEY,
    mode        TEXT NOT NULL,
    lang        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE assistant_turns (
    conversation_id  TEXT NOT NULL REFERENCES assistant_conversations (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    question         TEXT NOT NULL,
    answer           TEXT NOT NULL,
    sheet_ids        TEXT NOT NULL,
    abstained        BOOLEAN NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
