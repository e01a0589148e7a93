// The watcher end to end (SPEC §8): catch-up of the 10,000-block bench chain storing every
// deposit against 10,000 bound orders, next to the bare batched fetch of the same blocks and logs
// in the same run; RPC calls per block at 1 / 10,000 / 1,000,000 watched addresses; loading a
// 1,000,000-address pool; detection latency at the tip.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress } from "ethers";
import { pino } from "pino";
import { createEvmAdapter } from "../src/chains/evm/adapter.js";
import { createEvmAddressCodec } from "../src/chains/evm/address.js";
import { spawnAnvil } from "../src/dev/anvil.js";
import type { WatchedSet } from "../src/chains/types.js";
import { createCommon } from "../src/common.js";
import { type ResolvedConfig, validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { createPool, migratePostgres } from "../src/db/postgres.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { packageRoot } from "../src/paths.js";
import { importPoolFile } from "../src/pool/index.js";
import { createWatchedSet, createWatcher } from "../src/watch/index.js";
import { BENCH_ANVIL_ARGS, type BenchChain, buildBenchChain } from "./evm-chain.js";
import { buildDenseChain } from "./evm-dense-chain.js";
import { bareFetch } from "./evm-fetch.bench.js";
import { shippedNodeOptions } from "./node-options.js";
import type { BenchRow } from "./types.js";
import {
  createDatabase,
  ensureCluster,
  makePostgresDir,
  removePostgresDir,
} from "../test/helpers/pg-cluster.js";

const CHILD = "--watch-catchup-child";
const POOL_CHILD = "--watch-pool-child";
const cacheDir = () => join(packageRoot(), ".cache", "bench");

/** Where a bench keeps its ledger: a SQLite file's path, or a PostgreSQL database's URL. */
export type BenchDatabase = string | { engine: "postgres"; url: string };

export function benchConfig(
  database: BenchDatabase,
  url: string,
  chain: BenchChain,
  extra: Record<string, unknown> = {},
): ResolvedConfig {
  return validateConfig(
    {
      database: typeof database === "string" ? { path: database, synchronous: "FULL" } : database,
      api: { listen: "127.0.0.1:0", keys: [{ name: "shop", sha256: "0".repeat(64) }] },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      orders: { valid_minutes: 10080, late_window_minutes: 60 },
      chains: [
        {
          id: "bench",
          kind: "evm",
          rpc: [url],
          chain_id: chain.chainId,
          start_block: 1,
          ...(process.env.BENCH_BLOCKS_PER_SCAN
            ? { blocks_per_scan: Number(process.env.BENCH_BLOCKS_PER_SCAN) }
            : {}),
          poll_interval_ms: 50,
          request_timeout_ms: 30_000,
          rpc_max_rps: 100_000, // a local anvil: no free-tier budget (the default, 20/s, is for providers)
          pool: { source: "static", low_water: 0 },
          ...extra,
        },
      ],
      assets: [
        { id: "ETH", chain: "bench", decimals: 18, confirmations: 1 },
        { id: "USDT", chain: "bench", contract: chain.token, decimals: 6, confirmations: 1 },
      ],
      log: { level: "silent" },
    },
    {},
  );
}

/** The database a daemon would have when the chain starts moving: pool imported, 10,000 orders bound. */
export async function prepareDatabase(
  database: BenchDatabase,
  url: string,
  chain: BenchChain,
): Promise<void> {
  // the cached chain may be days old: the orders are made just before its first block, as in life
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: ["0x1", false] }),
  });
  const first = (await res.json()) as { result: { timestamp: string } };
  const createdAt = Number(first.result.timestamp) * 1000 - 60_000;
  const config = benchConfig(database, url, chain);
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(typeof database === "string" ? database : config.database, {
    synchronous: "NORMAL",
  });
  const ledger = createLedger(db, common, createCatalog(config));
  importPoolFile(
    db,
    "bench",
    createEvmAddressCodec(),
    chain.watched.map((a) => getAddress(a)).join("\n"),
    createdAt,
  );
  // one transaction for the setup (nested creates become savepoints): not what is measured
  db.transaction(() => {
    for (let i = 0; i < chain.watched.length; i++) {
      ledger.createOrder(
        "shop",
        { merchant_order_id: `O-${i}`, amount: "1", currency: "USDT", callback_url: "http://127.0.0.1:9/cb" },
        createdAt,
      );
    }
  })();
  db.close();
}

