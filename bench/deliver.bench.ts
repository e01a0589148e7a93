// Callback delivery throughput and memory: deliveries/s to a receiver that answers at once and to one
// that takes 200 ms, and RSS while 100,000 events wait. The receivers run in a child process so they
// do not share the worker's event loop; the yardstick is bare undici POSTs at the same concurrency.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Agent, request } from "undici";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { openDatabase, type DB } from "../src/db/index.js";
import { notifyMetrics } from "../src/metrics.js";
import { createDeliveryWorker } from "../src/notify/deliver.js";
import type { BenchRow } from "./types.js";

const RECEIVER = `
import { createServer } from "node:http";
const delay = Number(process.argv.at(-1));
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => (delay > 0 ? setTimeout(() => res.end("ok"), delay) : res.end("ok")));
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

async function startReceiver(delayMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", RECEIVER, "--", String(delayMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").once("data", (d: string) => resolve(d.trim()));
    child.once("exit", () => reject(new Error("receiver exited")));
  });
  return { url: `http://127.0.0.1:${port}/hook`, child };
}

function config(notify: Record<string, unknown>) {
  return validateConfig(
    {
      api: {
        keys: [{ name: "bench", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }],
      },
      notify: {
        secrets: [{ id: "k1", value: "bench_secret_0123456789" }],
        allow_private_targets: true,
        ...notify,
      },
      chains: [
        {
          id: "anvil",
          kind: "evm",
          rpc: ["http://127.0.0.1:8545"],
          chain_id: 31337,
          pool: { source: "static" },
        },
      ],
      assets: [{ id: "ETH", chain: "anvil", decimals: 18 }],
    },
    {},
  );
}

function insertBacklog(db: DB, n: number, url: string, prefix: string): void {
  const stmt = db.prepare(
    `INSERT INTO events (id, order_id, seq, type, payment_id, url, body, state, attempts, next_attempt_at, lease_until, created_at)
     VALUES (?, NULL, NULL, 'payment.seen', NULL, ?, ?, 'pending', 0, ?, 0, ?)`,
  );
  const at = Date.now() - n - 1000; // all due now, in insertion order
  // a body of realistic size (~1 KiB: the order with one option and a payment)
  const order = {
    id: "ord_01JD0000000000000000000000",
    status: "paid",
    amount: "100",
    currency: "USD",
    options: [{ asset: "ETH", address: "0x" + "ab".repeat(20), amount_due: "33333333333333334" }],
    metadata: { cart: "x".repeat(300) },
  };
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `evt_${prefix}${String(i).padStart(7, "0")}`;
      const body = JSON.stringify({
        id,
        type: "payment.seen",
        seq: null,
        created_at: new Date(at).toISOString(),
        order,
        payment: { id: `pay_${i}`, amount: "1000000000000000000" },
      });
      stmt.run(id, url, body, at + i, at + i);
    }
  })();
}

// an id range (primary key), so polling this does not scan the outbox and slow the worker down
function delivered(db: DB, prefix: string): number {
  return db
    .prepare("SELECT COUNT(*) FROM events WHERE id >= ? AND id < ? AND state = 'delivered'")
    .pluck()
    .get(`evt_${prefix}`, `evt_${prefix}~`) as number;
}

async function waitUntil(cond: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return true;
}

async function measureDeliveries(
  db: DB,
  url: string,
  prefix: string,
  n: number,
  notify: Record<string, unknown>,
  windowMs?: number,
): Promise<number> {
  insertBacklog(db, n, url, prefix);
  const common = createCommon(config(notify), { logger: pino({ level: "silent" }) });
  const worker = createDeliveryWorker({ db, common, owner: `bench-${prefix}` });
  // the worker's own counter says when to look: counting rows every few ms would cost the worker's
  // thread more than the deliveries (20,000 rows per look); the rows decide the result
  const counted = notifyMetrics(common.metrics).attempts;
  let deliveredSoFar = 0;
  const poll = setInterval(() => {
    void counted.get().then((m) => {
      deliveredSoFar = m.values.find((v) => v.labels.result === "delivered")?.value ?? 0;
    });
  }, 5);
  const t0 = performance.now();
  worker.start();
  const all = await waitUntil(() => deliveredSoFar >= n, windowMs ?? 120_000, 5);
  clearInterval(poll);
  if (all) await waitUntil(() => delivered(db, prefix) >= n, 10_000, 5);
  const elapsed = performance.now() - t0;
  const count = delivered(db, prefix);
  await worker.stop(2000);
  return count / (elapsed / 1000);
}

