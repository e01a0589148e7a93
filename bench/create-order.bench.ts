// Create-order throughput over HTTP (SPEC §8: ≥ 2,000 requests/s, p99 ≤ 20 ms on 2 cores).
// The load generator runs in the same process, so the numbers include its cost too.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request } from "undici";
import { HDNodeWallet, getAddress, hexlify, randomBytes } from "ethers";
import { pino } from "pino";
import { createApi } from "../src/api/server.js";
import { createEvmAddressCodec } from "../src/chains/evm/address.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { type DB, openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { importPoolFile, poolStatus } from "../src/pool/index.js";
import type { BenchRow } from "./types.js";

const KEY = "bench-key-0123456789";

export async function run(): Promise<BenchRow[]> {
  const rows = [...(await measure(16)), ...(await measure(32))];
  // an xpub pool without reuse, with this many addresses already used and released
  for (const used of [0, 300_000, 1_000_000]) rows.push(...(await measure(16, { used, total: 5_000 })));
  return rows;
}

// an account-level key from a fixed seed: the bench only needs the config to accept the pool
const XPUB = HDNodeWallet.fromSeed(new Uint8Array(32).fill(7))
  .derivePath("m/44'/60'/0'")
  .neuter().extendedKey;

async function measure(
  concurrency: number,
  opts: { used?: number; total?: number } = {},
): Promise<BenchRow[]> {
  const { createHash } = await import("node:crypto");
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-"));
  const total = opts.total ?? 20_000;
  const xpub = opts.used !== undefined;
  const config = validateConfig(
    {
      database: { path: join(dir, "bench.sqlite"), synchronous: "FULL" },
      api: {
        listen: "127.0.0.1:0",
        keys: [{ name: "shop", sha256: createHash("sha256").update(KEY).digest("hex") }],
      },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      rates: { static: { USD: { ETH: "3000", USDT: "1" } } },
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
  const db = openDatabase(config.database.path, { synchronous: "FULL" });
  const catalog = createCatalog(config);
  const ledger = createLedger(db, common, catalog);
  const extra: BenchRow[] = [];
  if (xpub) extra.push(...fillXpubPool(db, opts.used!, total + 100));
  else {
    const pool = Array.from({ length: total + 100 }, () => getAddress(hexlify(randomBytes(20)))).join("\n");
    importPoolFile(db, "eth", createEvmAddressCodec(), pool, Date.now());
  }
  const api = createApi({ db, ledger, catalog, common, health: () => ({ ok: true, checks: {} }) });
  const { port } = await api.listen();
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  async function worker(): Promise<void> {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const res = await request(`http://127.0.0.1:${port}/v1/orders`, {
        method: "POST",
        dispatcher: agent,
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({
          merchant_order_id: `B-${i}`,
          amount: "19.99",
          currency: "USD",
          callback_url: "http://127.0.0.1:9/cb",
        }),
      });
      await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 201) failures++;
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);
  await agent.close();
  await api.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const pool = xpub ? `, xpub pool with ${opts.used!.toLocaleString("en")} used addresses` : "";
  const note = `${total} creates, ${concurrency} concurrent keep-alive connections, synchronous=FULL, 2 options each${pool}`;
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
  return [
    {
      bench: "create-order",
      metric: `requests/s, ${concurrency} connections`,
      value: (total / seconds).toFixed(0),
      yardstick: "target ≥ 2000",
      note,
    },
    { bench: "create-order", metric: `p50 latency ms, ${concurrency} connections`, value: pct(0.5) },
    {
      bench: "create-order",
      metric: `p99 latency ms, ${concurrency} connections`,
      value: pct(0.99),
      yardstick: "target ≤ 20",
    },
    { bench: "create-order", metric: `non-201 answers, ${concurrency} connections`, value: String(failures) },
  ];
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
