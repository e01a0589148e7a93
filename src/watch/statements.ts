// Every SQL statement of the watchers' own reads and writes (SQLite): the chain identity, the oldest
// stored block, how far a chain has been scanned and what waits for it. Cursor moves are the ledger's.
import { OPEN } from "../core/reconcile.js";
import type { DB } from "../db/index.js";
import { inList, perDatabase } from "../db/statements.js";

export type WatchStatements = ReturnType<typeof prepare>;

function prepare(db: DB) {
  return {
    genesis: db.prepare<[string], string>("SELECT genesis FROM chain_identity WHERE chain = ?").pluck(),
    saveGenesis: db.prepare<[string, string, number]>(
      "INSERT INTO chain_identity (chain, genesis, first_seen_at) VALUES (?, ?, ?) ON CONFLICT (chain) DO NOTHING",
    ),
    oldestBlock: db.prepare<[string], { number: number; parentHash: string }>(
      "SELECT number, parent_hash AS parentHash FROM chain_blocks WHERE chain = ? ORDER BY number LIMIT 1",
    ),
    /** time of the newest block scanned (the one before the cursor) */
    scannedTime: db
      .prepare<[string], number>(
        `SELECT b.timestamp FROM chain_cursors c
         JOIN chain_blocks b ON b.chain = c.chain AND b.number = c.next_block - 1
         WHERE c.chain = ?`,
      )
      .pluck(),
    /** open orders on the chain past expires_at by the wall clock, not yet by the chain */
    waitingOrders: db
      .prepare<{ chain: string; now: number; scanned: number }, number>(
        `SELECT count(DISTINCT o.id) FROM orders o JOIN order_options op ON op.order_id = o.id
         WHERE op.chain = @chain AND o.status IN ${inList(OPEN)}
           AND o.expires_at < @now AND o.expires_at >= @scanned`,
      )
      .pluck(),
    /** bindings past late_until by the wall clock, not yet by the chain */
    waitingBindings: db
      .prepare<{ chain: string; now: number; scanned: number }, number>(
        `SELECT count(*) FROM bindings b JOIN orders o ON o.id = b.order_id
         WHERE b.chain = @chain AND b.released_at IS NULL AND o.late_until < @now AND o.late_until >= @scanned`,
      )
      .pluck(),
    /** the cursor with the time of the last pass (`depositd status`) */
    cursorPass: db.prepare<[string], { next_block: number; head: number; updated_at: number }>(
      "SELECT next_block, head, updated_at FROM chain_cursors WHERE chain = ?",
    ),
  };
}

export const watchStatements = perDatabase(prepare);
