// Create-order throughput over HTTP (SPEC §8: ≥ 2,000 requests/s, p99 ≤ 20 ms on 2 cores).
// The load generator runs in the same process, so the numbers include its cost too.
// The live variant prices ETH from three local markets (src/dev/prices.ts) refreshed every
// second in the background while the creates run: creates only read the rate book.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import Fastify from "fastify";
import { HDNodeWallet, getAddress, hexlify, randomBytes } from "ethers";
import { pino } from "pino";
import { createApi } from "../src/api/server.js";
import { createEvmAddressCodec } from "../src/chains/evm/address.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { type DB, openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { type Ledger, createLedger } from "../src/ledger/index.js";
import { type PriceServer, startPriceServer } from "../src/dev/prices.js";
import { type RateBook, createRateBook } from "../src/rates/index.js";
import { importPoolFile, poolStatus } from "../src/pool/index.js";
import type { BenchRow } from "./types.js";

const KEY = "bench-key-0123456789";

export async function run(): Promise<BenchRow[]> {
  // BENCH_CREATE_ORDER=static: only the static-rate cases at 16 and 32 connections (profiling)
  if (process.env.BENCH_CREATE_ORDER === "static") return [...(await measure(16)), ...(await measure(32))];
  const rows = [
    ...(await measure(16)),
    ...(await measure(16, { live: true })),
    ...(await measure(32)),
    ...(await measure(32, { live: true })),
  ];
  // an xpub pool without reuse, with this many addresses already used and released
  for (const used of [0, 300_000, 1_000_000]) rows.push(...(await measure(16, { used, total: 5_000 })));
  rows.push(...(await refreshCost()));
  return rows;
}

// an account-level key from a fixed seed: the bench only needs the config to accept the pool
const XPUB = HDNodeWallet.fromSeed(new Uint8Array(32).fill(7))
  .derivePath("m/44'/60'/0'")
  .neuter().extendedKey;

const liveRates = (markets: PriceServer[], refreshSeconds: number) => ({
  providers: ["coinbase", "kraken", "bitstamp"].map((kind, i) => ({ kind, url: markets[i]!.url })),
  min_sources: 2,
  max_spread: "1%",
  max_age_seconds: 60,
  refresh_seconds: refreshSeconds,
});

async function startMarkets(): Promise<PriceServer[]> {
  const out: PriceServer[] = [];
  for (const p of ["3000.10", "3000.20", "3000.30"])
    out.push(
      await startPriceServer({
        prices: { "ETH/USD": p, "USDT/USD": "1.0001", "TRX/USD": "0.25" },
        now: Date.now,
      }),
    );
  return out;
}

/** One background refresh pass: wall time and CPU, for 3 markets × `pairs` pairs. */
async function refreshCost(): Promise<BenchRow[]> {
  const markets = await startMarkets();
  const config = validateConfig(
    {
      api: { keys: [{ name: "shop", sha256: "0".repeat(64) }] },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }] },
      rates: { static: {}, live: liveRates(markets, 15) },
      chains: [
        { id: "eth", kind: "evm", rpc: ["http://127.0.0.1:1"], chain_id: 1, pool: { source: "static" } },
      ],
      assets: [
        { id: "ETH", chain: "eth", decimals: 18 },
        { id: "USDT", chain: "eth", decimals: 6, contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7" },
        { id: "TRX", chain: "eth", decimals: 6, contract: "0x50327c6c5a14DCaDE707ABad2E27eB517df87AB5" },
      ],
      log: { level: "silent" },
    },
    {},
  );
  const book = createRateBook({
    live: config.rates.live!,
    assets: config.assets,
    hasStatic: () => false,
    now: Date.now,
    logger: pino({ level: "silent" }),
  });
  const passes = 200;
  await book.refresh();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < passes; i++) await book.refresh();
  const ms = (performance.now() - t0) / passes;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / passes;
  // what a create pays for a rate: a lookup in the book (live) vs the static table
  const live = createCatalog(config, book);
  const fixed = createCatalog({ ...config, rates: { ...config.rates, static: { USD: { ETH: "3000" } } } });
  const lookupNs = (c: typeof live) => {
    const n = 1_000_000;
    const t = performance.now();
    for (let i = 0; i < n; i++) if (!c.rate("USD", "ETH")) throw new Error("no rate");
    return (((performance.now() - t) * 1e6) / n).toFixed(0);
  };
  const staticNs = lookupNs(fixed);
  const liveNs = lookupNs(live);
  await Promise.all(markets.map((m) => m.close()));
  const note = `${book.pairs.length} pairs × 3 local markets = ${book.pairs.length * 3} requests per pass, mean of ${passes} passes; CPU includes the local price servers`;
  return [
    { bench: "create-order", metric: "live rates: one refresh pass, ms", value: ms.toFixed(2), note },
    {
      bench: "create-order",
      metric: "live rates: CPU per refresh pass, ms",
      value: cpuMs.toFixed(2),
      yardstick: "every refresh_seconds (default 15 s)",
    },
    {
      bench: "create-order",
      metric: "rate lookup per option, ns, live",
      value: liveNs,
      yardstick: `static: ${staticNs} ns`,
    },
  ];
}

