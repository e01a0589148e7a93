// RPC cost of following one chain at the tip, per chain kind (EVM on anvil, Tron on the Tron test
// server, Bitcoin on a regtest bitcoind): the real adapter and watcher with the config defaults,
// behind a counting proxy that sees every HTTP request and every JSON-RPC call inside a batch.
// Measured per new block and per idle poll while following N blocks, at 1 and 10,000 watched
// addresses; then per day at the default poll interval and each chain's real block time, against
// the per-address balance polling that simpler gateways do.
//
// Per day: polls = 86,400 s / poll_interval_ms; of these, one per block (86,400 s / block time:
// Ethereum 12 s, Tron 3 s, Bitcoin 600 s) costs a new-block pass, the rest an idle poll. The passes
// here run back to back instead of at the interval: the counts per pass are what the interval
// multiplies. The polling model: one balance call per watched address per asset, once per block
// (EVM eth_getBalance + balanceOf eth_call, Tron getaccount + triggerconstantcontract, Bitcoin one
// address lookup), and nothing else (not even its head polls).
import { randomBytes } from "node:crypto";
import { type IncomingMessage, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress } from "ethers";
import { networks, payments } from "bitcoinjs-lib";
import { pino } from "pino";
import { utils as tronUtils } from "tronweb";
import { adapterFor, addressCodecFor } from "../src/chains/index.js";
import { createCommon } from "../src/common.js";
import { validateConfig } from "../src/config/load.js";
import { openDatabase } from "../src/db/index.js";
import { spawnAnvil } from "../src/dev/anvil.js";
import { deployTestToken, testTokenInterface } from "../src/dev/test-token.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { importPoolFile } from "../src/pool/index.js";
import { createWatcher } from "../src/watch/index.js";
import { startBitcoind } from "../test/helpers/bitcoind.js";
import { startTronServer } from "../test/helpers/tron-server.js";
import type { BenchRow } from "./types.js";

const BLOCKS = 50;
const SIZES = [1, 10_000];
const POLLED = [100, 10_000, 1_000_000];
const DAY_MS = 86_400_000;

