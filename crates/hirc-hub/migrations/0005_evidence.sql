-- Schema 5: evidence. An item (a photo, a screenshot, a document) is an
-- age file the hub cannot read, uploaded in chunks before the revision that
-- names it. It is the desk's (its device key, or its device id without
-- one), like report ids. `received` counts the bytes held; an item is
-- `complete` once every byte is held and its digest checked. A revision
-- that names evidence keeps the digest of its manifest (`reports.evidence`)
-- and is stored only once every item it names is complete. Erasing a
-- report deletes its evidence with its revisions.
ALTER TABLE reports ADD COLUMN evidence TEXT;

CREATE TABLE evidence (
    desk         TEXT NOT NULL,
    id           TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    length       INTEGER NOT NULL,
    digest       TEXT NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0,
    complete     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT NOT NULL,
    PRIMARY KEY (desk, id)
) STRICT;
CREATE INDEX evidence_report ON evidence (desk, report_id);

-- `size` and `received_at` meter what a desk sends a day (by when the
-- bytes arrived); chunks carried in by `hirc-hub import` are not metered.
CREATE TABLE evidence_chunks (
    desk        TEXT NOT NULL,
    id          TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    size        INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    metered     INTEGER NOT NULL,
    PRIMARY KEY (desk, id, seq),
    FOREIGN KEY (desk, id) REFERENCES evidence (desk, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX evidence_chunks_arrival ON evidence_chunks (desk, received_at);