/** Catch-up in a fresh process over a prepared database: the watcher runs from block 1 to the head. */
export async function catchUp(url: string, chain: BenchChain, database: BenchDatabase) {
  const config = benchConfig(database, url, chain);
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(config.database, { synchronous: "FULL" });
  const catalog = createCatalog(config);
  const ledger = createLedger(db, common, catalog);
  let requests = 0;
  const adapter = createEvmAdapter({
    chain: config.chains[0] as never,
    assets: catalog.assetsOfChain("bench"),
    onRequest: () => requests++,
  });
  // split the time between fetching (adapter, overlapped with writes) and writing (ledger)
  let scanMs = 0;
  let writeMs = 0;
  const timedAdapter = {
    ...adapter,
    scan: async (...a: Parameters<typeof adapter.scan>) => {
      const t = performance.now();
      try {
        return await adapter.scan(...a);
      } finally {
        scanMs += performance.now() - t;
      }
    },
  };
  const timedLedger = {
    ...ledger,
    recordScan: (...a: Parameters<typeof ledger.recordScan>) => {
      const t = performance.now();
      try {
        return ledger.recordScan(...a);
      } finally {
        writeMs += performance.now() - t;
      }
    },
  };
  const watcher = createWatcher({
    chain: config.chains[0]!,
    adapter: timedAdapter,
    ledger: timedLedger,
    common,
  });
  (globalThis as { gc?: () => void }).gc?.();
  const startRssMb = process.memoryUsage().rss / 1048576;
  const started = performance.now();
  for (;;) {
    const r = await watcher.runOnce();
    if (!r || r.to >= chain.lastBlock) break;
  }
  const ms = performance.now() - started;
  const stored = (db.prepare("SELECT count(*) AS n FROM payments").get() as { n: number }).n;
  const events = (db.prepare("SELECT count(*) AS n FROM events").get() as { n: number }).n;
  await watcher.stop();
  db.close();
  if (stored !== chain.ethTransfers + chain.tokenTransfers) throw new Error(`stored ${stored} payments`);
  const stats = adapter.stats?.() ?? { incompleteAnswers: 0, bloomFalsePositives: 0 };
  return { ms, stored, events, scanMs, writeMs, requests, startRssMb, ...stats };
}

export type CatchUp = {
  ms: number;
  maxRssMb: number;
  /** RSS after the setup, before the first block */
  startRssMb: number;
  stored: number;
  events: number;
  scanMs: number;
  writeMs: number;
  requests: number;
  incompleteAnswers: number;
  bloomFalsePositives: number;
};

/** The bench chains a catch-up child can load by name. */
const CHAINS = { sparse: buildBenchChain, dense: buildDenseChain };

/**
 * catchUp() in a fresh process (its own peak RSS) over a database prepared here: a new SQLite file,
 * or `postgres`, an empty PostgreSQL database (the caller's, migrated here). The child runs with
 * `nodeOptions` as NODE_OPTIONS: by default the systemd unit's, "" for V8's defaults.
 */
