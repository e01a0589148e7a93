import { testDatabase } from "../helpers/config.js";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, type DB } from "../../src/db/index.js";
import { retryDelayMs } from "../../src/notify/attempt.js";
import { createDeliveryWorker, type DeliveryWorker } from "../../src/notify/deliver.js";
import { originPrefix } from "../../src/notify/schedule.js";
import { redeliverEvent } from "../../src/notify/redeliver.js";
import { verifySignature } from "../../src/notify/verify.js";
import {
  SECRET,
  OLD_SECRET,
  attemptsOf,
  eventRow,
  insertEvents,
  insertOrder,
  startReceiver,
  testCommon,
  testConfig,
  waitFor,
  type Receiver,
} from "./helpers.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(
  notify: Record<string, unknown> = {},
  now?: () => number,
): { db: DB; worker: DeliveryWorker; common: ReturnType<typeof testCommon> } {
  const db = testDatabase();
  const common = testCommon(testConfig(notify), now);
  const worker = createDeliveryWorker({ db, common, owner: "w1" });
  cleanups.push(() => db.close());
  cleanups.push(() => worker.stop(200));
  return { db, worker, common };
}

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  cleanups.push(() => r.close());
  return r;
}

describe("retryDelayMs", () => {
  it("default: schedule[attempt-1] seconds with ±20 % jitter; null after the last", () => {
    const schedule = [10, 60, 300];
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(8000);
    expect(retryDelayMs(schedule, 1, () => 0.5)).toBe(10000);
    expect(retryDelayMs(schedule, 2, () => 0.9999999)).toBe(72000);
    expect(retryDelayMs(schedule, 3, () => 0.5)).toBe(300000);
    expect(retryDelayMs(schedule, 4, () => 0.5)).toBeNull();
  });
});

describe("originPrefix", () => {
  it("default: scheme://authority/ as written; null without a path slash", () => {
    expect(originPrefix("https://Shop.example:8443/hooks/x?o=1")).toBe("https://Shop.example:8443/");
    expect(originPrefix("http://127.0.0.1:9/")).toBe("http://127.0.0.1:9/");
    expect(originPrefix("http://127.0.0.1:9?x=1")).toBeNull();
    expect(originPrefix("nonsense")).toBeNull();
  });
});

