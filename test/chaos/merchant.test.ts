// Merchant outage: the receiver is down (connection refused) long enough for events to go dead, then
// flaps (half the answers 503), then comes back. Every event arrives in the end with the same signed
// bytes, retries follow the schedule, every attempt is stored, and dead events come back through
// POST /v1/events/{id}/redeliver.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../src/dev/anvil.js";
import {
  SEED,
  allEvents,
  apiCall,
  apiRetry,
  chaosFixture,
  recordResult,
  seqGaps,
  size,
  undeliveredEvents,
  waitFor,
  withDb,
  writeDaemonConfig,
} from "./harness.js";
import { type PlannedOrder, acceptCreated, createBody, createCustomer, planOrders } from "./shop.js";

const SCHEDULE = [0.2, 0.5, 1];
const PER_PHASE = size(6, 30);

const fx = chaosFixture("merchant", { receiverSeed: SEED + 11 });

interface AttemptRow {
  event_id: string;
  attempt: number;
  started_at: number;
  status_code: number | null;
}

describe("merchant outage", () => {
  it("behavior: down, then flapping, then back: every event arrives, on the retry schedule, dead ones by redelivery", async () => {
    const { anvil, kit, token } = fx.chain;
    const { receiver, tmp } = fx;
    const started = Date.now();
    const port = await freePort();
    const cfg = writeDaemonConfig({
      dir: tmp.dir,
      port,
      rpc: [anvil.url],
      token,
      startBlock: (await kit.blockNumber()) + 1,
      poolSize: PER_PHASE * 2 + 2,
      notify: { retry_schedule_s: SCHEDULE, timeout_ms: 1000 },
    });
    const daemon = fx.spawn(cfg.path, port, join(tmp.dir, "daemon.log"));
    await daemon.ready;
    const base = () => daemon.base;
    const customer = createCustomer(anvil, kit, token);
    const orders = planOrders(PER_PHASE * 2, SEED + 5, "merchant").filter((o) => o.kind !== "late");

    async function trade(batch: PlannedOrder[]): Promise<void> {
      for (const [i, o] of batch.entries()) {
        acceptCreated(o, await apiRetry(base, "POST", "/v1/orders", createBody(o, receiver.url)));
        if (i % 3 === 2) {
          const c = await apiCall(base(), "POST", `/v1/orders/${o.id}/cancel`);
          expect(c?.status).toBe(200);
        } else await customer.pay(o);
      }
    }
    const eventsOf = (state: string) => allEvents(cfg.dbPath).filter((e) => e.state === state).length;

    // 1. The receiver is down: every event runs through its retries and ends dead.
    await receiver.setMode("down");
    const phase1 = orders.slice(0, Math.ceil(orders.length / 2));
    await trade(phase1);
    await waitFor(
      "every event so far to be dead",
      () => allEvents(cfg.dbPath).every((e) => e.state === "dead"),
      20_000,
      100,
    );
    const deadAfterOutage = eventsOf("dead");
    expect(deadAfterOutage).toBeGreaterThanOrEqual(phase1.length);
    expect(receiver.deliveries.length).toBe(0);

    // 2. Flapping: half the answers are 503. Later events do not wait for earlier ones.
    await receiver.setMode({ flap: 0.5 });
    await trade(orders.slice(phase1.length));
    await waitFor(
      "no event left pending while flapping",
      () => allEvents(cfg.dbPath).every((e) => e.state !== "pending"),
      30_000,
      100,
    );
    const deadAfterFlapping = eventsOf("dead");

    // 3. Back up: the merchant pulls the dead events again through the API.
    await receiver.setMode("up");
    let redelivered = 0;
    for (const o of orders) {
      const list = await apiCall(base(), "GET", `/v1/orders/${o.id}/events`);
      expect(list?.status).toBe(200);
      for (const ev of (list!.body as { events: { id: string; state: string }[] }).events) {
        if (ev.state !== "dead") continue;
        const r = await apiCall(base(), "POST", `/v1/events/${ev.id}/redeliver`);
        expect(r?.status).toBe(202);
        redelivered++;
      }
    }
    await waitFor(
      "every event delivered",
      () => undeliveredEvents(cfg.dbPath, receiver).length === 0,
      20_000,
      100,
    );
    expect(daemon.alive()).toBe(true);
    await daemon.kill("SIGTERM");
    expect((await daemon.exited).code).toBe(0);

    const events = allEvents(cfg.dbPath);
    const attempts = withDb(cfg.dbPath, (db) =>
      db
        .prepare<[], AttemptRow>(
          "SELECT event_id, attempt, started_at, status_code FROM delivery_attempts ORDER BY event_id, attempt",
        )
        .all(),
    );
    // Retries follow the schedule (−20 % jitter at most), numbered 1..n without gaps; an event that
    // was dead had every scheduled try before its redelivery.
    const problems: string[] = [];
    for (const e of events) {
      const mine = attempts.filter((a) => a.event_id === e.id);
      mine.forEach((a, i) => {
        if (a.attempt !== i + 1) problems.push(`${e.id}: attempt ${a.attempt} at position ${i + 1}`);
        const wait = SCHEDULE[i - 1];
        if (i > 0 && i <= SCHEDULE.length && a.started_at - mine[i - 1]!.started_at < wait! * 800 - 20)
          problems.push(
            `${e.id}: attempt ${a.attempt} came ${a.started_at - mine[i - 1]!.started_at} ms after the last`,
          );
      });
      if (mine.length > SCHEDULE.length + 2) problems.push(`${e.id}: ${mine.length} attempts`);
      // every request the receiver saw is an attempt on record with its answer
      const seen = receiver.deliveries.filter((d) => d.id === e.id);
      const answered = mine.filter((a) => a.status_code !== null);
      if (
        seen.length !== answered.length ||
        seen.some((d, i) => d.answered !== answered[i]!.status_code || d.attempt !== answered[i]!.attempt)
      )
        problems.push(
          `${e.id}: receiver saw ${JSON.stringify(seen)}, database has ${JSON.stringify(answered)}`,
        );
    }
    const deadFirst = events.filter((e) =>
      attempts.some((a) => a.event_id === e.id && a.attempt === SCHEDULE.length + 1),
    );

    recordResult({
      scenario: "merchant outage",
      faults: `receiver down (${deadAfterOutage} events dead), flapping 50 % (${deadAfterFlapping - deadAfterOutage} more dead)`,
      checked: `${orders.length} orders, ${attempts.length} attempts`,
      delivered: `${receiver.acked.size} events (${redelivered} by redelivery)`,
      mismatches: problems.length + receiver.conflicts.length + receiver.badSignatures,
      seconds: Math.round((Date.now() - started) / 1000),
    });

    expect(problems).toEqual([]);
    expect(redelivered).toBe(deadAfterFlapping);
    expect(deadFirst.length).toBeGreaterThanOrEqual(deadAfterFlapping);
    expect(events.filter((e) => !receiver.acked.has(e.id))).toEqual([]);
    expect(receiver.conflicts).toEqual([]);
    expect(receiver.badSignatures).toBe(0);
    expect(seqGaps(events)).toEqual([]);
    // the flapping receiver really did refuse some attempts that later succeeded
    expect(receiver.deliveries.some((d) => d.answered === 503)).toBe(true);
  });
});
