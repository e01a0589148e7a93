// Every SQL statement of callback delivery, named and prepared once (SQLite and
// PostgreSQL: `dialect` where they differ).
import type { AccountEventJson, OrderEventJson } from "../api/schemas.js";
import type { DB } from "../db/index.js";
import { dialect, perDatabase } from "../db/statements.js";

export interface DueRow {
  id: string;
  url: string | null;
  next_attempt_at: number;
}

export interface ClaimedRow {
  id: string;
  url: string | null;
  body: string;
  seq: number | null;
  attempts: number;
  /** attempts made before the last redelivery */
  retry_base: number;
}

export type DeliveryStatements = ReturnType<typeof createDeliveryStatements>;

export function createDeliveryStatements(db: DB) {
  return {
    // due rows from `from` on, in due order; hosts whose candidate list is full are filtered out in SQL
    // by URL prefix ("https://host:port/"), so per-order callback URLs are filtered as well
    selectDue: db.prepare<[{ from: number; now: number; excluded: string; limit: number }], DueRow>(
      `SELECT id, url, next_attempt_at FROM events
        WHERE state = 'pending' AND next_attempt_at >= @from AND next_attempt_at <= @now AND lease_until < @now
          AND (url IS NULL OR NOT EXISTS (
            SELECT 1 FROM ${dialect(db, "json_each(@excluded) e", "json_array_elements_text(@excluded::json) e (value)")}
            WHERE substr(events.url, 1, length(e.value)) = e.value))
        ORDER BY next_attempt_at LIMIT @limit`,
    ),
    claim: db.prepare<[{ id: string; owner: string; until: number; now: number }], ClaimedRow>(
      `UPDATE events SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
        WHERE id = @id AND state = 'pending' AND next_attempt_at <= @now AND lease_until < @now
        RETURNING id, url, body, seq, attempts, retry_base`,
    ),
    /** a claim given back unsent (the worker stopped before its turn): as if never claimed */
    unclaim: db.prepare(
      `UPDATE events SET attempts = attempts - 1, lease_owner = NULL, lease_until = 0
        WHERE id = @id AND state = 'pending' AND lease_owner = @owner AND attempts = @attempt`,
    ),
    markSkipped: db.prepare(
      `UPDATE events SET state = 'skipped' WHERE id = ? AND state = 'pending' AND url IS NULL`,
    ),
    markDelivered: db.prepare(
      `UPDATE events SET state = 'delivered', delivered_at = @at, lease_owner = NULL, lease_until = 0
        WHERE id = @id AND state = 'pending'`,
    ),
    // only the lease holder of this very attempt may reschedule it
    markFailed: db.prepare(
      `UPDATE events SET state = @state, next_attempt_at = @next, lease_owner = NULL, lease_until = 0
        WHERE id = @id AND state = 'pending' AND lease_owner = @owner AND attempts = @attempt`,
    ),
    insertAttempt: db.prepare(
      `INSERT INTO delivery_attempts (event_id, attempt, started_at, latency_ms, status_code, error, response_body)
        VALUES (@id, @attempt, @startedAt, @latencyMs, @status, @error, @response) ON CONFLICT DO NOTHING`,
    ),
    nextDue: db
      .prepare<[number], number | null>(
        `SELECT MIN(next_attempt_at) FROM events WHERE state = 'pending' AND next_attempt_at > ?`,
      )
      .pluck(),
    countPending: db.prepare<[], number>(`SELECT COUNT(*) FROM events WHERE state = 'pending'`).pluck(),
  };
}

/** The operator tools' statements (redeliver, an order's events), prepared once per database. */
function prepareTools(db: DB) {
  return {
    redeliverOne: db.prepare(
      `UPDATE events SET state = 'pending', next_attempt_at = ?, delivered_at = NULL, retry_base = attempts
        WHERE id = ? AND url IS NOT NULL`,
    ),
    redeliverDead: db.prepare(
      `UPDATE events SET state = 'pending', next_attempt_at = ?, retry_base = attempts
        WHERE state = 'dead' AND url IS NOT NULL
          AND (SELECT MAX(started_at) FROM delivery_attempts a WHERE a.event_id = events.id) >= ?`,
    ),
    eventsOfOrder: db.prepare<[string, number, number], EventRow>(
      `SELECT id, seq, type, state, attempts, created_at, delivered_at, next_attempt_at, body
         FROM events WHERE order_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    eventsOfAccount: db.prepare<[string, number], EventRow>(
      `SELECT id, seq, type, state, attempts, created_at, delivered_at, next_attempt_at, body
         FROM events WHERE account_id = ? AND seq > ? ORDER BY seq`,
    ),
    /** whose event it is: its order's or account's (both null: unattributed, the operator's) */
    eventOwner: db.prepare<[string], { order_id: string | null; account_id: string | null }>(
      "SELECT order_id, account_id FROM events WHERE id = ?",
    ),
    outboxByState: db.prepare<[], { state: string; n: number; oldest: number | null }>(
      "SELECT state, count(*) AS n, min(created_at) AS oldest FROM events GROUP BY state",
    ),
    oldestPending: db
      .prepare<[], number | null>("SELECT min(created_at) FROM events WHERE state = 'pending'")
      .pluck(),
    attemptsOf: db.prepare<[string], AttemptRow>(
      `SELECT attempt, started_at, latency_ms, status_code, error, response_body
         FROM delivery_attempts WHERE event_id = ? ORDER BY attempt`,
    ),
  };
}

export interface EventRow {
  id: string;
  seq: number | null;
  type: OrderEventJson["type"] | AccountEventJson["type"];
  state: "pending" | "delivered" | "dead" | "skipped";
  attempts: number;
  created_at: number;
  delivered_at: number | null;
  next_attempt_at: number;
  body: string;
}

export interface AttemptRow {
  attempt: number;
  started_at: number;
  latency_ms: number;
  status_code: number | null;
  error: string | null;
  response_body: string | null;
}

export const outboxToolStatements = perDatabase(prepareTools);
