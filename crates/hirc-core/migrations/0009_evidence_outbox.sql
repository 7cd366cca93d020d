-- Schema 9: evidence on its way to the hub.
--
-- When a revision is sealed with the desk enrolled (or its upload is
-- prepared later, after an enrolment or a change of the partnership's
-- keys), each of its items is encrypted again, to the partnership's
-- recipients: a copy with an id of its own, stored in pieces like the
-- desk's own (`evidence_outbox_pieces`). The copy is what the hub receives,
-- in chunks, before the revision; the hub never holds the desk's own copy.
-- A copy goes when the revision's receipt is checked, and with its item.
-- An item may have several copies for a while (the app and the command
-- line preparing the same upload at once, or the partnership's keys
-- replaced): making a copy never deletes another, which an outbox row may
-- name; the manifest says which one is sent.
--
-- `outbox.evidence` is the revision's manifest as sent to the hub (the
-- `hirc-evidence` header: each copy's id, length and digest), written with
-- the payload that lists the same items, so the two always agree.
CREATE TABLE evidence_outbox (
    id          TEXT PRIMARY KEY,
    evidence_id TEXT NOT NULL REFERENCES evidence (id) ON DELETE CASCADE,
    length      INTEGER NOT NULL,
    digest      TEXT NOT NULL
) STRICT;
CREATE INDEX evidence_outbox_item ON evidence_outbox (evidence_id);

CREATE TABLE evidence_outbox_pieces (
    outbox_id TEXT NOT NULL REFERENCES evidence_outbox (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    bytes     BLOB NOT NULL,
    PRIMARY KEY (outbox_id, seq)
) STRICT;

ALTER TABLE outbox ADD COLUMN evidence TEXT;
