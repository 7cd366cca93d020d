-- Schema 8 (SQLite's 6): which items of evidence a revision has named; see
-- migrations/0006_evidence_named.sql.
ALTER TABLE evidence ADD COLUMN named BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE evidence SET named = TRUE WHERE complete;