export async function childCatchUp(
  url: string,
  chain: BenchChain,
  recipe: keyof typeof CHAINS = "sparse",
  postgres?: { engine: "postgres"; url: string },
  nodeOptions = shippedNodeOptions(),
): Promise<CatchUp> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-watch-bench-"));
  const database = postgres ?? join(dir, "w.sqlite");
  await prepareDatabase(database, url, chain);
  return new Promise<CatchUp>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", fileURLToPath(import.meta.url), CHILD, url, JSON.stringify(database), recipe],
      { maxBuffer: 1 << 20, env: { ...process.env, NODE_OPTIONS: nodeOptions } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as CatchUp);
      },
    );
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** The same catch-up with the ledger on PostgreSQL 15 (a throw-away cluster, fsync on), once. */
async function postgresCatchUp(url: string, chain: BenchChain, sqliteMs: number): Promise<BenchRow> {
  const pgDir = makePostgresDir();
  try {
    await ensureCluster(pgDir, { durable: true });
    const database = { engine: "postgres" as const, url: await createDatabase(pgDir, "watch_bench") };
    const pool = createPool({ url: database.url, pool_size: 1, password: undefined });
    await migratePostgres(pool).finally(() => pool.end());
    const r = await childCatchUp(url, chain, "sparse", database);
    return {
      bench: "watch",
      metric: "catch-up 10,000 blocks on PostgreSQL (the same chain and database contents)",
      value: `${(r.ms / 1000).toFixed(2)} s (${(r.ms / sqliteMs).toFixed(2)}× SQLite)`,
      yardstick: `SQLite ${(sqliteMs / 1000).toFixed(2)} s (median above)`,
      note: `${r.stored} payments; fetch ${(r.scanMs / 1000).toFixed(2)} s overlapped with writes ${(r.writeMs / 1000).toFixed(2)} s; one statement = one round trip to the server (fsync on); one run`,
    };
  } finally {
    removePostgresDir(pgDir);
  }
}

async function callsPerBlock(url: string, chain: BenchChain, size: number): Promise<number> {
  const base = benchConfig(":memory:", url, chain).chains[0]!;
  const catalogAssets = benchConfig(":memory:", url, chain).assets;
  let requests = 0;
  const adapter = createEvmAdapter({
    chain: base as never,
    assets: catalogAssets,
    onRequest: () => requests++,
  });
  const set = new Set<string>(chain.watched.slice(0, Math.min(size, chain.watched.length)));
  for (let i = set.size; i < size; i++) set.add("0x" + i.toString(16).padStart(40, "f"));
  const watched: WatchedSet = { has: (a) => set.has(a), size: set.size };
  const blocks = 2000;
  for (let a = 1; a <= blocks; a += 500) await adapter.scan(a, a + 499, watched);
  await adapter.close?.();
  return requests / blocks;
}

/** 1,000,000 pool addresses in SQLite, loaded into a watched set by a fresh process (the daemon's start). */
async function millionPool(): Promise<{ loadMs: number; rssMb: number; insertMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-pool-bench-"));
  try {
    const dbPath = join(dir, "p.sqlite");
    const db = openDatabase(dbPath, { synchronous: "NORMAL" });
    const insert = db.prepare(
      "INSERT INTO pool_addresses (chain, address, display, source, created_at) VALUES ('c', ?, ?, 'static', 0)",
    );
    const t0 = performance.now();
    db.transaction(() => {
      for (let i = 0; i < 1_000_000; i++) {
        const a = "0x" + i.toString(16).padStart(40, "0");
        insert.run(a, a);
      }
    })();
    const insertMs = performance.now() - t0;
    db.close();
    const child = await new Promise<{ loadMs: number; rssMb: number }>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--expose-gc", fileURLToPath(import.meta.url), POOL_CHILD, dbPath],
        { maxBuffer: 1 << 20 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
      );
    });
    return { ...child, insertMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In the child: load the pool into the watcher's own watched set, as at start. */
function loadPool(dbPath: string): { loadMs: number; rssMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  const config = validateConfig(
    {
      database: { path: dbPath },
      api: { keys: [{ name: "shop", sha256: "0".repeat(64) }] },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }] },
      chains: [
        { id: "c", kind: "evm", rpc: ["http://127.0.0.1:1"], chain_id: 1, pool: { source: "static" } },
      ],
      assets: [{ id: "ETH", chain: "c", decimals: 18 }],
      log: { level: "silent" },
    },
    {},
  );
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(dbPath);
  const ledger = createLedger(db, common, createCatalog(config));
  gc?.();
  const before = process.memoryUsage().rss;
  const t = performance.now();
  const set = createWatchedSet(ledger, "c");
  set.refresh();
  const loadMs = performance.now() - t;
  gc?.();
  const rssMb = (process.memoryUsage().rss - before) / 1048576;
  if (set.size !== 1_000_000) throw new Error("pool not loaded");
  return { loadMs, rssMb };
}