describe("createDeliveryWorker", () => {
  it("default: POSTs the stored bytes once, signed, with the event headers; 2xx = delivered", async () => {
    const r = await receiver((_req, res) => void res.writeHead(204).end());
    const { db, worker } = setup({
      secrets: [
        { id: "old", value: OLD_SECRET },
        { id: "new", value: SECRET },
      ],
    });
    insertOrder(db, "ord_1", r.url);
    insertEvents(db, [{ id: "evt_a", orderId: "ord_1", seq: 1, url: r.url }]);
    const stored = db.prepare("SELECT body FROM events WHERE id = 'evt_a'").pluck().get() as string;

    expect(await worker.tick()).toBe(1);
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.body).toBe(stored);
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["depositd-event-id"]).toBe("evt_a");
    expect(got.headers["depositd-event-seq"]).toBe("1");
    expect(got.headers["depositd-attempt"]).toBe("1");
    const sig = String(got.headers["depositd-signature"]);
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifySignature(got.body, sig, [SECRET])).toBe(true);
    expect(verifySignature(got.body, sig, [OLD_SECRET])).toBe(true);

    expect(eventRow(db, "evt_a")).toMatchObject({ state: "delivered", attempts: 1, lease_until: 0 });
    const [a] = attemptsOf(db, "evt_a");
    expect(a).toMatchObject({ attempt: 1, status_code: 204, error: null });
    expect(await worker.tick()).toBe(0);
    expect(r.received).toHaveLength(1);
  });

  it("behavior: no seq (unattributed payment) → no Depositd-Event-Seq header; url NULL → skipped, never sent", async () => {
    const r = await receiver();
    const { db, worker } = setup();
    insertEvents(db, [{ id: "evt_u", orderId: null, seq: null, type: "payment.unattributed", url: r.url }]);
    // a pending row without a target (should be written as skipped, but must not be stuck either)
    db.prepare(
      `INSERT INTO events (id, type, body, state, next_attempt_at, created_at) VALUES ('evt_nowhere', 'payment.unattributed', '{}', 'pending', 0, 0)`,
    ).run();
    expect(await worker.tick()).toBe(1);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.headers["depositd-event-seq"]).toBeUndefined();
    expect(eventRow(db, "evt_nowhere").state).toBe("skipped");
  });

  it("behavior: fails 3 times then succeeds → 4 deliveries of the same id and body, each no sooner than its step", async () => {
    const r = await receiver(
      (_req, res, i) => void res.writeHead(i < 3 ? 503 : 200).end(i < 3 ? "busy" : "ok"),
    );
    // steps far enough apart that a loaded machine's timer lag cannot reorder them
    const { db, worker } = setup({ retry_schedule_s: [0.05, 0.3, 0.9] });
    insertEvents(db, [{ id: "evt_r", orderId: null, seq: null, url: r.url }]);
    worker.start();
    await waitFor(() => eventRow(db, "evt_r").state === "delivered", 10_000, "delivery");

    expect(r.received).toHaveLength(4);
    expect(new Set(r.received.map((x) => x.headers["depositd-event-id"]))).toEqual(new Set(["evt_r"]));
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    expect(r.received.map((x) => x.headers["depositd-attempt"])).toEqual(["1", "2", "3", "4"]);
    for (const x of r.received)
      expect(verifySignature(x.body, String(x.headers["depositd-signature"]), [SECRET])).toBe(true);

    const attempts = attemptsOf(db, "evt_r");
    expect(attempts.map((a) => a.status_code)).toEqual([503, 503, 503, 200]);
    expect(attempts[0]!.response_body).toBe("busy");
    const gaps = attempts.slice(1).map((a, i) => a.started_at - attempts[i]!.started_at);
    // never earlier than the schedule minus jitter (timers do not fire early). Only the floors are
    // asserted: a loaded machine may fire any timer late, so one gap against another is not evidence.
    // The exact delay of each step is proven under a moved clock in the next test.
    expect(gaps[0]).toBeGreaterThanOrEqual(40);
    expect(gaps[1]).toBeGreaterThanOrEqual(240);
    expect(gaps[2]).toBeGreaterThanOrEqual(720);
  });

  it("behavior: always failing → dead after the schedule; redeliverEvent queues it again and it is delivered", async () => {
    let now = 1_700_000_000_000;
    let healthy = false;
    const r = await receiver((_req, res) => void res.writeHead(healthy ? 200 : 500).end());
    const { db, worker } = setup({ retry_schedule_s: [10, 60, 300] }, () => now);
    insertEvents(db, [{ id: "evt_d", orderId: null, seq: null, url: r.url, at: now }]);

    const schedule = [10, 60, 300];
    for (let i = 0; i < 3; i++) {
      const t = now;
      expect(await worker.tick()).toBe(1);
      const row = eventRow(db, "evt_d");
      expect(row.state).toBe("pending");
      const delay = row.next_attempt_at - t;
      expect(delay).toBeGreaterThanOrEqual(schedule[i]! * 800);
      expect(delay).toBeLessThanOrEqual(schedule[i]! * 1200);
      now = t + delay - 1;
      expect(await worker.tick()).toBe(0); // not due yet
      now = row.next_attempt_at;
    }
    expect(await worker.tick()).toBe(1);
    expect(eventRow(db, "evt_d")).toMatchObject({ state: "dead", attempts: 4 });
    now += 10_000_000;
    expect(await worker.tick()).toBe(0);
    expect(r.received).toHaveLength(4);

    // redelivered while the receiver still fails: the schedule starts over (10 s), not dead at once
    expect(redeliverEvent(db, "evt_d", now)).toBe(true);
    expect(await worker.tick()).toBe(1);
    const again = eventRow(db, "evt_d");
    expect(again).toMatchObject({ state: "pending", attempts: 5 });
    expect(again.next_attempt_at - now).toBeGreaterThanOrEqual(8_000);
    expect(again.next_attempt_at - now).toBeLessThanOrEqual(12_000);
    now = again.next_attempt_at;
    healthy = true;
    expect(await worker.tick()).toBe(1);
    expect(eventRow(db, "evt_d")).toMatchObject({ state: "delivered", attempts: 6 });
    expect(attemptsOf(db, "evt_d").map((a) => a.status_code)).toEqual([500, 500, 500, 500, 500, 200]);
    expect(r.received.map((x) => x.headers["depositd-attempt"])).toEqual(["1", "2", "3", "4", "5", "6"]);
  });

  it("error: a receiver slower than timeout_ms is cut off and recorded", async () => {
    const r = await receiver((_req, res) => void setTimeout(() => res.end("late"), 3000));
    const { db, worker } = setup({ timeout_ms: 300 });
    insertEvents(db, [{ id: "evt_slow", orderId: null, seq: null, url: r.url }]);
    const t0 = Date.now();
    expect(await worker.tick()).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2500);
    const [a] = attemptsOf(db, "evt_slow");
    expect(a!.error).toBe("timeout after 300 ms");
    expect(a!.status_code).toBeNull();
    expect(a!.latency_ms).toBeGreaterThanOrEqual(280);
    expect(eventRow(db, "evt_slow")).toMatchObject({ state: "pending", attempts: 1 });
  });

  it("error: connection refused is recorded and retried", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const { db, worker } = setup();
    insertEvents(db, [{ id: "evt_refused", orderId: null, seq: null, url: `http://127.0.0.1:${port}/hook` }]);
    expect(await worker.tick()).toBe(1);
    const [a] = attemptsOf(db, "evt_refused");
    expect(a!.error).toMatch(/ECONNREFUSED/);
    expect(eventRow(db, "evt_refused").state).toBe("pending");
  });

  it("error: a 301 is not followed and counts as a failure", async () => {
    const target = await receiver();
    const r = await receiver((_req, res) => void res.writeHead(301, { location: target.url }).end("moved"));
    const { db, worker } = setup();
    insertEvents(db, [{ id: "evt_moved", orderId: null, seq: null, url: r.url }]);
    expect(await worker.tick()).toBe(1);
    expect(target.received).toHaveLength(0);
    expect(attemptsOf(db, "evt_moved")[0]).toMatchObject({ status_code: 301, response_body: "moved" });
    expect(eventRow(db, "evt_moved").state).toBe("pending");
  });

  it("behavior: a 10 MB response keeps 1 KiB and is not read to the end", async () => {
    const size = 10 * 1024 * 1024;
    let written = 0;
    let finished = false;
    let onClosed!: () => void;
    const closed = new Promise<void>((resolve) => (onClosed = resolve));
    const r = await receiver(async (_req, res) => {
      res.on("close", onClosed);
      res.on("finish", () => (finished = true));
      res.writeHead(200, { "content-length": String(size) });
      const chunk = Buffer.alloc(64 * 1024, "x");
      while (written < size && !res.destroyed) {
        written += chunk.length;
        // trickle, so kernel buffers cannot swallow the whole body before the worker hangs up
        await new Promise((ok) => setTimeout(ok, res.write(chunk) ? 1 : 5));
      }
      res.end();
    });
    const { db, worker } = setup();
    insertEvents(db, [{ id: "evt_big", orderId: null, seq: null, url: r.url }]);
    expect(await worker.tick()).toBe(1);
    await closed;
    expect(finished).toBe(false);
    expect(written).toBeLessThan(size);
    const [a] = attemptsOf(db, "evt_big");
    expect(a!.response_body).toBe("x".repeat(1024));
    expect(a!.status_code).toBe(200);
    expect(eventRow(db, "evt_big").state).toBe("delivered");
  });

  it("error: a private target is refused at delivery time unless allow_private_targets", async () => {
    const r = await receiver();
    const refused = setup({ allow_private_targets: false });
    const urls = [r.url, `http://localhost:${r.port}/hook`, `http://[::ffff:127.0.0.1]:${r.port}/hook`];
    insertEvents(
      refused.db,
      urls.map((url, i) => ({ id: `evt_p${i}`, orderId: null, seq: null, url })),
    );
    expect(await refused.worker.tick()).toBe(3);
    expect(r.received).toHaveLength(0);
    for (let i = 0; i < 3; i++) {
      const [a] = attemptsOf(refused.db, `evt_p${i}`);
      expect(a!.error, urls[i]).toMatch(/refused target/);
      expect(a!.status_code).toBeNull();
    }

    const allowed = setup({ allow_private_targets: true });
    insertEvents(
      allowed.db,
      urls.slice(0, 2).map((url, i) => ({ id: `evt_q${i}`, orderId: null, seq: null, url })),
    );
    expect(await allowed.worker.tick()).toBe(2);
    expect(r.received).toHaveLength(2);
  });

  it("behavior: a failing event never holds back later events of the same order", async () => {
    const r = await receiver(
      (req, res) => void res.writeHead(req.headers["depositd-event-seq"] === "1" ? 500 : 200).end(),
    );
    const { db, worker } = setup({ retry_schedule_s: [60] });
    insertOrder(db, "ord_2", r.url);
    const at = Date.now() - 1000;
    insertEvents(db, [
      { id: "evt_s1", orderId: "ord_2", seq: 1, url: r.url, at },
      { id: "evt_s2", orderId: "ord_2", seq: 2, url: r.url, at: at + 1 },
      { id: "evt_s3", orderId: "ord_2", seq: 3, url: r.url, at: at + 2 },
    ]);
    await worker.tick();
    expect(eventRow(db, "evt_s1").state).toBe("pending");
    expect(eventRow(db, "evt_s2").state).toBe("delivered");
    expect(eventRow(db, "evt_s3").state).toBe("delivered");
  });

  it("behavior: stop() aborts what is still in flight and releases it for the next start", async () => {
    const r = await receiver(() => undefined); // never answers
    const { db, worker } = setup({ timeout_ms: 5000 });
    insertEvents(db, [{ id: "evt_stop", orderId: null, seq: null, url: r.url }]);
    worker.start();
    await waitFor(() => r.received.length === 1, 5000, "request");
    await worker.stop(50);
    const row = eventRow(db, "evt_stop");
    expect(row).toMatchObject({ state: "pending", attempts: 1, lease_until: 0 });
    expect(attemptsOf(db, "evt_stop")[0]!.error).toMatch(/stopping/);
  });

  it("behavior: events claimed ahead of a busy host's slot are given back unsent at stop(), uncounted", async () => {
    const r = await receiver(() => undefined); // never answers: the one slot stays busy
    const { db, worker } = setup({ timeout_ms: 5000, per_host_concurrency: 1 });
    const ids = ["evt_a0", "evt_a1", "evt_a2", "evt_a3"];
    const at = Date.now() - 1000;
    insertEvents(
      db,
      ids.map((id, i) => ({ id, orderId: null, seq: null, url: r.url, at: at + i })),
    );
    worker.start();
    await waitFor(() => r.received.length === 1, 5000, "request");
    // the others are claimed (leased) while they wait for the slot
    await waitFor(() => eventRow(db, "evt_a3").lease_until > 0, 5000, "claims ahead");
    await worker.stop(50);
    expect(r.received).toHaveLength(1);
    expect(eventRow(db, "evt_a0")).toMatchObject({ state: "pending", attempts: 1, lease_until: 0 });
    for (const id of ids.slice(1)) {
      expect(eventRow(db, id)).toMatchObject({ state: "pending", attempts: 0, lease_until: 0 });
      expect(attemptsOf(db, id)).toEqual([]);
    }
  });

  it("behavior: a claimed event whose turn comes too near its lease's end is given back, not sent", async () => {
    let t = Date.now();
    const held: (() => void)[] = [];
    const r = await receiver((_req, res) => void held.push(() => res.end("ok")));
    const { db, worker } = setup({ timeout_ms: 1000, per_host_concurrency: 1 }, () => t);
    insertEvents(db, [
      { id: "evt_l0", orderId: null, seq: null, url: r.url, at: t - 2 },
      { id: "evt_l1", orderId: null, seq: null, url: r.url, at: t - 1 },
    ]);
    worker.start();
    await waitFor(() => r.received.length === 1 && eventRow(db, "evt_l1").lease_until > 0, 5000, "claims");
    const firstLease = eventRow(db, "evt_l1").lease_until;
    // the lease is timeout × 2 + 10 s: by the time the slot frees, too little of it is left to send
    t += 1000 * 2 + 10_000 - 500;
    held.shift()!();
    await waitFor(() => eventRow(db, "evt_l0").state === "delivered", 5000, "first delivered");
    // not sent under the old lease: given back, claimed again with a full lease, then sent
    await waitFor(() => r.received.length === 2, 5000, "sent again");
    expect(eventRow(db, "evt_l1")).toMatchObject({ attempts: 1, lease_until: t + 1000 * 2 + 10_000 });
    expect(eventRow(db, "evt_l1").lease_until).toBeGreaterThan(firstLease);
    held.shift()!();
    await waitFor(() => eventRow(db, "evt_l1").state === "delivered", 5000, "second delivered");
    expect(attemptsOf(db, "evt_l1")).toHaveLength(1);
    expect(r.received[1]!.headers["depositd-attempt"]).toBe("1");
  });

  it("behavior: metrics are registered once per registry and count attempts", async () => {
    const r = await receiver();
    const { db, worker, common } = setup();
    const second = createDeliveryWorker({ db, common, owner: "w2" });
    cleanups.push(() => second.stop(100));
    insertEvents(db, [{ id: "evt_m", orderId: null, seq: null, url: r.url }]);
    await worker.tick();
    const text = await common.metrics.metrics();
    expect(text).toMatch(/depositd_notify_attempts_total\{result="delivered"\} 1/);
    expect(text).toMatch(/depositd_notify_outbox_depth 0/);
  });
});

