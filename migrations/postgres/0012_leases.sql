-- Twin of migrations/0012_leases.sql (0010 and 0011 belong to other work in progress).
-- One row per role that exactly one instance may play at a time ('watcher:<chain>', 'timer'):
-- who holds it, until when, and an epoch that grows by one at every change of holder. Times are
-- the database server's clock in milliseconds (never an instance's); a write that must come from
-- the holder checks owner and epoch in its own transaction (src/db/lease.ts: fence).
CREATE TABLE leases (
  role         TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  epoch        BIGINT NOT NULL CHECK (epoch >= 1),
  lease_until  BIGINT NOT NULL,
  acquired_at  BIGINT NOT NULL
);