export async function run(): Promise<BenchRow[]> {
  const chain = await buildBenchChain(cacheDir(), (l) => process.stderr.write(l + "\n"));
  const node = await spawnAnvil({ args: [...BENCH_ANVIL_ARGS, "--load-state", chain.stateFile] });
  const rows: BenchRow[] = [];
  try {
    await bareFetch(node.url, chain, 1, chain.lastBlock); // warm-up
    const yard: number[] = [];
    const runs: CatchUp[] = [];
    let bareRequests = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      bareRequests = (await bareFetch(node.url, chain, 1, chain.lastBlock)).requests;
      yard.push(performance.now() - t);
      runs.push(await childCatchUp(node.url, chain));
    }
    const med = <T>(xs: T[], k: (x: T) => number) =>
      [...xs].sort((a, b) => k(a) - k(b))[Math.floor(xs.length / 2)]!;
    const y = med(yard, (x) => x);
    const c = med(runs, (x) => x.ms);
    rows.push({
      bench: "watch",
      metric: "catch-up 10,000 blocks, every deposit stored (watcher + ledger, synchronous=FULL)",
      value: `${(c.ms / 1000).toFixed(2)} s = ${((chain.lastBlock / c.ms) * 1000).toFixed(0)} blocks/s (${(c.ms / y).toFixed(2)}× yardstick)`,
      yardstick: `bare batched fetch ${(y / 1000).toFixed(2)} s`,
      note: `${c.stored} payments, ${c.events} events, 10,000 bound orders, 10,000 watched; fetch ${(c.scanMs / 1000).toFixed(2)} s overlapped with writes ${(c.writeMs / 1000).toFixed(2)} s; target ≤ 2×; median of 3`,
    });
    rows.push({
      bench: "watch",
      metric: "catch-up HTTP requests (watcher, with the completeness checks) vs the bare batched fetch",
      value: `${c.requests} requests (${(c.requests / bareRequests).toFixed(2)}× yardstick)`,
      yardstick: `bare batched fetch ${bareRequests} requests`,
      note: `includes the tip reorg checks and the URL's identity check; incomplete answers retried: ${c.incompleteAnswers}`,
    });
    rows.push({
      bench: "watch",
      metric: "bloom check: false-positive receipts checks on the bench chain",
      value: `${c.bloomFalsePositives} of ${chain.lastBlock} blocks (${((c.bloomFalsePositives / chain.lastBlock) * 100).toFixed(2)}%)`,
      note: "a block whose logsBloom matches a configured token's Transfer but whose eth_getLogs answer has none: one eth_getBlockReceipts each",
    });
    // the same catch-up once more with V8's own heap sizing, for the RSS the unit's flags save
    const v8Defaults = await childCatchUp(node.url, chain, "sparse", undefined, "");
    rows.push({
      bench: "watch",
      metric: "catch-up peak RSS (whole daemon-like process over a prepared database)",
      value: `${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB`,
      yardstick: `${v8Defaults.maxRssMb.toFixed(0)} MB with V8's default heap sizing (${(v8Defaults.ms / 1000).toFixed(2)} s); target ≤ 120 MB`,
      note: `NODE_OPTIONS as systemd/depositd.service sets it: ${shippedNodeOptions()}; the process holds ${c.startRssMb.toFixed(0)} MB before the first block (node, the modules, the database open)`,
    });
    rows.push(await postgresCatchUp(node.url, chain, c.ms));
    for (const size of [1, 10_000, 1_000_000]) {
      rows.push({
        bench: "watch",
        metric: `RPC HTTP requests per block, ${size.toLocaleString("en")} watched`,
        value: (await callsPerBlock(node.url, chain, size)).toFixed(4),
        note: "2,000 blocks scanned in 500-block batches",
      });
    }
    const pool = await millionPool();
    rows.push({
      bench: "watch",
      metric: "1,000,000 watched addresses: load from SQLite into the watched set",
      value: `${(pool.loadMs / 1000).toFixed(2)} s, +${pool.rssMb.toFixed(0)} MB RSS (fresh process)`,
      yardstick: "target ≤ 5 s, ≤ 300 MB",
      note: `inserting them took ${(pool.insertMs / 1000).toFixed(1)} s (one transaction)`,
    });
  } finally {
    await node.stop();
  }
  rows.push(...(await detectionLatency()));
  return rows;
}

