-- Schema 5 (SQLite's 3): word back from the partnership; see
-- migrations/0003_statuses.sql.
CREATE TABLE status_keys (
    desk      TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    set_at    TEXT NOT NULL
);
CREATE TABLE statuses (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status_id TEXT NOT NULL UNIQUE,
    desk      TEXT NOT NULL,
    report_id TEXT NOT NULL,
    body      TEXT NOT NULL,
    signature TEXT NOT NULL,
    set_at    TEXT NOT NULL
);
CREATE INDEX statuses_desk ON statuses (desk, seq);
