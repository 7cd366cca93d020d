-- HIRC hub store, schema 1. Report bodies are age ciphertext the hub cannot
-- read; tokens and enrolment codes are stored only as SHA-256 hashes.

CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    centre     TEXT NOT NULL,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;

CREATE TABLE enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    centre     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT REFERENCES devices (id)
) STRICT;

CREATE TABLE reports (
    report_id   TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    digest      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    body        BLOB NOT NULL,
    receipt_id  TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    PRIMARY KEY (report_id, revision)
) STRICT;
CREATE INDEX reports_received ON reports (received_at);
