-- Schema 2 (as SQLite's): report ids scoped to the desk, and device keys.
ALTER TABLE devices ADD COLUMN device_key TEXT;
CREATE INDEX devices_key ON devices (device_key) WHERE device_key IS NOT NULL;
ALTER TABLE reports DROP CONSTRAINT reports_pkey;
ALTER TABLE reports ADD PRIMARY KEY (device_id, report_id, revision);
CREATE INDEX reports_report ON reports (report_id, revision);
