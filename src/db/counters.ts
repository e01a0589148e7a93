// The counter tables' deltas on PostgreSQL (migrations/postgres/0013_counter_deltas.sql): the
// triggers append one row per change, so instances creating orders at once never update the same
// counter row; the timer runner folds them here, under its lease, and the counters' readers add
// what is not folded yet (src/ledger/statements.ts statusCounts, src/pool/statements.ts counts,
// src/console/statements.ts). SQLite's triggers update the counters themselves: nothing to fold.
import type { DB } from "./index.js";
import { engineOf } from "./pg-sync.js";
import { perDatabase } from "./statements.js";

/**
 * Each counter table with its deltas: the deltas this transaction sees are deleted and added to
 * their rows in one statement. A delta a concurrent transaction appends meanwhile is not in this
 * snapshot, so it stays for the next fold (counted once, either way).
 */
export const COUNTER_FOLDS = [
  `WITH d AS (DELETE FROM status_count_deltas RETURNING kind, chain, status, n)
   INSERT INTO status_counts (kind, chain, status, n)
   SELECT kind, chain, status, sum(n) FROM d GROUP BY kind, chain, status
   ON CONFLICT (kind, chain, status) DO UPDATE SET n = status_counts.n + EXCLUDED.n`,
  `WITH d AS (DELETE FROM pool_count_deltas RETURNING chain, total, bound, used_unbound)
   INSERT INTO pool_counts (chain, total, bound, used_unbound)
   SELECT chain, sum(total), sum(bound), sum(used_unbound) FROM d GROUP BY chain
   ON CONFLICT (chain) DO UPDATE SET total = pool_counts.total + EXCLUDED.total,
     bound = pool_counts.bound + EXCLUDED.bound, used_unbound = pool_counts.used_unbound + EXCLUDED.used_unbound`,
  `WITH d AS (DELETE FROM hourly_count_deltas RETURNING kind, hour, n)
   INSERT INTO hourly_counts (kind, hour, n)
   SELECT kind, hour, sum(n) FROM d GROUP BY kind, hour
   ON CONFLICT (kind, hour) DO UPDATE SET n = hourly_counts.n + EXCLUDED.n`,
  `WITH d AS (DELETE FROM order_status_hour_deltas RETURNING hour, status, n)
   INSERT INTO order_status_hours (hour, status, n)
   SELECT hour, status, sum(n) FROM d GROUP BY hour, status
   ON CONFLICT (hour, status) DO UPDATE SET n = order_status_hours.n + EXCLUDED.n`,
] as const;

const folds = perDatabase((db: DB) => COUNTER_FOLDS.map((sql) => db.prepare(sql)));

/**
 * Fold the pending deltas into the counters (inside the caller's transaction); returns how many
 * counter rows changed. A no-op on SQLite.
 */
export function foldCounters(db: DB): number {
  if (engineOf(db) === "sqlite") return 0;
  let changed = 0;
  for (const fold of folds(db)) changed += fold.run().changes;
  return changed;
}
