-- Schema 2: report ids scoped to the desk, and desks' device keys.
-- A desk registers its device key (Ed25519, public half) at enrolment; the
-- key, not the device row, is the desk: enrolled again with the same key,
-- a desk finds what it stored before. Report ids are unique per device,
-- so no other desk can occupy (or block) an id it has seen.
ALTER TABLE devices ADD COLUMN device_key TEXT;
CREATE INDEX devices_key ON devices (device_key) WHERE device_key IS NOT NULL;

CREATE TABLE reports_by_device (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    report_id   TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    body        BLOB NOT NULL,
    receipt_id  TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, report_id, revision)
) STRICT;
INSERT INTO reports_by_device (device_id, report_id, revision, digest, size, body, receipt_id, received_at)
    SELECT device_id, report_id, revision, digest, size, body, receipt_id, received_at FROM reports;
DROP TABLE reports;
ALTER TABLE reports_by_device RENAME TO reports;
CREATE INDEX reports_received ON reports (received_at);
CREATE INDEX reports_report ON reports (report_id, revision);