/** A pass-through proxy counting HTTP requests and JSON-RPC calls (a batch of k is one request, k calls). */
async function countingProxy(target: string) {
  const counts = { requests: 0, calls: 0, methods: new Map<string, number>() };
  const count = (method: string) => counts.methods.set(method, (counts.methods.get(method) ?? 0) + 1);
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        counts.requests++;
        // JSON-RPC: each call of a batch by its method; REST (Tron): the path
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(body.toString() || "{}");
        } catch {
          // not JSON: one call, by its path
        }
        const calls = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
        for (const c of calls) {
          const m = (c as { method?: unknown } | null)?.method;
          count(typeof m === "string" ? m : (req.url ?? "/").replace(/^\/wallet/, ""));
        }
        counts.calls += calls.length;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (req.headers.authorization) headers.authorization = req.headers.authorization;
        const up = await fetch(target + (req.url ?? "/"), { method: req.method, headers, body });
        const text = Buffer.from(await up.arrayBuffer());
        res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" });
        res.end(text);
      })().catch((e: unknown) => {
        res.writeHead(502).end(String(e));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Kind {
  name: string;
  blockTimeS: number;
  /** balance calls a polling gateway makes per watched address per poll */
  pollCallsPerAddress: string;
  pollCallsN: number;
  /** chain config (rpc filled in) and assets */
  chain: (rpc: string) => Record<string, unknown>;
  assets: Record<string, unknown>[];
  /** a pool of `size` addresses whose first gets the deposits */
  addresses: (size: number) => Promise<string[]>;
  /** make one new block holding a deposit into `to` (and a little else) */
  newBlock: (to: string) => Promise<void>;
  target: string;
  stop: () => Promise<void>;
}

type Tally = { requests: number; calls: number; methods: Map<string, number> };

interface Measured {
  kind: string;
  size: number;
  watched: number;
  perBlock: Tally;
  perIdle: Tally;
  pollMs: number;
}

const perPass = (t: Tally): Tally => ({
  requests: t.requests / BLOCKS,
  calls: t.calls / BLOCKS,
  methods: new Map([...t.methods].map(([m, n]) => [m, n / BLOCKS])),
});
const methodList = (t: Tally) => [...t.methods].map(([m, n]) => `${m} ${Number(n.toFixed(2))}`).join(", ");

async function follow(kind: Kind, size: number, dir: string): Promise<Measured> {
  const proxy = await countingProxy(kind.target);
  try {
    const config = validateConfig(
      {
        database: { path: join(dir, `${kind.name}-${size}.sqlite`) },
        api: { keys: [{ name: "shop", sha256: "0".repeat(64) }] },
        notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }] },
        chains: [
          {
            id: "c",
            start_block: "latest",
            pool: { source: "static" },
            // the passes run back to back, not at poll_interval_ms: the request budget only paces,
            // it never changes what is asked
            rpc_max_rps: 100_000,
            ...kind.chain(proxy.url),
          },
        ],
        assets: kind.assets.map((a) => ({ ...a, chain: "c" })),
        log: { level: "silent" },
      },
      {},
    );
    const chain = config.chains[0]!;
    const common = createCommon(config, { logger: pino({ level: "silent" }) });
    const db = openDatabase(config.database);
    const catalog = createCatalog(config);
    const ledger = createLedger(db, common, catalog);
    const addresses = await kind.addresses(size);
    importPoolFile(db, "c", addressCodecFor(chain), addresses.join("\n"), Date.now());
    const adapter = adapterFor(chain, catalog.assetsOfChain("c"), {});
    const watcher = createWatcher({ chain, adapter, ledger, common });
    await watcher.runOnce(); // start: identity checks, cursor at the head (not counted)
    await watcher.runOnce();
    const tally = (): Tally => ({ requests: 0, calls: 0, methods: new Map() });
    const block = tally();
    const idle = tally();
    const take = (into: Tally) => {
      into.requests += proxy.counts.requests;
      into.calls += proxy.counts.calls;
      for (const [m, n] of proxy.counts.methods) into.methods.set(m, (into.methods.get(m) ?? 0) + n);
      proxy.counts.requests = 0;
      proxy.counts.calls = 0;
      proxy.counts.methods.clear();
    };
    for (let i = 0; i < BLOCKS; i++) {
      await kind.newBlock(addresses[0]!);
      const r = await watcher.runOnce();
      if (!r || r.from > r.to) throw new Error(`${kind.name}: the pass after a new block scanned nothing`);
      take(block);
      const r2 = await watcher.runOnce();
      if (!r2 || r2.from <= r2.to) throw new Error(`${kind.name}: an idle poll scanned blocks`);
      take(idle);
    }
    const watched = watcher.status().watched;
    const stored = db.prepare("SELECT count(*) FROM payments").pluck().get() as number;
    await watcher.stop();
    db.close();
    if (stored === 0) throw new Error(`${kind.name}: no deposit was stored`);
    return {
      kind: kind.name,
      size,
      watched,
      perBlock: perPass(block),
      perIdle: perPass(idle),
      pollMs: chain.poll_interval_ms,
    };
  } finally {
    await proxy.stop();
  }
}

async function evmKind(): Promise<Kind> {
  const node = await spawnAnvil({ chainId: 31337 });
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
  await rpc("evm_setAutomine", [false]);
  const iface = testTokenInterface();
  return {
    name: "EVM (Ethereum, 12 s blocks)",
    blockTimeS: 12,
    pollCallsPerAddress: "eth_getBalance + one balanceOf eth_call",
    pollCallsN: 2,
    chain: (url) => ({ kind: "evm", rpc: [url], chain_id: 31337 }),
    assets: [
      { id: "ETH", decimals: 18 },
      { id: "USDT", contract: token, decimals: 6 },
    ],
    addresses: async (n) =>
      Array.from({ length: n }, () => getAddress("0x" + randomBytes(20).toString("hex"))),
    async newBlock(to) {
      await rpc("eth_sendTransaction", [{ from: owner, to, value: "0x2386f26fc10000" }]);
      await rpc("eth_sendTransaction", [
        { from: owner, to: token, data: iface.encodeFunctionData("mint", [to, 1_000_000n]) },
      ]);
      await rpc("evm_mine");
    },
    target: node.url,
    stop: () => node.stop(),
  };
}

async function tronKind(): Promise<Kind> {
  let clock = Date.now() - 3600_000;
  const server = await startTronServer({ clock: () => clock });
  const usdt = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
  const payer = server.chain.newAccount();
  return {
    name: "Tron (3 s blocks)",
    blockTimeS: 3,
    pollCallsPerAddress: "getaccount + one triggerconstantcontract balanceOf",
    pollCallsN: 2,
    chain: (url) => ({ kind: "tron", rpc: [url] }),
    assets: [
      { id: "TRX", decimals: 6 },
      { id: "USDT-TRC20", contract: usdt, decimals: 6 },
    ],
    addresses: async (n) =>
      Array.from(
        { length: n },
        () => tronUtils.address.fromHex("41" + randomBytes(20).toString("hex")) as string,
      ),
    async newBlock(to) {
      server.chain.transferTrx(payer, to, 1_000_000);
      server.chain.transferTrc20(usdt, payer, to, 1_000_000n);
      clock += 3000;
      server.chain.mine();
    },
    target: server.url,
    stop: () => server.stop(),
  };
}

