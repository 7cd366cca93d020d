-- Schema 3: word back from the partnership. A desk registers a status key
-- (an age recipient); the statuses the partnership sets on its reports are
-- kept here encrypted to that key (and to the partnership's), signed with
-- the hub's receipt key, until the desk fetches them. The hub cannot read
-- them. `desk` is the desk's device key, or (a desk without one) its
-- device id: the same desk enrolled again finds its statuses.
CREATE TABLE status_keys (
    desk      TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    set_at    TEXT NOT NULL
) STRICT;
CREATE TABLE statuses (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id TEXT NOT NULL UNIQUE,
    desk      TEXT NOT NULL,
    report_id TEXT NOT NULL,
    body      TEXT NOT NULL,
    signature TEXT NOT NULL,
    set_at    TEXT NOT NULL
) STRICT;
CREATE INDEX statuses_desk ON statuses (desk, seq);
