-- Schema 4 (PostgreSQL only): the per-minute counts of the rate limits are
-- kept out of the write-ahead log. Every upload counts a hit; logged, each
-- hit was a commit waiting for a flush to disk, as costly as storing the
-- report itself. Unlogged, a crash of the database empties the table: at
-- worst one minute's counts start again from zero, which a limit measured
-- per minute can afford. (Unlogged tables are not copied to standbys: after
-- a failover the counts also start again.)
ALTER TABLE limit_hits SET UNLOGGED;
