-- Schema 4: reports set aside. A report whose body or facts will not open
-- (a damaged page, a restored file from elsewhere, a newer HIRC Desk) is
-- set aside with its reason instead of stopping every upload, listing and
-- summary. A coordinator tries it again or discards it (audited).
ALTER TABLE reports ADD COLUMN set_aside_at TEXT;
ALTER TABLE reports ADD COLUMN set_aside_reason TEXT;
