-- Schema 4: erasures. A report erased at the person's request leaves only
-- this tombstone: which report, which desk asked (its device key, or its
-- device id without one), which device sent the notice, and when. Every
-- revision's ciphertext and every status on it are deleted, and an upload
-- of it is refused from then on.
CREATE TABLE erasures (
    desk              TEXT NOT NULL,
    report_id         TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    erased_at         TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    revisions_deleted INTEGER NOT NULL,
    PRIMARY KEY (desk, report_id)
) STRICT;