describe("createDeliveryWorker while running", () => {
  it("behavior: a backlog larger than the in-memory candidate lists is delivered in full", async () => {
    const r = await receiver();
    const { db, worker } = setup({ concurrency: 8, per_host_concurrency: 4 });
    const at = Date.now() - 10_000;
    insertEvents(
      db,
      Array.from({ length: 1500 }, (_, i) => ({
        id: `evt_b${i}`,
        orderId: null,
        seq: null,
        url: `${r.url}?n=${i}`,
        at: at + (i % 7),
      })),
    );
    worker.start();
    await waitFor(
      () => db.prepare("SELECT COUNT(*) FROM events WHERE state = 'delivered'").pluck().get() === 1500,
      20_000,
      "backlog",
    );
    expect(new Set(r.received.map((x) => x.headers["depositd-event-id"])).size).toBe(1500);
    expect(r.received).toHaveLength(1500);
  });

  it("behavior: events written while running are found, even with a creation time slightly in the past", async () => {
    const r = await receiver();
    const { db, worker } = setup();
    worker.start();
    await new Promise((ok) => setTimeout(ok, 50)); // a first scan has run
    insertEvents(db, [
      { id: "evt_now", orderId: null, seq: null, url: r.url },
      { id: "evt_late_commit", orderId: null, seq: null, url: r.url, at: Date.now() - 1500 },
    ]);
    worker.notify();
    await waitFor(() => r.received.length === 2, 5000, "both events");
  });
});

