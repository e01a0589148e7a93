// Every SQL statement of the address pools, named and prepared once per database.
import type { DB } from "../db/index.js";
import { dialect, perDatabase } from "../db/statements.js";

export type PoolStatements = ReturnType<typeof prepare>;

function prepare(db: DB) {
  return {
    state: db.prepare<[string], { source: string; first_address: string | null; next_index: number }>(
      "SELECT source, first_address, next_index FROM pool_state WHERE chain = ?",
    ),
    /**
     * `state`, taken first by every transaction that adds addresses to a chain. PostgreSQL: the row
     * stays locked until commit, so a second adder waits before it is handed an id; a chain's ids
     * then become visible in id order (the watcher's "id > last" refresh never misses one) and no
     * derivation index is handed out twice. SQLite has one writer: the plain read.
     */
    lockState: db.prepare<[string], { source: string; first_address: string | null; next_index: number }>(
      `SELECT source, first_address, next_index FROM pool_state WHERE chain = ?${dialect(db, "", " FOR UPDATE")}`,
    ),
    initStatic: db.prepare(
      "INSERT INTO pool_state (chain, source) VALUES (?, 'static') ON CONFLICT (chain) DO NOTHING",
    ),
    initXpub: db.prepare(
      "INSERT INTO pool_state (chain, source, first_address, next_index) VALUES (?, 'xpub', ?, 0)",
    ),
    setNextIndex: db.prepare("UPDATE pool_state SET next_index = ? WHERE chain = ?"),
    insertStatic: db.prepare(
      `INSERT INTO pool_addresses (chain, address, display, source, created_at) VALUES (?, ?, ?, 'static', ?)
       ON CONFLICT (chain, address) DO NOTHING`,
    ),
    insertDerived: db.prepare(
      `INSERT INTO pool_addresses (chain, address, display, source, derivation_index, created_at)
       VALUES (?, ?, ?, 'xpub', ?, ?)`,
    ),
    unused: db.prepare<[string], { n: number }>(
      "SELECT count(*) AS n FROM pool_addresses WHERE chain = ? AND bound = 0 AND used = 0",
    ),
    // kept by triggers (0005_counters.sql): no scan of the pool per read
    counts: db.prepare<[string], { total: number; bound: number; used_unbound: number }>(
      dialect(
        db,
        "SELECT total, bound, used_unbound FROM pool_counts WHERE chain = ?",
        // with the deltas the timer has not folded yet (migrations/postgres/0013); no row when neither has one
        `SELECT sum(total)::int8 AS total, sum(bound)::int8 AS bound, sum(used_unbound)::int8 AS used_unbound FROM (
           SELECT total, bound, used_unbound FROM pool_counts WHERE chain = $1
           UNION ALL SELECT total, bound, used_unbound FROM pool_count_deltas WHERE chain = $1) c
         HAVING count(*) > 0`,
      ),
    ),
    // only the resting addresses, from their partial index
    resting: db.prepare<[string, number], { n: number }>(
      "SELECT count(*) AS n FROM pool_addresses WHERE chain = ? AND bound = 0 AND rest_until > ?",
    ),
  };
}

export const poolStatements: (db: DB) => PoolStatements = perDatabase(prepare);
