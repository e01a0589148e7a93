// The checkout page: weight (bytes, requests) and first contentful paint in Debian's Chromium on
// localhost, and the live-status fan-out: CPU of the ledger's commit hook when a payment lands
// while 1,000 pages are open (on 1,000 orders, and all on one order), and memory per open page.
// The pages' SSE clients run in a child process so they do not share the daemon's event loop.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { chromium } from "playwright-core";
import { createEvmAddressCodec } from "../src/chains/evm/address.js";
import { createCheckout } from "../src/checkout/index.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { importPoolFile } from "../src/pool/index.js";
import type { BenchRow } from "./types.js";

const PAGES = 1000;

const CLIENTS = `
import http from "node:http";
const urls = JSON.parse(process.argv.at(-1));
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
let opened = 0, frames = 0;
for (const url of urls) {
  http.get(url, { agent }, (res) => {
    res.setEncoding("utf8");
    let first = true;
    res.on("data", (chunk) => {
      const n = (chunk.match(/^data: /gm) || []).length;
      if (first && n) { first = false; opened++; frames += n - 1; if (opened === urls.length) console.log("open"); }
      else frames += n;
    });
  });
}
setInterval(() => console.log("frames " + frames), 10);
`;

function startClients(urls: string[]): Promise<{ child: ChildProcess; frames(): number }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENTS, "--", JSON.stringify(urls)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let frames = 0;
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === "open") resolve({ child, frames: () => frames });
        else if (line.startsWith("frames ")) frames = Number(line.slice(7));
      }
    });
    child.once("exit", () => reject(new Error("clients exited")));
  });
}

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-checkout-"));
  const addresses = Array.from(
    { length: PAGES + 10 },
    (_, i) => "0x" + (i + 1).toString(16).padStart(40, "0"),
  );
  const config = validateConfig(
    {
      database: { path: join(dir, "d.sqlite"), synchronous: "NORMAL" },
      api: {
        keys: [{ name: "bench", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }],
      },
      notify: { secrets: [{ id: "k1", value: "bench_secret_0123456789" }], allow_private_targets: true },
      rates: { static: { USD: { ETH: "3000", "USDT-ERC20": "1" } } },
      chains: [
        { id: "anvil", kind: "evm", rpc: ["http://127.0.0.1:9"], chain_id: 1, pool: { source: "static" } },
      ],
      assets: [
        { id: "ETH", chain: "anvil", decimals: 18 },
        {
          id: "USDT-ERC20",
          chain: "anvil",
          contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7",
          decimals: 6,
        },
      ],
      checkout: {
        listen: "127.0.0.1:0",
        rate_limit_per_minute: 100000,
        max_streams_per_ip: 100000,
        brand: { name: "Bench shop" },
      },
      log: { level: "silent" },
    },
    {},
  );
  let now = Date.parse("2026-11-22T10:00:00.000Z");
  const common = createCommon(config, { logger: pino({ level: "silent" }), now: () => now });
  const db = openDatabase(config.database, { synchronous: "NORMAL" });
  const catalog = createCatalog(config);
  const checkout = createCheckout({ db, catalog, common });
  let hookCpu = 0;
  const ledger = createLedger(db, common, catalog, {
    onCommit(c) {
      const cpu = process.cpuUsage();
      checkout.onCommit(c);
      const d = process.cpuUsage(cpu);
      hookCpu += (d.user + d.system) / 1000;
    },
  });
  importPoolFile(db, "anvil", createEvmAddressCodec(), addresses.join("\n"), now);
  const orders = Array.from(
    { length: PAGES },
    (_, i) =>
      ledger.createOrder(
        "bench",
        { merchant_order_id: `B-${i}`, amount: "10", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
        now,
      ).order,
  );
  const { port } = await checkout.listen();
  const base = `http://127.0.0.1:${port}`;
  const path = (o: (typeof orders)[number]) => new URL(o.checkout_url!).pathname;
  const rows: BenchRow[] = [];

  // --- page weight and first paint, cold cache each time
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
    ],
  });
  const fcp: number[] = [];
  let bytes = 0;
  let requests = 0;
  for (let i = 0; i < 7; i++) {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    let b = 0;
    let n = 0;
    page.on("response", (r) => {
      n++;
      if (!r.url().endsWith("/events"))
        void r.body().then(
          (body) => (b += body.length),
          () => undefined,
        );
    });
    await page.goto(base + path(orders[i]!) + "?option=USDT-ERC20", { waitUntil: "load" });
    await new Promise((r) => setTimeout(r, 200));
    fcp.push(
      await page.evaluate(
        () =>
          (
            globalThis as unknown as { performance: { getEntriesByName(n: string): { startTime: number }[] } }
          ).performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
      ),
    );
    bytes = b;
    requests = n;
    await ctx.close();
  }
  await browser.close();
  rows.push({
    bench: "checkout",
    metric: "page weight (cold cache, uncompressed)",
    value: `${bytes} bytes in ${requests} requests`,
    note: "HTML with inline SVG QR + CSS + JS + the SSE stream (its bytes not counted)",
  });
  rows.push({
    bench: "checkout",
    metric: "first contentful paint, localhost",
    value: `${median(fcp).toFixed(0)} ms`,
    note: `median of ${fcp.length} cold loads at 390×844 in Debian's Chromium`,
  });

  // --- fan-out: 1,000 pages on 1,000 orders
  const rss0 = process.memoryUsage().rss;
  const spread = await startClients(orders.map((o) => `${base}${path(o)}/events?option=ETH`));
  const rssOpen = process.memoryUsage().rss;
  rows.push({
    bench: "checkout",
    metric: `open pages held (SSE streams)`,
    value: `${checkout.hub.streams()}`,
    note: `daemon RSS +${((rssOpen - rss0) / 1024 / PAGES).toFixed(1)} KiB per open page`,
  });
  let block = 1;
  const pay = (targets: (typeof orders)[number][], asset = "ETH") => {
    now += 1000;
    const units = asset === "ETH" ? 3_333_333_333_333_334n : 10_000_000n;
    ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: block },
        blocks: [
          {
            number: block,
            hash: `0x${block.toString(16).padStart(64, "0")}`,
            parentHash: "0x0",
            timestamp: now,
          },
        ],
        transfers: targets.map((o, i) => ({
          txid: `0x${block.toString(16)}${i.toString(16).padStart(8, "0")}`,
          index: 0,
          asset,
          address: o.options.find((x) => x.asset === asset)!.address.toLowerCase(),
          amount: units,
          block: { number: block, hash: `0x${block.toString(16).padStart(64, "0")}`, timestamp: now },
        })),
        keepBlocks: 64,
      },
      now,
    );
    block++;
  };
  ledger.initCursor("anvil", 1, now);

  hookCpu = 0;
  let before = spread.frames();
  let t0 = performance.now();
  pay([orders[0]!]);
  await until(() => spread.frames() >= before + 1);
  rows.push({
    bench: "checkout",
    metric: "a payment lands on 1 of 1,000 open orders",
    value: `${hookCpu.toFixed(2)} ms CPU in the commit hook`,
    note: `1 frame sent; the page had it ${(performance.now() - t0).toFixed(0)} ms after the write`,
  });

  hookCpu = 0;
  before = spread.frames();
  t0 = performance.now();
  pay(orders.slice(1));
  await until(() => spread.frames() >= before + PAGES - 1);
  rows.push({
    bench: "checkout",
    metric: "one block pays 999 orders, each with its page open",
    value: `${hookCpu.toFixed(0)} ms CPU in the commit hook (${(hookCpu / (PAGES - 1)).toFixed(2)} ms per page)`,
    note: `all 999 pages updated ${(performance.now() - t0).toFixed(0)} ms after the write (ledger write included)`,
  });
  spread.child.kill();

  // --- 1,000 pages on one order (a shared link): one load, one render, 1,000 writes
  const shared = ledger.createOrder(
    "bench",
    { merchant_order_id: "B-shared", amount: "10", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
    now,
  ).order;
  await until(() => checkout.hub.streams() === 0);
  const same = await startClients(
    Array.from({ length: PAGES }, () => `${base}${path(shared)}/events?option=USDT-ERC20`),
  );
  hookCpu = 0;
  before = same.frames();
  t0 = performance.now();
  pay([shared], "USDT-ERC20");
  await until(() => same.frames() >= before + PAGES);
  rows.push({
    bench: "checkout",
    metric: "a payment lands on an order 1,000 pages show",
    value: `${hookCpu.toFixed(1)} ms CPU in the commit hook`,
    note: `1 DB load + 1 render + 1,000 writes; all pages updated ${(performance.now() - t0).toFixed(0)} ms after the write`,
  });
  same.child.kill();

  await checkout.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return rows;
}