/** The same POSTs without the outbox: signing, SQLite and leases left out. */
async function bareUndici(url: string, n: number, concurrency: number): Promise<number> {
  const agent = new Agent({ connections: concurrency });
  const body = JSON.stringify({ id: "evt_x", pad: "x".repeat(900) });
  let left = n;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const res = await request(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
          dispatcher: agent,
        });
        await res.body.text();
      }
    }),
  );
  const elapsed = performance.now() - t0;
  await agent.close();
  return n / (elapsed / 1000);
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-deliver-"));
  const fast = await startReceiver(0);
  const slow = await startReceiver(200);
  const rows: BenchRow[] = [];
  try {
    // memory: 100,000 events waiting for the slow receiver while the worker runs
    const dbBig = openDatabase(join(dir, "backlog.sqlite"));
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rssEmpty = process.memoryUsage().rss;
    insertBacklog(dbBig, 100_000, slow.url, "big");
    insertBacklog(dbBig, 100, fast.url, "probe");
    gc?.(); // the insert's garbage is not the worker's
    const rssBefore = process.memoryUsage().rss;
    const common = createCommon(config({}), { logger: pino({ level: "silent" }) });
    const worker = createDeliveryWorker({ db: dbBig, common, owner: "bench-big" });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const t0 = performance.now();
    worker.start();
    // events to another receiver still flow past the backlog
    await waitUntil(() => delivered(dbBig, "probe") >= 100, 30_000);
    const probeMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5000));
    clearInterval(sampler);
    const sent = delivered(dbBig, "big");
    await worker.stop(1000);
    dbBig.close();
    rows.push({
      bench: "deliver",
      metric: "peak RSS while 100,000 events are backlogged (worker running 5 s)",
      value: `${(peak / 1048576).toFixed(0)} MB`,
      yardstick: `${(rssBefore / 1048576).toFixed(0)} MB with the backlog written, before the worker started (${(rssEmpty / 1048576).toFixed(0)} MB before writing it)`,
      note: `${sent} of the backlog sent meanwhile; 100 events to a fast receiver behind it delivered in ${probeMs.toFixed(0)} ms`,
    });

    const db = openDatabase(join(dir, "depositd.sqlite")); // synchronous FULL, as in production
    const n = 20_000;

    await bareUndici(fast.url, 2000, 8); // warm-up
    const bare8 = await bareUndici(fast.url, n, 8);
    const def = await measureDeliveries(db, fast.url, "fastA", n, {});
    rows.push({
      bench: "deliver",
      metric: `deliveries/s to an instant receiver (${n} events, defaults: concurrency 32, per host 8)`,
      value: def.toFixed(0),
      yardstick: `${bare8.toFixed(0)}/s bare undici POSTs, 8 in flight`,
      note: "spec: ≥ 1,000/s; file DB, synchronous=FULL",
    });
    const bare32 = await bareUndici(fast.url, n, 32);
    const wide = await measureDeliveries(db, fast.url, "fastB", n, { per_host_concurrency: 32 });
    rows.push({
      bench: "deliver",
      metric: `deliveries/s to an instant receiver (${n} events, per host 32)`,
      value: wide.toFixed(0),
      yardstick: `${bare32.toFixed(0)}/s bare undici POSTs, 32 in flight`,
    });

    const slowRate = await measureDeliveries(db, slow.url, "slowA", 400, {}, 15_000);
    rows.push({
      bench: "deliver",
      metric: "deliveries/s to a receiver answering in 200 ms (per host 8)",
      value: slowRate.toFixed(1),
      yardstick: "40/s = 8 in flight / 0.2 s",
    });
    const slowWide = await measureDeliveries(
      db,
      slow.url,
      "slowB",
      3000,
      { concurrency: 64, per_host_concurrency: 64 },
      15_000,
    );
    rows.push({
      bench: "deliver",
      metric: "deliveries/s to a receiver answering in 200 ms (concurrency 64, per host 64)",
      value: slowWide.toFixed(1),
      yardstick: "320/s = 64 in flight / 0.2 s",
    });
    db.close();
  } finally {
    fast.child.kill();
    slow.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