/** From the receipt of the block that completes a payment's confirmations to its event row. */
async function detectionLatency(): Promise<BenchRow[]> {
  const node = await spawnAnvil({ chainId: 31337 });
  const dir = mkdtempSync(join(tmpdir(), "depositd-latency-"));
  try {
    const { deployTestToken, testTokenInterface } = await import("../src/dev/test-token.js");
    let id = 1;
    const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
      const r = await fetch(node.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
      });
      return ((await r.json()) as { result: T }).result;
    };
    const [owner] = await rpc<string[]>("eth_accounts");
    const token = await deployTestToken(rpc, owner!, { decimals: 6 });
    const pseudo: BenchChain = {
      stateFile: "",
      watched: [],
      token,
      chainId: 31337,
      firstBlock: 0,
      lastBlock: 0,
      ethTransfers: 0,
      tokenTransfers: 0,
      ethTotal: "0",
      tokenTotal: "0",
    };
    const pollMs = 250;
    const config = benchConfig(join(dir, "l.sqlite"), node.url, pseudo, {
      start_block: "latest",
      poll_interval_ms: pollMs,
    });
    const common = createCommon(config, { logger: pino({ level: "silent" }) });
    const db = openDatabase(config.database, { synchronous: "FULL" });
    const catalog = createCatalog(config);
    const ledger = createLedger(db, common, catalog);
    const addrs = Array.from({ length: 20 }, (_, i) =>
      getAddress("0x" + (i + 1).toString(16).padStart(40, "a")),
    );
    importPoolFile(db, "bench", createEvmAddressCodec(), addrs.join("\n"), Date.now());
    const watcher = createWatcher({
      chain: config.chains[0]!,
      adapter: createEvmAdapter({ chain: config.chains[0] as never, assets: catalog.assetsOfChain("bench") }),
      ledger,
      common,
    });
    watcher.start();
    const iface = testTokenInterface();
    const count = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'payment.confirmed'").pluck();
    const latencies: number[] = [];
    for (const a of addrs) {
      ledger.createOrder(
        "shop",
        { merchant_order_id: a, amount: "1", currency: "USDT", callback_url: "http://127.0.0.1:9/cb" },
        Date.now(),
      );
      const before = count.get() as number;
      await rpc("eth_sendTransaction", [
        { from: owner, to: token, data: iface.encodeFunctionData("mint", [a, 1_000_000n]) },
      ]);
      const mined = performance.now();
      while ((count.get() as number) === before) await new Promise((r) => setTimeout(r, 2));
      latencies.push(performance.now() - mined);
    }
    await watcher.stop();
    db.close();
    latencies.sort((a, b) => a - b);
    return [
      {
        bench: "watch",
        metric: "detection latency: confirming block mined → event stored",
        value: `p50 ${latencies[10]!.toFixed(0)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`,
        yardstick: `poll interval ${pollMs} ms (target: within one interval)`,
        note: "20 payments, confirmations 1, automine",
      },
    ];
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === CHILD) {
  CHAINS[(process.argv[5] ?? "sparse") as keyof typeof CHAINS](cacheDir())
    .then((chain) => catchUp(process.argv[3]!, chain, JSON.parse(process.argv[4]!) as BenchDatabase))
    .then(
      (r) => {
        process.stdout.write(JSON.stringify({ ...r, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(String((e as Error).stack ?? e) + "\n");
        process.exit(1);
      },
    );
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === POOL_CHILD) {
  process.stdout.write(JSON.stringify(loadPool(process.argv[3]!)));
  process.exit(0);
}
