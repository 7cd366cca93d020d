-- Schema 2: enrolment with a hub, upload bookkeeping in the outbox,
-- retention, and desk settings.

-- The hub this desk is enrolled with. The token is encrypted to the desk
-- key; the recipients are the partnership's public keys, pinned at
-- enrolment (changing them needs an explicit re-enrolment).
CREATE TABLE hub (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    url         TEXT NOT NULL,
    hub_name    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    token       BLOB NOT NULL,
    recipients  TEXT NOT NULL,
    ca_pem      TEXT,                       -- a private CA the hub's certificate chains to, if any
    enrolled_at TEXT NOT NULL
) STRICT;

-- `payload` (made once, when the desk is enrolled) is the sealed revision
-- encrypted for the hub's recipients; every retry sends the same bytes, so
-- the hub answers a repeat with the same receipt.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN failed_permanently INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN receipt TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
ALTER TABLE reports ADD COLUMN delivered_at TEXT;
ALTER TABLE reports ADD COLUMN purged_at TEXT;

-- Desk settings a coordinator can change (e.g. retention_days).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