/**
 * `used`: an xpub pool without reuse with this many addresses already used (else a static pool);
 * `live`: ETH priced from three local markets refreshed every second (else both rates static).
 */
export async function measure(
  concurrency: number,
  opts: { used?: number; total?: number; live?: boolean; onMeasure?: Phase } = {},
): Promise<BenchRow[]> {
  const { createHash } = await import("node:crypto");
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-"));
  const total = opts.total ?? 20_000;
  const xpub = opts.used !== undefined;
  const live = opts.live ?? false;
  const markets = live ? await startMarkets() : [];
  const config = validateConfig(
    {
      database: { path: join(dir, "bench.sqlite"), synchronous: "FULL" },
      api: {
        listen: "127.0.0.1:0",
        keys: [{ name: "shop", sha256: createHash("sha256").update(KEY).digest("hex") }],
      },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      rates: live
        ? { static: { USD: { USDT: "1" } }, live: liveRates(markets, 1) }
        : { static: { USD: { ETH: "3000", USDT: "1" } } },
      chains: [
        {
          id: "eth",
          kind: "evm",
          rpc: ["http://127.0.0.1:1"],
          chain_id: 1,
          pool: xpub ? { source: "xpub", xpub: XPUB, lookahead: 1 } : { source: "static" },
        },
      ],
      assets: [
        { id: "ETH", chain: "eth", decimals: 18 },
        { id: "USDT", chain: "eth", decimals: 6, contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7" },
      ],
      log: { level: "silent" },
    },
    {},
  );
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(config.database, { synchronous: "FULL" });
  let book: RateBook | undefined;
  if (live) {
    book = createRateBook({
      live: config.rates.live!,
      assets: config.assets,
      hasStatic: (asset, currency) => config.rates.static[currency]?.[asset] !== undefined,
      now: common.now,
      logger: common.logger,
    });
    await book.refresh();
    book.start(); // refreshes every second while the creates run
  }
  const catalog = createCatalog(config, book);
  const ledger = createLedger(db, common, catalog);
  const extra: BenchRow[] = [];
  if (xpub) extra.push(...fillXpubPool(db, opts.used!, total + 300));
  else {
    // twice over: the HTTP creates, then the same number written straight through the ledger
    const pool = Array.from({ length: 2 * total + 300 }, () => getAddress(hexlify(randomBytes(20)))).join(
      "\n",
    );
    importPoolFile(db, "eth", createEvmAddressCodec(), pool, Date.now());
  }
  const api = createApi({ db, ledger, catalog, common, health: () => ({ ok: true, checks: {} }) });
  const { port } = await api.listen();
  // the yardstick first, on the same machine state: fastify answering a fixed order-sized JSON
  const sample = await load(port, concurrency, 200, false);
  const yard = await bareFastify(concurrency, total, sample.body);
  const got = await load(port, concurrency, total, true, opts.onMeasure);
  const { seconds, latencies, failures } = got;
  const direct = xpub || live ? undefined : ledgerOnly(ledger, concurrency, total);
  const pct = (p: number) => pctOf(latencies, p);
  book?.stop();
  await Promise.all(markets.map((m) => m.close()));
  await api.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const pool = xpub ? `, xpub pool with ${opts.used!.toLocaleString("en")} used addresses` : "";
  const rates = live
    ? "ETH priced live from 3 local markets refreshed every 1 s, USDT static"
    : "both static";
  const note = `${total} creates, ${concurrency} concurrent keep-alive connections, synchronous=FULL, 2 options each; ${rates}${pool}`;
  const name = xpub ? `create-order, ${opts.used!.toLocaleString("en")} used xpub addresses` : "create-order";
  if (xpub)
    return [
      {
        bench: name,
        metric: `requests/s, ${concurrency} connections`,
        value: (total / seconds).toFixed(0),
        note,
      },
      { bench: name, metric: "p50 latency ms", value: pct(0.5) },
      { bench: name, metric: "p99 latency ms", value: pct(0.99) },
      { bench: name, metric: "non-201 answers", value: String(failures) },
      ...extra,
    ];
  const kind = live ? "live rates" : "static rates";
  const rps = total / seconds;
  return [
    {
      bench: "create-order",
      metric: `requests/s, ${concurrency} connections, ${kind}`,
      value: rps.toFixed(0),
      yardstick: `bare fastify ${(total / yard.seconds).toFixed(0)}/s (${((rps * yard.seconds) / total).toFixed(2)}×); target ≥ 2000`,
      note,
    },
    {
      bench: "create-order",
      metric: `CPU µs per request, ${concurrency} connections, ${kind}`,
      value: got.cpuUs.toFixed(0),
      yardstick: `bare fastify ${yard.cpuUs.toFixed(0)} µs (${(got.cpuUs / yard.cpuUs).toFixed(2)}×)`,
      note: "process CPU (user+system) over the measured phase / requests; includes the in-process load generator",
    },
    ...(direct
      ? [
          {
            bench: "create-order",
            metric: `ledger alone: CPU µs per create, batches of ${concurrency}`,
            value: direct.cpuUs.toFixed(0),
            yardstick: `${direct.batchMs.toFixed(2)} ms wall per batch, fsync included`,
            note: "ledger.createOrders called directly on the same database after the HTTP run: no HTTP, no validation",
          },
        ]
      : []),
    { bench: "create-order", metric: `p50 latency ms, ${concurrency} connections, ${kind}`, value: pct(0.5) },
    {
      bench: "create-order",
      metric: `p99 latency ms, ${concurrency} connections, ${kind}`,
      value: pct(0.99),
      yardstick: `bare fastify ${pctOf(yard.latencies, 0.99)} ms; target ≤ 20`,
    },
    {
      bench: "create-order",
      metric: `non-201 answers, ${concurrency} connections, ${kind}`,
      value: String(failures),
    },
  ];
}

/** Hooks around a measured phase (a profiler, say): `start` before the first request, `stop` after the last. */
export type Phase = { start(): Promise<void> | void; stop(): Promise<void> | void };

type Load = { seconds: number; latencies: number[]; failures: number; cpuUs: number; body: string };

/** The body of create number `i`: one order, priced in USD, the same in every create bench. */
export function createRequestBody(prefix: string, i: number): string {
  return JSON.stringify({
    merchant_order_id: `${prefix}-${i}`,
    amount: "19.99",
    currency: "USD",
    callback_url: "http://127.0.0.1:9/cb",
  });
}

/** `total` creates over `concurrency` keep-alive connections; latencies sorted. */
async function load(
  port: number,
  concurrency: number,
  total: number,
  orders: boolean,
  phase?: Phase,
): Promise<Load> {
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  const prefix = orders ? "B" : "warm";
  let next = 0;
  let failures = 0;
  let body = "";
  async function worker(): Promise<void> {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const res = await request(`http://127.0.0.1:${port}/v1/orders`, {
        method: "POST",
        dispatcher: agent,
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: createRequestBody(prefix, i),
      });
      body = await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 201) failures++;
    }
  }
  await phase?.start();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await phase?.stop();
  await agent.close();
  latencies.sort((a, b) => a - b);
  return { seconds, latencies, failures, cpuUs: (cpu.user + cpu.system) / total, body };
}

