-- Schema 8: evidence (photos, screenshots, documents) attached to a report.
--
-- An item is added to a draft (a report being taken, or a follow-up being
-- drafted) and goes with the revision it is sealed in (`revision`, 0 while
-- in a draft). Its bytes, stripped of what identifies the person (an image
-- is decoded and encoded again, so EXIF, GPS, XMP and embedded thumbnails
-- are not carried over), are one age stream to the desk key, stored as
-- numbered pieces of at most 1 MiB in `evidence_pieces`, so a large file is
-- written and read with bounded memory. An item and all its pieces are
-- written in one transaction: a desk killed while a file is added keeps all
-- of it or nothing. `label` is age ciphertext to the desk key of the
-- ambassador's caption (and nothing else: the file's own name is never
-- stored). In clear: the kind and the size, as for report bodies.
CREATE TABLE evidence (
    id         TEXT PRIMARY KEY,
    report_id  TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    revision   INTEGER NOT NULL DEFAULT 0,
    kind       TEXT NOT NULL CHECK (kind IN ('jpeg', 'png', 'pdf', 'text')),
    size       INTEGER NOT NULL,
    label      BLOB NOT NULL,
    added_at   TEXT NOT NULL,
    added_by   TEXT NOT NULL REFERENCES users (id)
) STRICT;
CREATE INDEX evidence_report ON evidence (report_id, added_at);

CREATE TABLE evidence_pieces (
    evidence_id TEXT NOT NULL REFERENCES evidence (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    PRIMARY KEY (evidence_id, seq)
) STRICT;
