-- HIRC hub store in PostgreSQL, schema 1 (the same shape as SQLite's).
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    centre     TEXT NOT NULL,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    centre     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT REFERENCES devices (id)
);
CREATE TABLE reports (
    report_id   TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    digest      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    body        BYTEA NOT NULL,
    receipt_id  TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    PRIMARY KEY (report_id, revision)
);
CREATE INDEX reports_received ON reports (received_at);
