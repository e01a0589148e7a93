// Every SQL statement of the address pools, named and prepared once per database (SQLite).
import type { DB } from "../db/index.js";

export type PoolStatements = ReturnType<typeof prepare>;

function prepare(db: DB) {
  return {
    state: db.prepare<[string], { source: string; first_address: string | null; next_index: number }>(
      "SELECT source, first_address, next_index FROM pool_state WHERE chain = ?",
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
      "SELECT count(*) AS n FROM pool_addresses WHERE chain = ? AND used = 0",
    ),
    counts: db.prepare<
      [number, number, number, string],
      { total: number; bound: number; resting: number; free: number }
    >(
      `SELECT count(*) AS total,
              sum(bound = 1) AS bound,
              sum(bound = 0 AND rest_until > ?) AS resting,
              sum(bound = 0 AND rest_until <= ? AND (used = 0 OR ?)) AS free
       FROM pool_addresses WHERE chain = ?`,
    ),
  };
}

const byDb = new WeakMap<DB, PoolStatements>();

export function poolStatements(db: DB): PoolStatements {
  let s = byDb.get(db);
  if (!s) byDb.set(db, (s = prepare(db)));
  return s;
}
