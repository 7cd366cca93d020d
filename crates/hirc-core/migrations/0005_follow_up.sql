-- Schema 5: follow-ups. Adding to a submitted report starts a draft of its
-- next revision: a row of its own while it is drafted (`follows` names the
-- report), folded into that report's row, as revision n+1, when sealed.
ALTER TABLE reports ADD COLUMN follows TEXT REFERENCES reports (id);
CREATE INDEX reports_follows ON reports (follows) WHERE follows IS NOT NULL;
-- One follow-up at a time per report, even from two processes at once.
CREATE UNIQUE INDEX one_follow_up ON reports (follows) WHERE state = 'draft';
