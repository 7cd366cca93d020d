-- Schema 6: which items of evidence a revision has named. An item is
-- `named` when a revision naming it arrives, before that revision is
-- stored; items that nothing names and that have been idle for a while
-- (a desk reset, replaced or abandoned mid-upload) are swept away by
-- `hirc-hub serve` (and `hirc-hub sweep`). Items already whole when this
-- schema arrives are kept as named: the hub cannot tell which were.
ALTER TABLE evidence ADD COLUMN named INTEGER NOT NULL DEFAULT 0;
UPDATE evidence SET named = 1 WHERE complete = 1;
