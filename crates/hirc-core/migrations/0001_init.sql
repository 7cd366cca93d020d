-- HIRC Desk store, schema 1.
-- In clear: ids, states, timestamps, sizes, the centre's name and code, and
-- desk users' names and roles (the unlock screen lists them). Everything a
-- person reporting told us is in `reports.body` (age, to the desk key) or
-- `reports.facts` (XChaCha20-Poly1305, under the facts key).
-- A shipped migration is never edited: add 0002_….sql instead.

CREATE TABLE desk (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    desk_id        TEXT NOT NULL,
    centre_name    TEXT NOT NULL,
    centre_code    TEXT NOT NULL,
    desk_recipient TEXT NOT NULL,           -- the desk key's public half (age1…)
    facts_key      BLOB NOT NULL,           -- the facts key, age-encrypted to the desk key
    created_at     TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('ambassador', 'coordinator')),
    created_at TEXT NOT NULL,
    removed_at TEXT
) STRICT;
CREATE UNIQUE INDEX users_active_name ON users (name COLLATE NOCASE) WHERE removed_at IS NULL;

-- A slot is the desk key encrypted with one secret (age scrypt).
CREATE TABLE key_slots (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'recovery')),
    user_id    TEXT UNIQUE REFERENCES users (id),
    wrapped    BLOB NOT NULL,
    created_at TEXT NOT NULL,
    CHECK ((kind = 'user') = (user_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX one_recovery_slot ON key_slots (kind) WHERE kind = 'recovery';

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,            -- UUIDv7 made at the desk
    owner_id   TEXT NOT NULL REFERENCES users (id),
    state      TEXT NOT NULL CHECK (state IN ('draft', 'sealed', 'delivered', 'purged')),
    reference  TEXT UNIQUE,                 -- issued at sealing; random, encodes nothing
    revision   INTEGER NOT NULL,            -- 0 while a draft; 1, 2, … once sealed
    save_seq   INTEGER NOT NULL,            -- bumps on every body write; checked inside the body
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sealed_at  TEXT,
    body       BLOB,                        -- NULL once purged
    body_size  INTEGER NOT NULL,
    facts      BLOB NOT NULL
) STRICT;
CREATE INDEX reports_state ON reports (state, updated_at);

-- Sealed revisions waiting for the hub. `payload` is the revision encrypted
-- for the hub's recipients, made once the desk is enrolled; until then it is
-- NULL and the sealed body waits, encrypted to the desk key, in `reports`.
CREATE TABLE outbox (
    report_id TEXT NOT NULL REFERENCES reports (id),
    revision  INTEGER NOT NULL,
    payload   BLOB,
    queued_at TEXT NOT NULL,
    PRIMARY KEY (report_id, revision)
) STRICT;

-- Append-only, hash-chained. Never report content.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    subject   TEXT,
    detail    TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
