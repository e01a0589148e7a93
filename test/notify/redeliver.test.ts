import { testDatabase } from "../helpers/config.js";
import { afterEach, describe, expect, it } from "vitest";
import type { DB } from "../../src/db/index.js";
import { listOrderEvents, redeliverDead, redeliverEvent } from "../../src/notify/redeliver.js";
import { eventBody, eventRow, insertEvents, insertOrder } from "./helpers.js";

let db: DB;
afterEach(() => db?.close());

const T = 1_700_000_000_000;

function seed(): void {
  db = testDatabase();
  insertOrder(db, "ord_1", "https://shop.example/hook", T);
  insertOrder(db, "ord_2", "https://shop.example/hook", T);
  insertEvents(db, [
    {
      id: "evt_1",
      orderId: "ord_1",
      seq: 1,
      type: "order.processing",
      url: "https://shop.example/hook",
      at: T,
    },
    {
      id: "evt_2",
      orderId: "ord_1",
      seq: 2,
      type: "order.paid",
      url: "https://shop.example/hook",
      at: T + 1,
    },
    {
      id: "evt_3",
      orderId: "ord_1",
      seq: 3,
      type: "payment.confirmed",
      url: "https://shop.example/hook",
      at: T + 2,
    },
    { id: "evt_4", orderId: "ord_2", seq: 1, url: "https://shop.example/hook", at: T + 3 },
    { id: "evt_nowhere", orderId: null, seq: null, type: "payment.unattributed", url: null, at: T + 4 },
  ]);
  const attempt = db.prepare(
    `INSERT INTO delivery_attempts (event_id, attempt, started_at, latency_ms, status_code, error, response_body)
     VALUES (?, ?, ?, 12, ?, ?, ?)`,
  );
  attempt.run("evt_1", 1, T + 10, 500, null, "oops");
  attempt.run("evt_1", 2, T + 20, 200, null, "ok");
  db.prepare("UPDATE events SET state = 'delivered', attempts = 2, delivered_at = ? WHERE id = 'evt_1'").run(
    T + 20,
  );
  // evt_2 died long ago, evt_4 died recently
  attempt.run("evt_2", 1, T + 100, null, "timeout after 10000 ms", null);
  db.prepare("UPDATE events SET state = 'dead', attempts = 1 WHERE id = 'evt_2'").run();
  attempt.run("evt_4", 1, T + 5_000, 404, null, "not found");
  db.prepare("UPDATE events SET state = 'dead', attempts = 1 WHERE id = 'evt_4'").run();
}

describe("listOrderEvents", () => {
  it("default: every event of the order in seq order, body parsed, attempts included", () => {
    seed();
    const events = listOrderEvents(db, "ord_1");
    expect(events.map((e) => [e.id, e.seq, e.type, e.state])).toEqual([
      ["evt_1", 1, "order.processing", "delivered"],
      ["evt_2", 2, "order.paid", "dead"],
      ["evt_3", 3, "payment.confirmed", "pending"],
    ]);
    const first = events[0]!;
    expect(first.created_at).toBe(new Date(T).toISOString());
    expect(first.delivered_at).toBe(new Date(T + 20).toISOString());
    expect(first.attempts).toBe(2);
    expect(first.body).toEqual(
      JSON.parse(
        eventBody({ id: "evt_1", orderId: "ord_1", seq: 1, type: "order.processing", url: "", at: T }),
      ),
    );
    expect(first.delivery_attempts).toEqual([
      {
        attempt: 1,
        started_at: new Date(T + 10).toISOString(),
        latency_ms: 12,
        status_code: 500,
        error: null,
        response_body: "oops",
      },
      {
        attempt: 2,
        started_at: new Date(T + 20).toISOString(),
        latency_ms: 12,
        status_code: 200,
        error: null,
        response_body: "ok",
      },
    ]);
    expect(events[2]!.next_attempt_at).toBe(new Date(T + 2).toISOString());
    expect(events[0]!.next_attempt_at).toBeNull();
  });

  it("args: afterSeq returns only later events (catch-up); unknown order → empty", () => {
    seed();
    expect(listOrderEvents(db, "ord_1", 1).map((e) => e.seq)).toEqual([2, 3]);
    expect(listOrderEvents(db, "ord_1", 3)).toEqual([]);
    expect(listOrderEvents(db, "ord_missing")).toEqual([]);
  });
});

describe("redeliverEvent", () => {
  it("default: a delivered or dead event is queued again now, history kept", () => {
    seed();
    expect(redeliverEvent(db, "evt_1", T + 1000)).toBe(true);
    expect(eventRow(db, "evt_1")).toMatchObject({ state: "pending", next_attempt_at: T + 1000, attempts: 2 });
    expect(listOrderEvents(db, "ord_1")[0]!.delivery_attempts).toHaveLength(2);
    expect(redeliverEvent(db, "evt_2", T + 1000)).toBe(true);
    expect(eventRow(db, "evt_2")).toMatchObject({ state: "pending", next_attempt_at: T + 1000 });
  });

  it("error: unknown id, or skipped with nowhere to send → false and unchanged", () => {
    seed();
    expect(redeliverEvent(db, "evt_missing", T)).toBe(false);
    expect(redeliverEvent(db, "evt_nowhere", T + 1000)).toBe(false);
    expect(eventRow(db, "evt_nowhere").state).toBe("skipped");
  });
});

describe("redeliverDead", () => {
  it("default: requeues the dead events whose last attempt is at or after sinceMs", () => {
    seed();
    expect(redeliverDead(db, T + 1_000, T + 9_000)).toBe(1);
    expect(eventRow(db, "evt_4")).toMatchObject({ state: "pending", next_attempt_at: T + 9_000 });
    expect(eventRow(db, "evt_2").state).toBe("dead");
    expect(redeliverDead(db, 0, T + 9_000)).toBe(1);
    expect(eventRow(db, "evt_2").state).toBe("pending");
    expect(redeliverDead(db, 0, T + 9_000)).toBe(0);
  });
});
