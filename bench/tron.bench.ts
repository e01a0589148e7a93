// Catch-up on a mainnet-shaped Tron chain in the Tron test server (test/helpers/tron-server.ts):
// 2,000 blocks of 200 transactions each, most of them TriggerSmartContract USDT transfers with
// their Transfer logs, some TRX TransferContract, some calls of another token, and one deposit a
// block into 10,000 watched addresses bound to orders. The watcher and ledger run over a prepared
// database in a fresh process, against the yardstick of a bare fetch of the same endpoints (the same
// HTTP calls with undici, JSON parsed, nothing else) in another fresh process, in the same run.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SigningKey, Wallet } from "ethers";
import { pino } from "pino";
import { utils as tronUtils } from "tronweb";
import { Agent, request } from "undici";
import { TRON_BLOCKS_PER_REQUEST, createTronAdapter } from "../src/chains/tron/adapter.js";
import { createTronAddressCodec } from "../src/chains/tron/address.js";
import { createCommon } from "../src/common.js";
import { type ResolvedConfig, validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { importPoolFile } from "../src/pool/index.js";
import { createWatcher } from "../src/watch/index.js";
import { type TronServer, rawReply, startTronServer } from "../test/helpers/tron-server.js";
import { shippedNodeOptions } from "./node-options.js";
import type { BenchRow } from "./types.js";

const CATCHUP_CHILD = "--tron-catchup-child";
const BARE_CHILD = "--tron-bare-child";
const BLOCKS = Number(process.env.BENCH_TRON_BLOCKS ?? 2000);
const TXS_PER_BLOCK = 200;
/** of each block's 200: 1 deposit, 30 TRX transfers, 150 USDT transfers, 19 calls of another token */
const TRX_PER_BLOCK = 30;
const USDT_PER_BLOCK = 150;
const WATCHED = 10_000;
const USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const OTHER_TOKEN = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf";
const INFO_IN_FLIGHT = 8; // as the adapter
const BLOCK_LISTS_IN_FLIGHT = 4;

interface Prepared {
  url: string;
  dbPath: string;
  head: number;
  deposits: number;
}

function tronConfig(dbPath: string, url: string): ResolvedConfig {
  return validateConfig(
    {
      database: { path: dbPath, synchronous: "FULL" },
      api: { listen: "127.0.0.1:0", keys: [{ name: "shop", sha256: "0".repeat(64) }] },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      orders: { valid_minutes: 10080, late_window_minutes: 60 },
      chains: [
        {
          id: "tron",
          kind: "tron",
          rpc: [url],
          start_block: 1,
          request_timeout_ms: 60_000,
          rpc_max_rps: 100_000, // a local server: no free-tier budget (the default, 20/s, is for providers)
          pool: { source: "static", low_water: 0 },
        },
      ],
      assets: [
        { id: "TRX", chain: "tron", decimals: 6, confirmations: 1 },
        { id: "USDT-TRC20", chain: "tron", contract: USDT, decimals: 6, confirmations: 1 },
      ],
      log: { level: "silent" },
    },
    {},
  );
}

/** 41… hex of n random addresses, cheaply (no key behind them: they only receive) */
function randomHexAddresses(n: number): string[] {
  const bytes = randomBytes(20 * n);
  return Array.from({ length: n }, (_, i) => "41" + bytes.subarray(i * 20, i * 20 + 20).toString("hex"));
}

/** Build the chain in the server: BLOCKS blocks of TXS_PER_BLOCK transactions, one deposit each. */
function buildChain(server: TronServer, watched: string[]): { deposits: number; buildS: number } {
  const t0 = performance.now();
  const chain = server.chain;
  const payers = Array.from({ length: 64 }, () => new SigningKey(Wallet.createRandom().privateKey));
  const usdtHex = tronUtils.address.toHex(USDT).toLowerCase();
  const otherHex = tronUtils.address.toHex(OTHER_TOKEN).toLowerCase();
  let deposits = 0;
  let k = 0;
  for (let b = 1; b <= BLOCKS; b++) {
    const to = randomHexAddresses(TXS_PER_BLOCK);
    const payer = () => payers[k++ % payers.length]!;
    const amount = () => BigInt(1 + ((k * 7919) % 5_000_000_000));
    // the deposit sits at a different position in each block; every fifth is TRX
    const depositAt = b % TXS_PER_BLOCK;
    for (let i = 0; i < TXS_PER_BLOCK; i++) {
      if (i === depositAt) {
        const address = watched[(b * 7) % watched.length]!;
        if (b % 5 === 0) chain.transferTrx(payer(), address, 1_000_000 + b);
        else chain.transferTrc20(USDT, payer(), address, 1_000_000n + BigInt(b));
        deposits++;
      } else if (i < TRX_PER_BLOCK + 1) chain.transferTrx(payer(), to[i]!, amount());
      else if (i < TRX_PER_BLOCK + USDT_PER_BLOCK + 1)
        chain.transferTrc20(usdtHex, payer(), to[i]!, amount());
      else chain.transferTrc20(otherHex, payer(), to[i]!, amount());
    }
    chain.mine();
  }
  return { deposits, buildS: (performance.now() - t0) / 1000 };
}

/**
 * The server's own answers, serialized once up front and kept: what is timed is the client, not the
 * test server (its JSON of a 100-block list takes longer than parsing it). Texts are those the
 * server writes (toJsonText is JSON.stringify while every integer is exact, as here).
 */
function cacheAnswers(server: TronServer, head: number): void {
  const lists = new Map<string, string>();
  for (let s = 1; s <= head; s += TRON_BLOCKS_PER_REQUEST) {
    const e = Math.min(s + TRON_BLOCKS_PER_REQUEST, head + 1);
    const block = [];
    for (let n = s; n < e; n++) block.push(server.chain.blockJson(n));
    lists.set(`${s}-${e}`, JSON.stringify({ block }));
  }
  const infos = new Map<number, string>();
  for (let n = 1; n <= head; n++) infos.set(n, JSON.stringify(server.chain.infosJson(n)));
  server.override("/wallet/getblockbylimitnext", (body, answer) => {
    const text = lists.get(`${String(body.startNum)}-${String(body.endNum)}`);
    return text === undefined ? answer() : rawReply(200, text);
  });
  server.override("/wallet/gettransactioninfobyblocknum", (body, answer) => {
    const text = infos.get(Number(body.num));
    return text === undefined ? answer() : rawReply(200, text);
  });
}

/** The database a daemon would have when the chain starts moving: pool imported, 10,000 orders bound. */
function prepareDatabase(dbPath: string, url: string, watched: string[], createdAt: number): void {
  const config = tronConfig(dbPath, url);
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(dbPath, { synchronous: "NORMAL" });
  const ledger = createLedger(db, common, createCatalog(config));
  importPoolFile(db, "tron", createTronAddressCodec(), watched.join("\n"), createdAt);
  db.transaction(() => {
    for (let i = 0; i < watched.length; i++) {
      ledger.createOrder(
        "shop",
        {
          merchant_order_id: `O-${i}`,
          amount: "1",
          currency: "USDT-TRC20",
          callback_url: "http://127.0.0.1:9/cb",
        },
        createdAt,
      );
    }
  })();
  db.close();
}

interface CatchUp {
  ms: number;
  stored: number;
  events: number;
  requests: number;
  byPath: Record<string, number>;
  maxRssMb: number;
}

/** In the child: the watcher from block 1 to the head over the prepared database. */
async function catchUp(p: Prepared): Promise<Omit<CatchUp, "maxRssMb">> {
  const config = tronConfig(p.dbPath, p.url);
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(config.database, { synchronous: "FULL" });
  const catalog = createCatalog(config);
  const ledger = createLedger(db, common, catalog);
  let requests = 0;
  const adapter = createTronAdapter({
    chain: config.chains[0] as never,
    assets: catalog.assetsOfChain("tron"),
    onRequest: () => requests++,
  });
  const watcher = createWatcher({ chain: config.chains[0]!, adapter, ledger, common });
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  for (;;) {
    const r = await watcher.runOnce();
    if (!r || r.to >= p.head) break;
  }
  const ms = performance.now() - started;
  const stored = db.prepare("SELECT count(*) FROM payments").pluck().get() as number;
  const events = db.prepare("SELECT count(*) FROM events").pluck().get() as number;
  await watcher.stop();
  db.close();
  return { ms, stored, events, requests, byPath: {} };
}

/** In the child: the same endpoints with undici, answers JSON-parsed, nothing else. */
async function bareFetch(url: string, head: number): Promise<{ ms: number; requests: number; txs: number }> {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  let requests = 0;
  const post = async (path: string, body: unknown): Promise<unknown> => {
    requests++;
    const res = await request(url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      dispatcher: agent,
    });
    return res.body.json();
  };
  const pool = async <T>(items: T[], limit: number, fn: (x: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: limit }, async () => {
        while (next < items.length) await fn(items[next++]!);
      }),
    );
  };
  const started = performance.now();
  let txs = 0;
  const chunks: number[] = [];
  for (let s = 1; s <= head; s += TRON_BLOCKS_PER_REQUEST) chunks.push(s);
  const numbers = Array.from({ length: head }, (_, i) => i + 1);
  await Promise.all([
    pool(chunks, BLOCK_LISTS_IN_FLIGHT, async (s) => {
      const got = (await post("/wallet/getblockbylimitnext", {
        startNum: s,
        endNum: Math.min(s + TRON_BLOCKS_PER_REQUEST, head + 1),
      })) as { block: { transactions?: unknown[] }[] };
      for (const b of got.block) txs += b.transactions?.length ?? 0;
    }),
    pool(numbers, INFO_IN_FLIGHT, async (n) => {
      await post("/wallet/gettransactioninfobyblocknum", { num: n });
    }),
  ]);
  const ms = performance.now() - started;
  await agent.close();
  return { ms, requests, txs };
}

