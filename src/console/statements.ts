// Every SQL statement of the operator console, named and prepared once per database. Each reads an
// index or a counter table (0005_counters.sql, 0008_console.sql): no console page scans orders.
import type { DB } from "../db/index.js";
import { perDatabase } from "../db/statements.js";

export interface OrderHit {
  id: string;
  merchant: string;
  merchant_order_id: string;
  status: string;
  amount: string;
  currency: string;
  created_at: number;
}

export interface TroubledRow {
  id: string;
  order_id: string | null;
  type: string;
  url: string | null;
  state: string;
  attempts: number;
  created_at: number;
}

const ORDER_COLS = "id, merchant, merchant_order_id, status, amount, currency, created_at";

function createConsoleStatements(db: DB) {
  return {
    insertSession: db.prepare<[{ hash: string; key: string; now: number; expires: number }]>(
      `INSERT INTO console_sessions (id_hash, key_name, created_at, expires_at) VALUES (@hash, @key, @now, @expires)`,
    ),
    session: db.prepare<[string], { key_name: string; expires_at: number }>(
      `SELECT key_name, expires_at FROM console_sessions WHERE id_hash = ?`,
    ),
    deleteSession: db.prepare<[string]>(`DELETE FROM console_sessions WHERE id_hash = ?`),
    pruneSessions: db.prepare<[number]>(`DELETE FROM console_sessions WHERE expires_at <= ?`),

    lastSample: db
      .prepare<[string], number | null>(`SELECT MAX(at) FROM chain_lag_samples WHERE chain = ?`)
      .pluck(),
    insertSample: db.prepare<[{ chain: string; at: number; blocks: number | null; seconds: number | null }]>(
      `INSERT OR IGNORE INTO chain_lag_samples (chain, at, lag_blocks, lag_seconds) VALUES (@chain, @at, @blocks, @seconds)`,
    ),
    pruneSamples: db.prepare<[number]>(`DELETE FROM chain_lag_samples WHERE at < ?`),
    samples: db.prepare<
      [string, number],
      { at: number; lag_blocks: number | null; lag_seconds: number | null }
    >(`SELECT at, lag_blocks, lag_seconds FROM chain_lag_samples WHERE chain = ? AND at >= ? ORDER BY at`),
    blockTime: db
      .prepare<[string, number], number | undefined>(
        `SELECT timestamp FROM chain_blocks WHERE chain = ? AND number = ?`,
      )
      .pluck(),

    orderCounts: db.prepare<[], { status: string; n: number }>(
      `SELECT status, n FROM status_counts WHERE kind = 'order' AND chain = ''`,
    ),
    hourly: db.prepare<[string, number], { hour: number; n: number }>(
      `SELECT hour, n FROM hourly_counts WHERE kind = ? AND hour >= ? ORDER BY hour`,
    ),
    pendingCount: db.prepare<[], number>(`SELECT COUNT(*) FROM events WHERE state = 'pending'`).pluck(),
    oldestPending: db
      .prepare<[], number | null>(`SELECT MIN(created_at) FROM events WHERE state = 'pending'`)
      .pluck(),
    deadCount: db.prepare<[], number>(`SELECT COUNT(*) FROM events WHERE state = 'dead'`).pluck(),

    orderById: db.prepare<[string], OrderHit>(`SELECT ${ORDER_COLS} FROM orders WHERE id = ?`),
    ordersByMerchantOrderId: db.prepare<[string], OrderHit>(
      `SELECT ${ORDER_COLS} FROM orders WHERE merchant_order_id = ? LIMIT 50`,
    ),
    ordersByAddress: db.prepare<[string], OrderHit>(
      `SELECT ${ORDER_COLS} FROM orders WHERE id IN (SELECT order_id FROM order_options WHERE address = ? LIMIT 50)
        ORDER BY created_at DESC`,
    ),
    ordersByTxid: db.prepare<[string], OrderHit>(
      `SELECT ${ORDER_COLS} FROM orders WHERE id IN (SELECT order_id FROM payments WHERE txid = ? LIMIT 50)`,
    ),
    unattributedByTxid: db
      .prepare<[string], string>(`SELECT id FROM payments WHERE txid = ? AND order_id IS NULL LIMIT 50`)
      .pluck(),
    recentOrders: db.prepare<[number], OrderHit>(
      `SELECT ${ORDER_COLS} FROM orders ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    recentOrdersByStatus: db.prepare<[string, number], OrderHit>(
      `SELECT ${ORDER_COLS} FROM orders WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    paymentOrder: db.prepare<[string], string | null>(`SELECT order_id FROM payments WHERE id = ?`).pluck(),
    lastOrderOfAddress: db.prepare<
      [string, string],
      { id: string; merchant_order_id: string; status: string }
    >(
      `SELECT o.id, o.merchant_order_id, o.status FROM bindings b JOIN orders o ON o.id = b.order_id
        WHERE b.chain = ? AND b.address = ? ORDER BY b.bound_at DESC LIMIT 1`,
    ),

    troubled: db.prepare<[number], TroubledRow>(
      `SELECT id, order_id, type, url, state, attempts, created_at FROM events
        WHERE state = 'dead' OR (state = 'pending' AND attempts > 0) LIMIT ?`,
    ),
    lastAttempt: db.prepare<
      [string],
      { status_code: number | null; error: string | null; started_at: number }
    >(
      `SELECT status_code, error, started_at FROM delivery_attempts WHERE event_id = ? ORDER BY attempt DESC LIMIT 1`,
    ),
    deadWithUrl: db.prepare<[number], { id: string; url: string }>(
      `SELECT id, url FROM events WHERE state = 'dead' AND url IS NOT NULL LIMIT ?`,
    ),
  };
}

export type ConsoleStatements = ReturnType<typeof createConsoleStatements>;

export const consoleStatements: (db: DB) => ConsoleStatements = perDatabase(createConsoleStatements);
