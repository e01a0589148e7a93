// Every SQL statement of the operator console, named and prepared once per database. Each reads an
// index or a counter table (0005_counters.sql, 0008_console.sql): no console page scans orders.
import type { DB } from "../db/index.js";
import { dialect, perDatabase } from "../db/statements.js";

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
      `INSERT INTO chain_lag_samples (chain, at, lag_blocks, lag_seconds) VALUES (@chain, @at, @blocks, @seconds)
        ON CONFLICT DO NOTHING`,
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
      dialect(
        db,
        `SELECT status, n FROM status_counts WHERE kind = 'order' AND chain = ''`,
        // with the deltas the timer has not folded yet (migrations/postgres/0013)
        `SELECT status, sum(n)::int8 AS n FROM (
           SELECT status, n FROM status_counts WHERE kind = 'order' AND chain = ''
           UNION ALL SELECT status, n FROM status_count_deltas WHERE kind = 'order' AND chain = '') c
         GROUP BY status`,
      ),
    ),
    hourly: db.prepare<[string, number], { hour: number; n: number }>(
      dialect(
        db,
        `SELECT hour, n FROM hourly_counts WHERE kind = ? AND hour >= ? ORDER BY hour`,
        `SELECT hour, sum(n)::int8 AS n FROM (
           SELECT hour, n FROM hourly_counts WHERE kind = $1 AND hour >= $2
           UNION ALL SELECT hour, n FROM hourly_count_deltas WHERE kind = $1 AND hour >= $2) c
         GROUP BY hour ORDER BY hour`,
      ),
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
    // The Orders screen's filters: one statement per set of equality filters, so each walks its
    // index (0001, 0006) newest first within [from, to) after the page's cursor.
    ...filtered(db),
    filteredOnChain: db.prepare<[FilterParams & { chain: string; scan: number }], OrderHit>(
      `SELECT ${ORDER_COLS.split(", ")
        .map((c) => `o.${c}`)
        .join(", ")} FROM (
          SELECT order_id, created_at FROM order_chains
           WHERE chain = @chain AND created_at >= @from AND created_at < @to AND (created_at, order_id) < (@bc, @bid)
           ORDER BY created_at DESC, order_id DESC LIMIT @scan) c
        JOIN orders o ON o.id = c.order_id
        WHERE (@status IS NULL OR o.status = @status) AND (@merchant IS NULL OR o.merchant = @merchant)
        ORDER BY c.created_at DESC, c.order_id DESC LIMIT @limit`,
    ),
    /** how many order_chains rows the chain filter walked (to say when it stopped at its bound) */
    walkedOnChain: db
      .prepare<[FilterParams & { chain: string; scan: number }], number>(
        `SELECT COUNT(*) FROM (SELECT 1 FROM order_chains
           WHERE chain = @chain AND created_at >= @from AND created_at < @to AND (created_at, order_id) < (@bc, @bid)
           ORDER BY created_at DESC, order_id DESC LIMIT @scan)`,
      )
      .pluck(),
    orderOnChain: db
      .prepare<[string, string], number>(
        `SELECT 1 FROM order_options WHERE order_id = ? AND chain = ? LIMIT 1`,
      )
      .pluck(),
    orderStatusHours: db.prepare<[number], { hour: number; status: string; n: number }>(
      dialect(
        db,
        `SELECT hour, status, n FROM order_status_hours WHERE hour >= ? AND n > 0`,
        `SELECT hour, status, sum(n)::int8 AS n FROM (
           SELECT hour, status, n FROM order_status_hours WHERE hour >= $1
           UNION ALL SELECT hour, status, n FROM order_status_hour_deltas WHERE hour >= $1) c
         GROUP BY hour, status HAVING sum(n) > 0`,
      ),
    ),

    insertJob: db.prepare<
      [{ id: string; kind: string; target: string; operator: string; now: number; total: number }]
    >(
      `INSERT INTO console_jobs (id, kind, target, operator, created_at, total) VALUES (@id, @kind, @target, @operator, @now, @total)`,
    ),
    insertJobEvent: db.prepare<[string, string]>(
      `INSERT INTO console_job_events (job_id, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
    ),
    job: db.prepare<
      [string],
      { id: string; kind: string; target: string; operator: string; created_at: number; total: number }
    >(`SELECT id, kind, target, operator, created_at, total FROM console_jobs WHERE id = ?`),
    /** per event of a job: its state and the attempts made since the job queued it */
    jobEvents: db.prepare<
      [{ job: string; since: number }],
      {
        id: string;
        order_id: string | null;
        type: string;
        state: string;
        since: number;
        last_code: number | null;
      }
    >(
      `SELECT e.id, e.order_id, e.type, e.state,
          (SELECT COUNT(*) FROM delivery_attempts a WHERE a.event_id = e.id AND a.started_at >= @since) AS since,
          (SELECT status_code FROM delivery_attempts a WHERE a.event_id = e.id ORDER BY attempt DESC LIMIT 1) AS last_code
        FROM console_job_events j JOIN events e ON e.id = j.event_id WHERE j.job_id = @job ORDER BY e.created_at, e.id`,
    ),
    oldJobEvents: db.prepare<[number]>(
      `DELETE FROM console_job_events WHERE job_id IN (SELECT id FROM console_jobs WHERE created_at < ?)`,
    ),
    oldJobs: db.prepare<[number]>(`DELETE FROM console_jobs WHERE created_at < ?`),
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
    /** dead events whose URL starts with `prefix` (events_troubled: (state, url)) */
    deadWithUrlPrefix: db.prepare<[{ prefix: string; limit: number }], { id: string; url: string }>(
      `SELECT id, url FROM events WHERE state = 'dead' AND url >= @prefix AND url < @prefix || char(1114111)
        ORDER BY url LIMIT @limit`,
    ),
  };
}

/** The filters' parameters: a [from, to) window and the keyset cursor (created_at, id) to go below. */
export interface FilterParams {
  status: string | null;
  merchant: string | null;
  from: number;
  to: number;
  bc: number;
  bid: string;
  limit: number;
}

function filtered(db: DB) {
  const where = (eq: string) =>
    `SELECT ${ORDER_COLS} FROM orders WHERE ${eq}created_at >= @from AND created_at < @to
       AND (created_at, id) < (@bc, @bid) ORDER BY created_at DESC, id DESC LIMIT @limit`;
  return {
    filteredAll: db.prepare<[FilterParams], OrderHit>(where("")),
    filteredByStatus: db.prepare<[FilterParams], OrderHit>(where("status = @status AND ")),
    filteredByMerchant: db.prepare<[FilterParams], OrderHit>(where("merchant = @merchant AND ")),
    filteredByMerchantStatus: db.prepare<[FilterParams], OrderHit>(
      where("merchant = @merchant AND status = @status AND "),
    ),
  };
}

export type ConsoleStatements = ReturnType<typeof createConsoleStatements>;

export const consoleStatements: (db: DB) => ConsoleStatements = perDatabase(createConsoleStatements);
