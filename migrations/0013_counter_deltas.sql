-- Twin of migrations/postgres/0013_counter_deltas.sql, which makes PostgreSQL's counter triggers
-- append deltas rather than update one row (several instances' creates conflicted on those rows).
-- A SQLite file has one writer, whose counter updates never conflict: its triggers stay as 0005,
-- 0008 and 0011 made them, and this version changes nothing here. The delta tables are
-- PostgreSQL's only (test/db/schema-parity.test.ts: PG_ONLY_TABLES).
SELECT 1;
