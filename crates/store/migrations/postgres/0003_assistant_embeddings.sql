-- Passage embeddings for the assistant's optional dense retriever, per embedding model.
-- A vector is little-endian f32s, L2-normalised; it goes with its sheet.

CREATE TABLE assistant_embeddings (
    sheet_id  TEXT NOT NULL REFERENCES assistant_sheets (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    model     TEXT NOT NULL,
    vector    BYTEA NOT NULL,
    PRIMARY KEY (sheet_id, seq, model)
);
