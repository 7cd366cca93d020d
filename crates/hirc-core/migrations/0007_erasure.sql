-- Schema 7: erasure at the person's request. A coordinator erases a report
-- by its reference: its row (every body, its facts), its outbox entries,
-- the partnership's statuses on it and any follow-up being drafted are
-- deleted. What stays is this row: the reference and the dates, so that a
-- person who comes back is told it was erased (the audit log names the
-- reference anyway), and the erasure's delivery to the hub. `notice` is
-- the erasure notice signed with the device key (JSON), which the sync
-- worker sends with nobody signed in; NULL when the desk was never
-- enrolled, so nothing of the report ever left it.
CREATE TABLE erasures (
    report_id    TEXT PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    erased_at    TEXT NOT NULL,
    notice       TEXT,
    receipt      TEXT,
    confirmed_at TEXT,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    refused      INTEGER NOT NULL DEFAULT 0,
    -- Revisions the hub had confirmed receiving (signed receipts) when the
    -- report was erased: a receipt that erased fewer is said to be short.
    delivered    INTEGER NOT NULL DEFAULT 0
) STRICT;
