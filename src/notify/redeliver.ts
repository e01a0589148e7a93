// Operator and receiver tools over the outbox: send an event again, and read an order's events with
// their delivery history (GET /v1/orders/{id}/events and /v1/deposit-accounts/{id}/events, ?after=SEQ).
import type { DB } from "../db/index.js";
import type { AccountEventJson, CallbackBody, DeliveryAttemptJson, OrderEventJson } from "../api/schemas.js";
import { iso } from "../time.js";
import { type EventRow, outboxToolStatements } from "./statements.js";

export type EventState = OrderEventJson["state"];

/** the shapes GET /v1/orders/{id}/events answers with (src/api/schemas.ts) */
export type DeliveryAttemptView = DeliveryAttemptJson;
export type OrderEventView = OrderEventJson;

/**
 * Queues one event to be sent again now (state pending, next attempt now). Its attempt history and
 * counter stay; the retry schedule starts over from this redelivery (retry_base).
 * An in-flight lease is left alone so no second copy is sent concurrently. False when the event does
 * not exist or has nowhere to go (url NULL).
 */
export function redeliverEvent(db: DB, id: string, now: number): boolean {
  return outboxToolStatements(db).redeliverOne.run(now, id).changes > 0;
}

/** Whose event `id` is: its order's or account's (both null: unattributed); undefined: no such event. */
export function eventOwner(
  db: DB,
  id: string,
): { order_id: string | null; account_id: string | null } | undefined {
  return outboxToolStatements(db).eventOwner.get(id);
}

/** Queues again every dead event whose last attempt was at or after sinceMs. Returns how many. */
export function redeliverDead(db: DB, sinceMs: number, now: number): number {
  return outboxToolStatements(db).redeliverDead.run(now, sinceMs).changes;
}

/**
 * An order's events in seq order (those after `afterSeq` when given, at most `limit`; -1: all),
 * each with its delivery attempts.
 */
export function listOrderEvents(
  db: DB,
  orderId: string,
  afterSeq?: number,
  limit = Number.MAX_SAFE_INTEGER,
): OrderEventView[] {
  const s = outboxToolStatements(db);
  return s.eventsOfOrder.all(orderId, afterSeq ?? -1, limit).map((r) => eventView(db, r) as OrderEventView);
}

/** A deposit account's events, the same way (GET /v1/deposit-accounts/{id}/events?after=SEQ). */
export function listAccountEvents(db: DB, accountId: string, afterSeq?: number): AccountEventJson[] {
  const s = outboxToolStatements(db);
  return s.eventsOfAccount.all(accountId, afterSeq ?? -1).map((r) => eventView(db, r) as AccountEventJson);
}

function eventView(db: DB, r: EventRow): unknown {
  return {
    id: r.id,
    seq: r.seq,
    type: r.type,
    state: r.state,
    attempts: r.attempts,
    created_at: iso(r.created_at),
    delivered_at: r.delivered_at === null ? null : iso(r.delivered_at),
    next_attempt_at: r.state === "pending" ? iso(r.next_attempt_at) : null,
    body: parseBody(r.body) as unknown,
    delivery_attempts: outboxToolStatements(db)
      .attemptsOf.all(r.id)
      .map((a) => ({ ...a, started_at: iso(a.started_at) })),
  };
}

function parseBody(body: string): CallbackBody {
  try {
    return JSON.parse(body) as CallbackBody;
  } catch {
    return body as never; // not JSON: shown as stored (the response check in tests would flag it)
  }
}
