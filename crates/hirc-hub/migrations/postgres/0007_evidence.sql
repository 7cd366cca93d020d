-- Schema 7 (SQLite's 5): evidence; see migrations/0005_evidence.sql.
ALTER TABLE reports ADD COLUMN evidence TEXT;

CREATE TABLE evidence (
    desk         TEXT NOT NULL,
    id           TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    length       BIGINT NOT NULL,
    digest       TEXT NOT NULL,
    received     BIGINT NOT NULL DEFAULT 0,
    complete     BOOLEAN NOT NULL DEFAULT FALSE,
    started_at   TEXT NOT NULL,
    PRIMARY KEY (desk, id)
);
CREATE INDEX evidence_report ON evidence (desk, report_id);

CREATE TABLE evidence_chunks (
    desk        TEXT NOT NULL,
    id          TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    bytes       BYTEA NOT NULL,
    size        BIGINT NOT NULL,
    received_at TEXT NOT NULL,
    metered     BOOLEAN NOT NULL,
    PRIMARY KEY (desk, id, seq),
    FOREIGN KEY (desk, id) REFERENCES evidence (desk, id) ON DELETE CASCADE
);
CREATE INDEX evidence_chunks_arrival ON evidence_chunks (desk, received_at);
