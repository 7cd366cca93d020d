-- Schema 6 (SQLite's 4): erasures; see migrations/0004_erasures.sql.
CREATE TABLE erasures (
    desk              TEXT NOT NULL,
    report_id         TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    erased_at         TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    revisions_deleted BIGINT NOT NULL,
    PRIMARY KEY (desk, report_id)
);