/**
 * The database's share: `total` creates through ledger.createOrders in batches of `size`, as the
 * API's group commit writes them (each commit fsyncs, on the event loop): CPU per create, wall per batch.
 */
function ledgerOnly(ledger: Ledger, size: number, total: number): { cpuUs: number; batchMs: number } {
  const batch = (b: number) =>
    Array.from({ length: size }, (_, j) => ({
      merchant: "shop",
      input: {
        merchant_order_id: `D-${b}-${j}`,
        amount: "19.99",
        currency: "USD",
        callback_url: "http://127.0.0.1:9/cb",
      },
    }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let batches = 0;
  for (let b = 0; b * size < total; b++, batches++) ledger.createOrders(batch(b), Date.now());
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / total, batchMs: (performance.now() - t0) / batches };
}

function pctOf(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!.toFixed(2);
}

/**
 * The yardstick: a bare fastify server in this process answering every POST with a fixed JSON of
 * the size of a created order (no auth, no validation, no database), driven by the same client.
 */
async function bareFastify(concurrency: number, total: number, answer: string): Promise<Load> {
  const app = Fastify({ logger: false });
  const bytes = Buffer.from(answer);
  app.post("/v1/orders", (_req, reply) =>
    reply.code(201).header("content-type", "application/json").send(bytes),
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  const a = app.server.address();
  const port = typeof a === "object" && a ? a.port : 0;
  await load(port, concurrency, 500, true);
  const got = await load(port, concurrency, total, true);
  await app.close();
  return got;
}

/**
 * The database of an xpub pool that has handed out `used` addresses (released, never bound again)
 * and has `free` derived ahead, written directly: deriving a million keys would measure secp256k1.
 * Also times what /healthz reads per chain (poolStatus) against the full scan it replaced.
 */
function fillXpubPool(db: DB, used: number, free: number): BenchRow[] {
  const insert = db.prepare(
    `INSERT INTO pool_addresses (chain, address, display, source, derivation_index, used, rest_until, created_at)
     VALUES ('eth', ?, ?, 'xpub', ?, ?, 0, 0)`,
  );
  db.transaction(() => {
    for (let i = 0; i < used + free; i++) {
      const display = getAddress(hexlify(randomBytes(20)));
      insert.run(display.toLowerCase(), display, i, i < used ? 1 : 0);
    }
    db.prepare(
      "INSERT INTO pool_state (chain, source, first_address, next_index) VALUES ('eth', 'xpub', NULL, ?)",
    ).run(used + free);
  })();
  const timeMs = (fn: () => unknown, n: number) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return ((performance.now() - t0) / n).toFixed(3);
  };
  const scan = db.prepare(
    `SELECT count(*), sum(bound = 1), sum(bound = 0 AND rest_until > ?), sum(bound = 0 AND rest_until <= ? AND used = 0)
     FROM pool_addresses WHERE chain = 'eth'`,
  );
  const name = `pool status, ${(used + free).toLocaleString("en")} xpub addresses`;
  return [
    {
      bench: name,
      metric: "poolStatus ms per call (/healthz, /metrics, timer: once per chain)",
      value: timeMs(() => poolStatus(db, "eth", 1, false), 200),
      yardstick: `full scan ${timeMs(() => scan.get(1, 1), 5)} ms`,
    },
  ];
}