function child<T>(flag: string, arg: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", fileURLToPath(import.meta.url), flag, JSON.stringify(arg)],
      { maxBuffer: 1 << 20, env: { ...process.env, NODE_OPTIONS: shippedNodeOptions() } },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout) as T);
      },
    );
  });
}

export async function run(): Promise<BenchRow[]> {
  // block times are fixed by the bench, three hours back: orders made before block 1 are all open
  const genesisAt = Math.floor((Date.now() - 3 * 3600_000) / 3000) * 3000;
  const server = await startTronServer({
    initialBlocks: 0,
    clock: () => genesisAt,
    standInSignatures: true,
  });
  const dir = mkdtempSync(join(tmpdir(), "depositd-tron-bench-"));
  try {
    const watched = randomHexAddresses(WATCHED).map((h) => tronUtils.address.fromHex(h) as string);
    const { deposits, buildS } = buildChain(server, watched);
    const head = server.chain.head;
    const t1 = performance.now();
    cacheAnswers(server, head);
    const serializeS = (performance.now() - t1) / 1000;
    const warm = await child<{ ms: number; requests: number; txs: number }>(BARE_CHILD, {
      url: server.url,
      head,
    });
    if (warm.txs !== BLOCKS * TXS_PER_BLOCK) throw new Error(`bare fetch saw ${warm.txs} transactions`);
    // bare, catch-up, bare: the yardstick is the faster bare fetch around the one catch-up
    const bareRun = () =>
      child<{ ms: number; requests: number; txs: number }>(BARE_CHILD, { url: server.url, head });
    const bare = [(await bareRun()).ms];
    const dbPath = join(dir, "t.sqlite");
    prepareDatabase(dbPath, server.url, watched, genesisAt - 60_000);
    const before = server.requests.length;
    const measured = await child<CatchUp>(CATCHUP_CHILD, { url: server.url, dbPath, head, deposits });
    const byPath: Record<string, number> = {};
    for (const q of server.requests.slice(before)) byPath[q.path] = (byPath[q.path] ?? 0) + 1;
    const c = { ...measured, byPath };
    bare.push((await bareRun()).ms);
    const y = Math.min(...bare);
    const floor = Math.ceil(BLOCKS / TRON_BLOCKS_PER_REQUEST) + BLOCKS;
    const paths = Object.entries(c.byPath)
      .sort((a, b) => b[1] - a[1])
      .map(([p, n]) => `${p.replace("/wallet", "")} ${n}`)
      .join(", ");
    return [
      {
        bench: "tron",
        metric: `catch-up ${BLOCKS.toLocaleString("en")} mainnet-shaped blocks (${TXS_PER_BLOCK} transactions a block: ${TXS_PER_BLOCK - TRX_PER_BLOCK - 1} TRC-20 calls, ${TRX_PER_BLOCK} TRX, 1 deposit), every deposit stored`,
        value: `${(c.ms / 1000).toFixed(2)} s = ${((BLOCKS / c.ms) * 1000).toFixed(0)} blocks/s (${(c.ms / y).toFixed(2)}× yardstick)`,
        yardstick: `bare fetch of the same endpoints ${(y / 1000).toFixed(2)} s = ${((BLOCKS / y) * 1000).toFixed(0)} blocks/s`,
        note: `${c.stored} payments (${deposits} expected), ${c.events} events, 10,000 bound orders, 10,000 watched; defaults but rpc_max_rps (local server); yardstick the faster of 2 bare fetches around the catch-up; chain built in ${buildS.toFixed(0)} s (not timed; stand-in signatures), answers serialized once up front (${serializeS.toFixed(0)} s)`,
      },
      {
        bench: "tron",
        metric: "catch-up HTTP requests per block vs the floor",
        value: `${(c.requests / BLOCKS).toFixed(4)} (${c.requests} requests, ${(c.requests / floor).toFixed(3)}× floor)`,
        yardstick: `floor ${(floor / BLOCKS).toFixed(4)}: ${BLOCKS} gettransactioninfobyblocknum + ${floor - BLOCKS} getblockbylimitnext`,
        note: `as served: ${paths}`,
      },
      {
        bench: "tron",
        metric: "catch-up peak RSS (fresh process over a prepared database)",
        value: `${c.maxRssMb.toFixed(0)} MB`,
        note: "NODE_OPTIONS as systemd/depositd.service sets it",
      },
    ];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const me = process.argv[1] === fileURLToPath(import.meta.url);
if (me && (process.argv[2] === CATCHUP_CHILD || process.argv[2] === BARE_CHILD)) {
  const arg = JSON.parse(process.argv[3]!) as Prepared;
  const work =
    process.argv[2] === CATCHUP_CHILD
      ? catchUp(arg).then((r) => {
          if (r.stored !== arg.deposits)
            throw new Error(`stored ${r.stored} payments, expected ${arg.deposits}`);
          return r;
        })
      : bareFetch(arg.url, arg.head);
  work.then(
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
