-- Schema 6: word back from the partnership. The desk's status key is an
-- age identity: its secret encrypted to the desk key, its public half
-- registered with the hub. It is made by the sync worker with nobody signed
-- in (encrypting needs only the desk key's public half), and kept across
-- enrolments. Statuses fetched from the hub are kept as they came
-- (ciphertext to the status key), once their signature under the pinned
-- receipt key checks; they open only when someone is signed in.
ALTER TABLE desk ADD COLUMN status_key BLOB;
ALTER TABLE desk ADD COLUMN status_recipient TEXT;
ALTER TABLE hub ADD COLUMN status_key_registered INTEGER NOT NULL DEFAULT 0;
-- How far the desk has read the hub's statuses (kept or skipped).
ALTER TABLE hub ADD COLUMN status_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE statuses (
    status_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    report_id   TEXT NOT NULL,
    body        BLOB NOT NULL,
    set_at      TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
CREATE INDEX statuses_report ON statuses (report_id, set_at);
CREATE INDEX statuses_received ON statuses (received_at);
