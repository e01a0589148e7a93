-- Leases for the roles exactly one instance may play at a time ('watcher:<chain>', 'timer'), with
-- an epoch that grows at every change of holder. Used on PostgreSQL, where several instances share
-- one database (src/db/lease.ts); a SQLite file has one instance, which holds every role, but
-- keeps the same table so both engines' schemas stay one (test/db/schema-parity.test.ts).
-- (0010 and 0011 belong to other work in progress.)
CREATE TABLE leases (
  role         TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  epoch        INTEGER NOT NULL CHECK (epoch >= 1),
  lease_until  INTEGER NOT NULL,   -- ms, the database server's clock
  acquired_at  INTEGER NOT NULL
);
