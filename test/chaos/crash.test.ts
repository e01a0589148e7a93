// kill -9 at random moments while orders are created and paid: after the last restart every order
// matches an independent recomputation from the chain, every payment is stored once, every event
// reached the merchant (same bytes every time), and SQLite's integrity check passes.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../src/dev/anvil.js";
import { seededRandom } from "../helpers/flaky-proxy.js";
import {
  type DaemonProcess,
  SEED,
  allEvents,
  chaosFixture,
  apiRetry,
  integrityCheck,
  recordResult,
  seqGaps,
  size,
  sleep,
  undeliveredEvents,
  waitFor,
  withDb,
  writeDaemonConfig,
} from "./harness.js";
import {
  acceptCreated,
  compareWithDatabase,
  createBody,
  createCustomer,
  expectedFromChain,
  planOrders,
} from "./shop.js";

const KILLS = size(10, 60);
const ORDERS = size(21, 84);

const fx = chaosFixture("crash");

describe("crash: SIGKILL at random moments", () => {
  it(`behavior: ${KILLS} kills while ${ORDERS} orders are created and paid lose nothing and count nothing twice`, async () => {
    const { anvil, kit, token } = fx.chain;
    const { receiver, tmp } = fx;
    let daemon: DaemonProcess;
    const started = Date.now();
    const random = seededRandom(SEED + 1);
    const port = await freePort();
    const cfg = writeDaemonConfig({
      dir: tmp.dir,
      port,
      rpc: [anvil.url],
      token,
      startBlock: (await kit.blockNumber()) + 1,
      poolSize: ORDERS + 5,
      ethConfirmations: 2,
      tokenConfirmations: 3,
    });
    const logFile = join(tmp.dir, "daemon.log");
    const base = () => `http://127.0.0.1:${port}`;
    const orders = planOrders(ORDERS, SEED, "crash");
    const customer = createCustomer(anvil, kit, token);

    // The shop and its customers: create over HTTP (re-sent until answered; the same body is
    // idempotent), pay on the chain, whatever the daemon is doing.
    const driver = (async () => {
      for (const o of orders) {
        acceptCreated(o, await apiRetry(base, "POST", "/v1/orders", createBody(o, receiver.url), 120_000));
        await customer.pay(o);
        if (random() < 0.3) await sleep(Math.floor(random() * 150));
      }
      // confirmations complete only with more blocks
      for (let i = 0; i < 4; i++) {
        await kit.mine(1);
        await sleep(100);
      }
    })();
    driver.catch(() => undefined);

    let kills = 0;
    let unexpectedExits = 0;
    let killedBeforeReady = 0;
    while (kills < KILLS) {
      daemon = fx.spawn(cfg.path, port, logFile);
      let ready = false;
      daemon.ready.then(
        () => (ready = true),
        () => undefined,
      );
      // a random moment: during start-up, migrations and pool import, or while busy
      // the window spans start-up (≈ 1–3 s on 2 busy cores: fastify, checkout, console) and work after it
      await sleep(150 + Math.floor(random() * 4500));
      if (!daemon.alive()) {
        unexpectedExits++;
        console.error(`[chaos] daemon exited on its own: ${daemon.stderr()}`);
      }
      await daemon.kill("SIGKILL");
      kills++;
      if (!ready) killedBeforeReady++;
    }
    const createdWhileKilling = orders.filter((o) => o.id).length;
    // The last start serves whatever the shop has left to do, then settles.
    daemon = fx.spawn(cfg.path, port, logFile);
    await daemon.ready;
    await driver;
    const head = await kit.blockNumber();
    const sent = orders.reduce((n, o) => n + o.payments.length, 0);
    await waitFor(
      "the watcher to reach the head with every payment confirmed",
      () =>
        withDb(cfg.dbPath, (db) => {
          const cur = db.prepare("SELECT next_block FROM chain_cursors").pluck().get() as number | undefined;
          const confirmed = db
            .prepare("SELECT count(*) FROM payments WHERE status = 'confirmed'")
            .pluck()
            .get();
          return cur !== undefined && cur > head && confirmed === sent;
        }),
      60_000,
    );
    // claims held by killed processes come back when their lease (timeout_ms × 2 + 10 s) ends
    await waitFor(
      "every event to reach the receiver",
      () => undeliveredEvents(cfg.dbPath, receiver).length === 0,
      60_000,
      200,
    );
    await daemon.kill("SIGTERM");
    const exit = await daemon.exited;
    expect(exit.code).toBe(0);

    expect(integrityCheck(cfg.dbPath)).toBe("ok");
    const events = allEvents(cfg.dbPath);
    const expected = await expectedFromChain(anvil, token, orders, Date.now());
    const mismatches = compareWithDatabase(cfg.dbPath, expected, events);
    const statuses = [...expected.values()].reduce<Record<string, number>>(
      (m, e) => ((m[e.status] = (m[e.status] ?? 0) + 1), m),
      {},
    );
    const duplicatesSent = receiver.deliveries.length - receiver.acked.size;
    recordResult({
      scenario: "crash (kill -9)",
      faults: `${kills} kills (${killedBeforeReady} during start-up; ${createdWhileKilling}/${ORDERS} orders created meanwhile)`,
      checked: `${expected.size} orders ${JSON.stringify(statuses)}, ${sent} payments`,
      delivered: `${receiver.acked.size} events (${duplicatesSent} extra sends)`,
      mismatches:
        mismatches.length +
        receiver.conflicts.length +
        receiver.badSignatures +
        seqGaps(events).length +
        unexpectedExits,
      seconds: Math.round((Date.now() - started) / 1000),
    });

    expect(mismatches).toEqual([]);
    expect(unexpectedExits).toBe(0);
    expect(kills).toBeGreaterThanOrEqual(KILLS);
    // the kills really fell among the shop's work
    expect(createdWhileKilling).toBeGreaterThanOrEqual(ORDERS / 4);
    expect(expected.size).toBe(ORDERS);
    // every kind of outcome was exercised
    expect(Object.keys(statuses).sort()).toEqual([
      "overpaid",
      "paid",
      "paid_late",
      "partially_paid",
      "pending",
    ]);
    expect(receiver.conflicts).toEqual([]);
    expect(receiver.badSignatures).toBe(0);
    expect(seqGaps(events)).toEqual([]);
    expect(events.filter((e) => e.url !== null && !receiver.acked.has(e.id))).toEqual([]);
    expect(events.length).toBeGreaterThan(ORDERS);
  });
});
