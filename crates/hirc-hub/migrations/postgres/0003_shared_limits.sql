-- Schema 3 (PostgreSQL only): the rate limits and the guessing throttle,
-- counted where every hub process on the database sees them. One row per
-- key (a device, or a client address) and minute; old minutes are deleted.
CREATE TABLE limit_hits (
    key TEXT NOT NULL,
    minute BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, minute)
);
