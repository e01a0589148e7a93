// RPC chaos: the daemon's only node sits behind a proxy that delays, drops, rate-limits, breaks and
// corrupts answers, and behind that one that lies (stale heads, headers of another fork, blocks that
// do not extend their parent). A second daemon on a clean connection watches the same chain with the
// same pool and orders: in the end both hold the same state, which also matches our own recomputation.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/dev/anvil.js";
import { evmPoolText } from "../helpers/config.js";
import {
  type FlakyProxy,
  type RpcAnswer,
  type RpcItem,
  seededRandom,
  startFlakyProxy,
  startTamperProxy,
} from "../helpers/flaky-proxy.js";
import {
  SEED,
  allEvents,
  apiCall,
  apiRetry,
  chaosFixture,
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

const ORDERS = size(14, 70);
const FAIL_RATE = 0.25;
// per item of a request: single header/head calls lie often, full blocks in scan batches rarely
// (a batch is only as good as its worst block: 100 items at 4 % would never all be right)
const LIE_RATE = 0.04;
const BATCH_LIE_RATE = 0.0005;

const fx = chaosFixture("rpc", { receiverSeed: null });
let flaky: FlakyProxy;
let tamper: { url: string; stop(): Promise<void> };
const lies = { staleHead: 0, foreignHeader: 0, brokenParent: 0 };
let lying = true;

beforeAll(async () => {
  const { anvil } = fx.chain;
  const random = seededRandom(SEED + 7);
  const fakeHash = () => "0x" + randomBytes(32).toString("hex");
  tamper = await startTamperProxy(anvil.url, (call: RpcItem, answer: RpcAnswer): RpcAnswer => {
    if (!lying || answer.error || answer.result === null) return answer;
    const full = call.method === "eth_getBlockByNumber" && call.params[1] === true;
    if (random() >= (full ? BATCH_LIE_RATE : LIE_RATE)) return answer;
    if (call.method === "eth_blockNumber") {
      lies.staleHead++;
      const head = Number(answer.result as string);
      return { result: "0x" + Math.max(0, head - 1 - Math.floor(random() * 3)).toString(16) };
    }
    if (call.method === "eth_getBlockByNumber") {
      const block = answer.result as Record<string, unknown>;
      if (call.params[1] === false) {
        lies.foreignHeader++;
        return { result: { ...block, hash: fakeHash() } };
      }
      lies.brokenParent++;
      return { result: { ...block, parentHash: fakeHash() } };
    }
    return answer;
  });
  flaky = await startFlakyProxy(tamper.url, { seed: SEED, failRate: FAIL_RATE, maxDelayMs: 300 });
});

afterAll(async () => {
  await flaky?.stop();
  await tamper?.stop();
});

interface Health {
  status: number;
  lag: number | null;
  error: string | null;
}

async function health(base: string): Promise<Health | null> {
  const r = await apiCall(base, "GET", "/healthz");
  if (!r) return null;
  const chain = (
    r.body as {
      checks?: Record<string, { detail?: { lag_blocks: number | null; last_error: string | null } }>;
    }
  ).checks?.["chain:anvil"]?.detail;
  return { status: r.status, lag: chain?.lag_blocks ?? null, error: chain?.last_error ?? null };
}

describe("RPC chaos", () => {
  it("behavior: a flaky, lying node costs time, never correctness: final state equals a clean run's", async () => {
    const { anvil, kit, token } = fx.chain;
    const started = Date.now();
    const pool = evmPoolText(ORDERS + 5);
    const startBlock = (await kit.blockNumber()) + 1;
    const setups = await Promise.all(
      [
        { name: "clean", rpc: [anvil.url] },
        { name: "chaos", rpc: [flaky.url] },
      ].map(async ({ name, rpc }) => {
        const tmp = { dir: join(fx.tmp.dir, name) };
        mkdirSync(tmp.dir);
        const receiver = await fx.startReceiver(SEED);
        const port = await freePort();
        const cfg = writeDaemonConfig({
          dir: tmp.dir,
          port,
          rpc,
          token,
          startBlock,
          pool,
          poolSize: 0,
          ethConfirmations: 2,
          tokenConfirmations: 2,
        });
        const daemon = fx.spawn(cfg.path, port, join(tmp.dir, "daemon.log"));
        return { receiver, cfg, daemon };
      }),
    );
    const [clean, chaos] = setups as [(typeof setups)[0], (typeof setups)[0]];
    await Promise.all([clean.daemon.ready, chaos.daemon.ready]);

    // Watch the chaotic daemon's /healthz the whole time.
    const seen: Health[] = [];
    let watching = true;
    const monitor = (async () => {
      while (watching) {
        const h = await health(chaos.daemon.base);
        if (h) seen.push(h);
        await sleep(100);
      }
    })();

    const orders = planOrders(ORDERS, SEED + 3, "rpc");
    const customer = createCustomer(anvil, kit, token);
    for (const o of orders) {
      const body = createBody(o, clean.receiver.url);
      const a = await apiRetry(() => clean.daemon.base, "POST", "/v1/orders", body);
      const b = await apiRetry(() => chaos.daemon.base, "POST", "/v1/orders", {
        ...body,
        callback_url: chaos.receiver.url,
      });
      // same pool, same order of creates: the same addresses
      expect(b.body.options).toEqual(a.body.options);
      acceptCreated(o, a);
      await customer.pay(o);
    }

    // Enough exposure however fast the machine: keep the chain moving until faults and lies hit.
    const faultsSoFar = () =>
      Object.entries(flaky.stats)
        .filter(([k]) => k !== "requests" && k !== "forwarded")
        .reduce((n, [, v]) => n + v, 0);
    for (
      let i = 0;
      i < 300 && !(faultsSoFar() > 10 && lies.staleHead + lies.foreignHeader + lies.brokenParent > 0);
      i++
    ) {
      await kit.mine(1);
      await sleep(50);
    }

    // The node becomes unusable for a while: the daemon must report lag, not pretend all is well.
    flaky.setFailRate(1);
    const outageFrom = seen.length;
    for (let i = 0; i < 8; i++) {
      await kit.mine(1);
      await sleep(150);
    }
    await waitFor(
      "/healthz to report the chain as failing",
      () => seen.slice(outageFrom).some((h) => h.status === 503 && h.error !== null),
      30_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; /healthz said: ${JSON.stringify(seen.slice(outageFrom).slice(-5))}`);
    });
    const outage = seen.slice(outageFrom);

    flaky.setFailRate(FAIL_RATE);
    await kit.mine(3);
    const head = await kit.blockNumber();
    const sent = orders.reduce((n, o) => n + o.payments.length, 0);
    for (const s of setups) {
      await waitFor(
        "both daemons to reach the head with every payment confirmed",
        () =>
          withDb(s.cfg.dbPath, (db) => {
            const cur = db.prepare("SELECT next_block FROM chain_cursors").pluck().get() as
              number | undefined;
            const confirmed = db
              .prepare("SELECT count(*) FROM payments WHERE status = 'confirmed'")
              .pluck()
              .get();
            return cur !== undefined && cur > head && confirmed === sent;
          }),
        size(90_000, 240_000),
        100,
      );
      await waitFor(
        "every event to reach its receiver",
        () => undeliveredEvents(s.cfg.dbPath, s.receiver).length === 0,
        30_000,
        100,
      );
    }
    // Healthy again once the node is.
    flaky.setFailRate(0);
    lying = false;
    await waitFor(
      "/healthz 200 again",
      async () => (await health(chaos.daemon.base))?.status === 200,
      60_000,
      100,
    );
    watching = false;
    await monitor;
    expect(chaos.daemon.alive()).toBe(true);
    for (const s of setups) {
      await s.daemon.kill("SIGTERM");
      expect((await s.daemon.exited).code).toBe(0);
    }

    const expected = await expectedFromChain(anvil, token, orders, Date.now());
    // The two daemons' ids differ: compare by merchant_order_id.
    const byKey = (dbPath: string) =>
      withDb(dbPath, (db) =>
        db
          .prepare<[], Record<string, unknown>>(
            `SELECT o.merchant_order_id, o.status, o.paid_amount,
                    (SELECT json_group_array(json_array(p.txid, p.idx, p.asset, p.amount, p.status, p.block_hash, p.late))
                       FROM (SELECT * FROM payments WHERE order_id = o.id ORDER BY txid, idx) p) AS payments
               FROM orders o ORDER BY o.merchant_order_id`,
          )
          .all(),
      );
    const cleanState = byKey(clean.cfg.dbPath);
    const chaosState = byKey(chaos.cfg.dbPath);
    const chaosIds = new Map(
      withDb(chaos.cfg.dbPath, (db) =>
        db
          .prepare<[], { id: string; merchant_order_id: string }>("SELECT id, merchant_order_id FROM orders")
          .all(),
      ).map((r) => [r.merchant_order_id, r.id]),
    );
    const expectedChaos = new Map(
      [...expected].map(([id, e]) => [chaosIds.get(orders.find((o) => o.id === id)!.key)!, e]),
    );
    const chaosEvents = allEvents(chaos.cfg.dbPath);
    const mismatches = [
      ...compareWithDatabase(clean.cfg.dbPath, expected, allEvents(clean.cfg.dbPath)),
      ...compareWithDatabase(chaos.cfg.dbPath, expectedChaos, chaosEvents),
    ];
    const differing = chaosState.filter((row, i) => JSON.stringify(row) !== JSON.stringify(cleanState[i]));

    const injected = Object.entries(flaky.stats)
      .filter(([k]) => k !== "requests" && k !== "forwarded")
      .reduce((n, [, v]) => n + v, 0);
    const lieCount = lies.staleHead + lies.foreignHeader + lies.brokenParent;
    const maxLag = Math.max(0, ...seen.map((h) => h.lag ?? 0));
    recordResult({
      scenario: "RPC chaos",
      faults:
        `${injected} transport faults of ${flaky.stats.requests} requests ` +
        `(${["drop", "delay", "429", "502", "truncate", "corrupt"].map((m) => `${m} ${flaky.stats[m]}`).join(", ")}); ` +
        `${lieCount} lies (stale head ${lies.staleHead}, foreign header ${lies.foreignHeader}, broken parent ${lies.brokenParent}); ` +
        `/healthz 503 ${seen.filter((h) => h.status === 503).length}/${seen.length} polls, max lag ${maxLag}`,
      checked: `${expected.size} orders × 2 daemons, ${sent} payments`,
      delivered: `${chaos.receiver.acked.size} events (clean run: ${clean.receiver.acked.size})`,
      mismatches:
        mismatches.length + differing.length + chaos.receiver.conflicts.length + chaos.receiver.badSignatures,
      seconds: Math.round((Date.now() - started) / 1000),
    });

    expect(mismatches).toEqual([]);
    expect(differing).toEqual([]);
    expect(chaosState.length).toBe(ORDERS);
    expect(integrityCheck(chaos.cfg.dbPath)).toBe("ok");
    expect(seqGaps(chaosEvents)).toEqual([]);
    expect(chaos.receiver.conflicts).toEqual([]);
    expect(chaos.receiver.badSignatures).toBe(0);
    // the faults really happened, and the outage really showed
    expect(injected).toBeGreaterThan(10);
    expect(lieCount).toBeGreaterThan(0);
    expect(outage.some((h) => h.status === 503)).toBe(true);
    // the daemon said why, and logged its retries
    expect(chaos.daemon.logs.some((l) => l.msg === "watcher pass failed; retrying")).toBe(true);
    expect(chaos.daemon.logs.filter((l) => l.level >= 60)).toEqual([]);
  });
});