async function bitcoinKind(): Promise<Kind> {
  const node = await startBitcoind();
  await node.fund();
  const auth = node.auth;
  return {
    name: "Bitcoin (600 s blocks, Core backend)",
    blockTimeS: 600,
    pollCallsPerAddress: "one address lookup (Esplora /address/:a or scantxoutset)",
    pollCallsN: 1,
    chain: (url) => ({
      kind: "bitcoin",
      network: "regtest",
      rpc: [url.replace("http://", `http://${auth}@`)],
    }),
    assets: [{ id: "BTC", decimals: 8 }],
    addresses: async (n) => [
      await node.newAddress("bech32"),
      ...Array.from(
        { length: n - 1 },
        () => payments.p2wpkh({ hash: randomBytes(20), network: networks.regtest }).address!,
      ),
    ],
    async newBlock(to) {
      await node.send(to, "0.001");
      await node.mine(1);
    },
    target: node.rpcBase,
    stop: () => node.stop(),
  };
}

const fmt = (n: number) =>
  n >= 1e9
    ? `${Number((n / 1e9).toPrecision(3))} billion`
    : n >= 1e6
      ? `${Number((n / 1e6).toPrecision(3))} million`
      : Math.round(n).toLocaleString("en");

const ratio = (r: number) => (r >= 10 ? Math.round(r).toLocaleString("en") : r.toFixed(2));

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-rpc-cost-"));
  const rows: BenchRow[] = [];
  try {
    for (const make of [evmKind, tronKind, bitcoinKind]) {
      const kind = await make();
      const measured: Measured[] = [];
      try {
        for (const size of SIZES) measured.push(await follow(kind, size, dir));
      } finally {
        await kind.stop();
      }
      const pollMs = measured[0]!.pollMs;
      const polls = DAY_MS / pollMs;
      const blocks = 86_400 / kind.blockTimeS;
      // each poll that finds a new block costs a block pass; the others are idle polls
      const newBlockPolls = Math.min(blocks, polls);
      const perDay = (m: Measured, k: "requests" | "calls") =>
        newBlockPolls * m.perBlock[k] + (polls - newBlockPolls) * m.perIdle[k];
      for (const m of measured) {
        rows.push({
          bench: "rpc-cost",
          metric: `${kind.name}, ${m.watched.toLocaleString("en")} watched: per new block / per idle poll`,
          value: `${m.perBlock.requests.toFixed(2)} requests (${m.perBlock.calls.toFixed(2)} calls) / ${m.perIdle.requests.toFixed(2)} requests (${m.perIdle.calls.toFixed(2)} calls)`,
          note: `over ${BLOCKS} blocks, one idle poll after each; new block: ${methodList(m.perBlock)}; idle: ${methodList(m.perIdle)}`,
        });
      }
      const big = measured.at(-1)!;
      const idleShare = ((polls - newBlockPolls) * big.perIdle.calls) / perDay(big, "calls");
      const small = measured[0]!;
      rows.push({
        bench: "rpc-cost",
        metric: `${kind.name}: depositd per day at the tip (flat in watched addresses)`,
        value: `${fmt(perDay(big, "requests"))} requests, ${fmt(perDay(big, "calls"))} calls at ${big.watched.toLocaleString("en")} watched (${fmt(perDay(small, "calls"))} calls at ${small.watched})`,
        note: `poll_interval_ms ${pollMs} (default): ${fmt(polls)} polls/day, ${fmt(newBlockPolls)} with a new block (one every ${kind.blockTimeS} s); idle polls are ${(idleShare * 100).toFixed(0)} % of the calls; every other setting the default; passes run back to back (rpc_max_rps raised), counts scaled to the day`,
      });
      for (const n of POLLED) {
        const polling = n * kind.pollCallsN * blocks;
        const ours = perDay(big, "calls");
        rows.push({
          bench: "rpc-cost",
          metric: `${kind.name}: per-address balance polling, ${n.toLocaleString("en")} addresses, calls/day`,
          value: `${fmt(polling)} calls (${ratio(polling / ours)}× depositd)`,
          yardstick: `depositd ${fmt(ours)} calls/day`,
          note: `${kind.pollCallsPerAddress} per address, polled once per block (${fmt(blocks)} blocks/day)`,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
