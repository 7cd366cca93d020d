-- Schema 4: reports set aside. A report whose body or facts will not open
-- (a damaged page, a restored file from elsewhere, a newer HIRC Desk) is
-- set aside with its reason instead of stopping every upload, listing and
-- summary. A coordinator tries it again or discards it (audited).
ALTER TABLE reports ADD COLUMN set_aside_at TEXT;
ALTER TABLE reports ADD COLUMN set_aside_reason TEXT;
-- Finding them must not read every row (the columns come after the body).
CREATE INDEX reports_set_aside ON reports (set_aside_at) WHERE set_aside_at IS NOT NULL;