describe("createDeliveryWorker on a shared database file", () => {
  it("behavior: two workers claiming the same outbox never send the same attempt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "depositd-notify-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const r = await receiver((_req, res) => void setTimeout(() => res.end("ok"), 2));
    const path = join(dir, "db.sqlite");
    const dbA = openDatabase(path);
    const dbB = openDatabase(path);
    cleanups.push(
      () => dbA.close(),
      () => dbB.close(),
    );
    const config = testConfig({ concurrency: 16, per_host_concurrency: 16 });
    const a = createDeliveryWorker({ db: dbA, common: testCommon(config), owner: "a" });
    const b = createDeliveryWorker({ db: dbB, common: testCommon(config), owner: "b" });
    cleanups.push(
      () => a.stop(100),
      () => b.stop(100),
    );
    insertEvents(
      dbA,
      Array.from({ length: 300 }, (_, i) => ({
        id: `evt_${String(i).padStart(4, "0")}`,
        orderId: null,
        seq: null,
        url: r.url,
      })),
    );
    let sentA = 0;
    let sentB = 0;
    for (let round = 0; round < 100 && r.received.length < 300; round++) {
      const [na, nb] = await Promise.all([a.tick(), b.tick()]);
      sentA += na;
      sentB += nb;
    }
    expect(r.received).toHaveLength(300);
    expect(new Set(r.received.map((x) => x.headers["depositd-event-id"])).size).toBe(300);
    expect(sentA + sentB).toBe(300);
    expect(sentA).toBeGreaterThan(0);
    expect(sentB).toBeGreaterThan(0);
    expect(
      dbA.prepare("SELECT COUNT(*) FROM events WHERE state = 'delivered' AND attempts = 1").pluck().get(),
    ).toBe(300);
  });

  it("behavior: a crashed sender's claimed events are sent again once its lease has expired", async () => {
    let now = Date.now();
    const r = await receiver();
    const { db, worker } = setup({}, () => now);
    insertEvents(
      db,
      Array.from({ length: 50 }, (_, i) => ({
        id: `evt_c${i}`,
        orderId: null,
        seq: null,
        url: r.url,
        at: now,
      })),
    );
    // as a worker leaves them when killed between claim and result
    db.prepare("UPDATE events SET lease_owner = 'crashed', lease_until = ?, attempts = 1").run(now + 30_000);
    expect(await worker.tick()).toBe(0);
    now += 30_001;
    let sent = 0;
    while (sent < 50) {
      const n = await worker.tick();
      if (n === 0) break;
      sent += n;
    }
    expect(sent).toBe(50);
    expect(new Set(r.received.map((x) => x.headers["depositd-event-id"])).size).toBe(50);
    expect(new Set(r.received.map((x) => x.headers["depositd-attempt"]))).toEqual(new Set(["2"]));
    expect(db.prepare("SELECT COUNT(*) FROM events WHERE state = 'delivered'").pluck().get()).toBe(50);
  });

  it("behavior: 10,000 events to a slow receiver do not delay events to a fast one", async () => {
    const slow = await receiver((_req, res) => void setTimeout(() => res.end("ok"), 200));
    const fast = await receiver();
    const { db, worker } = setup({ concurrency: 32, per_host_concurrency: 8, timeout_ms: 5000 });
    const at = Date.now() - 60_000;
    insertEvents(
      db,
      // per-order callback URLs: the slow host is recognised by its URL prefix, not one exact URL
      Array.from({ length: 10_000 }, (_, i) => ({
        id: `evt_slow${i}`,
        orderId: null,
        seq: null,
        url: `${slow.url}?order=${i}`,
        at: at + i,
      })),
    );
    insertEvents(
      db,
      Array.from({ length: 50 }, (_, i) => ({
        id: `evt_fast${i}`,
        orderId: null,
        seq: null,
        url: fast.url,
        at: Date.now(),
      })),
    );
    worker.start();
    await waitFor(() => fast.received.length === 50, 10_000, "fast receiver");
    // the slow receiver answers 8 at a time in 200 ms; it has seen a small fraction of its backlog
    expect(slow.received.length).toBeLessThan(500);
    await waitFor(
      () =>
        db
          .prepare("SELECT COUNT(*) FROM events WHERE state = 'delivered' AND url = ?")
          .pluck()
          .get(fast.url) === 50,
      5000,
      "fast events recorded",
    );
    // and fresh events to the fast receiver keep flowing while the slow backlog remains
    insertEvents(db, [{ id: "evt_fast_late", orderId: null, seq: null, url: fast.url }]);
    worker.notify();
    await waitFor(() => fast.received.length === 51, 5000, "late fast event");
    expect(slow.received.length).toBeLessThan(1000);
    await worker.stop(100);
  });
});
