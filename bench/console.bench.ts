// The console's overview with 1M orders and 1M payments in the database (filled directly with SQL,
// the counters' triggers running as they would): render time over HTTP and the bytes a browser
// downloads for it (page, stylesheet, script). Also a search by txid, the Orders screen's filters
// and the bytes of each screen on the same database.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { createApi } from "../src/api/server.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import type { BenchRow } from "./types.js";

const KEY = "bench-operator-0123456789";
const N = 1_000_000;
const HOUR = 3_600_000;

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-console-"));
  try {
    return await measure(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir: string): Promise<BenchRow[]> {
  const config = validateConfig(
    {
      database: { path: join(dir, "bench.sqlite"), synchronous: "NORMAL" },
      api: {
        listen: "127.0.0.1:0",
        keys: [
          { name: "ops", sha256: createHash("sha256").update(KEY).digest("hex"), role: "operator" },
          // the merchant the fill's orders belong to (the Orders screen's merchant filter)
          { name: "shop", sha256: createHash("sha256").update("bench-merchant-0123456789").digest("hex") },
        ],
      },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      rates: { static: { USD: { ETH: "3000" } } },
      chains: [
        { id: "eth", kind: "evm", rpc: ["http://127.0.0.1:1"], chain_id: 1, pool: { source: "static" } },
      ],
      assets: [{ id: "ETH", chain: "eth", decimals: 18 }],
      log: { level: "silent" },
    },
    {},
  );
  // a fixed clock: the fill spreads rows over the week before it
  const now = Date.parse("2026-11-22T10:00:00.000Z");
  const common = createCommon(config, { logger: pino({ level: "silent" }), now: () => now });
  const db = openDatabase(config.database.path, { synchronous: "NORMAL" });
  const fillStarted = performance.now();
  db.exec(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
    INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
      underpaid_tolerance, overpaid_tolerance, paid_amount, callback_url, request_hash, created_at, updated_at,
      expires_at, late_until)
    SELECT printf('ord_%026d', i), 'shop', 'M-' || i,
      CASE i % 5 WHEN 0 THEN 'pending' WHEN 1 THEN 'paid' WHEN 2 THEN 'expired' WHEN 3 THEN 'paid' ELSE 'cancelled' END,
      '1000', 'USD', 2, '0', '0', '0', 'https://shop.example/cb', 'h',
      ${now} - (i * 604) , ${now}, ${now} + ${HOUR}, ${now} + 2 * ${HOUR} FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
    INSERT INTO order_options (order_id, asset, chain, address, amount_due, decimals, rate)
    SELECT printf('ord_%026d', i), 'ETH', 'eth', printf('0x%040x', i), '333', 18, '3000' FROM n;
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
    INSERT INTO payments (id, chain, txid, idx, asset, address, amount, block_number, block_hash, block_time,
      status, order_id, created_at, updated_at)
    SELECT printf('pay_%026d', i), 'eth', printf('0x%064x', i), 0, 'ETH', printf('0x%040x', i), '333', i,
      printf('0x%064x', i), ${now} - (i * 604), 'confirmed', printf('ord_%026d', i), ${now} - (i * 604), ${now} FROM n;
  `);
  const fillMs = performance.now() - fillStarted;
  const ledger = createLedger(db, common, createCatalog(config));
  const api = createApi({
    db,
    ledger,
    catalog: createCatalog(config),
    common,
    health: () => ({
      ok: true,
      checks: {
        "chain:eth": {
          ok: true,
          detail: {
            head: N,
            scanned: N,
            lag_blocks: 0,
            silent_ms: 500,
            last_error: null,
            fatal: null,
            pool: { total: 10, free: 10, bound: 0, resting: 0, low_water: 10, low: false },
          },
        },
      },
    }),
  });
  const { port } = await api.listen();
  const base = `http://127.0.0.1:${port}`;
  try {
    const login = await fetch(`${base}/console/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `key=${KEY}`,
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const get = async (path: string) => {
      const t = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { cookie } });
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      return { ms: performance.now() - t, body };
    };
    const times = async (path: string, n: number) => {
      await get(path);
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push((await get(path)).ms);
      ms.sort((a, b) => a - b);
      return { p50: ms[Math.floor(n / 2)]!, p99: ms[Math.floor(n * 0.99)]! };
    };
    const overview = await times("/console/overview", 200);
    const page = (await get("/console/overview")).body;
    const assets = [...page.toString().matchAll(/(?:href|src)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => m[1]!,
    );
    let assetBytes = 0;
    for (const a of assets) assetBytes += (await get(a)).body.length;
    const search = await times(`/console/orders?q=${"0x" + (777_777).toString(16).padStart(64, "0")}`, 100);
    // the Orders screen's filters over the same million orders (0011's order_chains for the chain)
    const day = new Date(now - 3 * 24 * HOUR).toISOString().slice(0, 10);
    const filters: [string, string][] = [
      ["status + merchant", "/console/orders?status=expired&merchant=shop"],
      ["chain + status", "/console/orders?chain=eth&status=cancelled"],
      ["status + one day", `/console/orders?status=paid&from=${day}&to=${day}`],
    ];
    const filtered: { name: string; p50: number; p99: number }[] = [];
    for (const [name, path] of filters) filtered.push({ name, ...(await times(path, 100)) });
    // bytes per screen (the stylesheet and script are the same two files on every screen)
    const screens: [string, string][] = [
      ["overview", "/console/overview"],
      ["orders", "/console/orders"],
      ["orders filtered", "/console/orders?status=paid&merchant=shop&chain=eth"],
      ["order", `/console/orders/${"ord_" + "1".padStart(26, "0")}`],
      ["deliveries", "/console/deliveries"],
      ["inbox", "/console/inbox"],
    ];
    const sizes: string[] = [];
    for (const [name, path] of screens) sizes.push(`${name} ${(await get(path)).body.length}`);
    const fmt = (x: number) => x.toFixed(2);
    return [
      {
        bench: "console",
        metric: "fill 1M orders + options + 1M payments (SQL, triggers on)",
        value: `${(fillMs / 1000).toFixed(1)} s`,
      },
      {
        bench: "console",
        metric: "GET /console/overview p50 / p99 (1M orders, 1M payments)",
        value: `${fmt(overview.p50)} / ${fmt(overview.p99)} ms`,
      },
      {
        bench: "console",
        metric: "overview bytes: page + css + js (uncompressed)",
        value: `${page.length} + ${assetBytes} = ${page.length + assetBytes} B`,
        note: `${assets.length} assets, cached immutable`,
      },
      {
        bench: "console",
        metric: "search by txid → order page redirect, p50 / p99",
        value: `${fmt(search.p50)} / ${fmt(search.p99)} ms`,
      },
      ...filtered.map((f) => ({
        bench: "console",
        metric: `GET /console/orders filtered by ${f.name}, p50 / p99`,
        value: `${fmt(f.p50)} / ${fmt(f.p99)} ms`,
      })),
      {
        bench: "console",
        metric: "page bytes per screen (uncompressed; + css + js once, cached immutable)",
        value: `${sizes.join(" · ")} B`,
        note: `css + js ${assetBytes} B`,
      },
    ];
  } finally {
    await api.close();
    db.close();
  }
}
