// Optional never blocks required, and chain identity, on a real regtest bitcoind behind relays
// that rewrite some answers: a node whose mempool calls fail still gets its confirmed payments
// found; a failover URL on another network is quarantined; a node that says it is older than
// Bitcoin Core 22.0 is refused at init with a clear message.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createBitcoinAdapter } from "../../../src/chains/bitcoin/adapter.js";
import { NonRetryableError } from "../../../src/errors.js";
import { type BitcoindNode, startBitcoind } from "../../helpers/bitcoind.js";
import { type WatchHarness, createWatchHarness } from "../../helpers/watch-harness.js";
import { BTC, bitcoinChain } from "./setup.js";

type Item = { id: unknown; method: string; params?: unknown[] };
type Answer = { id: unknown; result?: unknown; error?: unknown };

let node: BitcoindNode;
let h: WatchHarness | undefined;
type Relay = { url: string; server: Server; down: boolean; methods: string[] };
let relay: Relay;
/** rewrites one call's answer (null: pass it through) */
let tamper: (call: Item, answer: Answer) => Answer | null = () => null;
const seen: string[] = [];

beforeAll(async () => {
  node = await startBitcoind();
  await node.fund();
  relay = await startRelay((c, a) => tamper(c, a));
});
/** forwards JSON-RPC (batches included) to the node with its credentials, answers rewritten;
 *  `down`: every request gets HTTP 502 */
async function startRelay(rewrite: (call: Item, answer: Answer) => Answer | null): Promise<Relay> {
  const r: Relay = { url: "", server: undefined as never, down: false, methods: [] };
  r.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (r.down) return void res.writeHead(502).end("bad gateway");
      const body = Buffer.concat(chunks).toString();
      void fetch(node.rpcBase, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: "Basic " + Buffer.from(node.auth).toString("base64"),
        },
        body,
      })
        .then(async (up) => {
          const calls = JSON.parse(body) as Item | Item[];
          const answers = JSON.parse(await up.text()) as Answer | Answer[];
          const list = Array.isArray(calls) ? calls : [calls];
          const byId = new Map((Array.isArray(answers) ? answers : [answers]).map((a) => [a.id, a]));
          const out = list.map((c) => {
            seen.push(c.method);
            r.methods.push(c.method);
            const a = byId.get(c.id)!;
            return rewrite(c, a) ?? a;
          });
          const text = JSON.stringify(Array.isArray(calls) ? out : out[0]);
          res.writeHead(200, { "content-type": "application/json" }).end(text);
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  return r;
}

afterEach(async () => {
  tamper = () => null;
  relay.down = false;
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  relay?.server.closeAllConnections();
  await new Promise((r) => relay?.server.close(r));
  await node?.stop();
});

describe("a node whose mempool calls fail", () => {
  test("default: confirmed payments are still found; each failed mempool read is counted and skipped", async () => {
    const pool = [await node.newAddress("bech32"), await node.newAddress("bech32")];
    h = createWatchHarness({
      poolText: pool.join("\n"),
      rates: { USD: { BTC: "100000" } },
      chain: {
        id: "btc",
        kind: "bitcoin",
        backend: "core",
        network: "regtest",
        rpc: [relay.url],
        mempool: true,
        poll_interval_ms: 50,
        start_block: (await node.height()) + 1,
        request_timeout_ms: 2000,
        pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
      },
      assets: [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 1 }],
    });
    const o = h.createOrder({ merchant_order_id: "M-1", currency: "BTC", amount: "0.1" });
    const failing = new Set(["getrawmempool", "getrawtransaction"]);
    tamper = (c, a) =>
      failing.has(c.method)
        ? { id: a.id, result: null, error: { code: -1, message: "mempool is busy" } }
        : null;
    const txid = await node.send(o.options[0]!.address, "0.1");
    await h.sync(200, { mempoolMayFail: true }); // a pass that reads the mempool first: it fails, the pass goes on
    expect(h.watcher.status().mempoolFailures).toBeGreaterThanOrEqual(1);
    expect(h.payments(o.id)).toEqual([]); // unconfirmed and the mempool unreadable: not seen yet
    await node.mine(1);
    await h.sync(200, { mempoolMayFail: true });
    expect(h.order(o.id)).toMatchObject({ status: "paid", paid_amount: "0.1" });
    expect(h.payments(o.id)).toEqual([expect.objectContaining({ txid, status: "confirmed" })]);
    expect(h.watcher.status().mempoolFailures).toBeGreaterThanOrEqual(2);
    expect(h.watcher.status().lastError).toBeNull();
    expect(seen).toContain("getrawmempool");
  });
});

describe("a failover URL on another Bitcoin network", () => {
  test("default: a node that says testnet (its genesis too) is quarantined at the failover and never scanned", async () => {
    const TESTNET3 = "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943";
    const testnet = await startRelay((c, a) =>
      c.method === "getblockchaininfo"
        ? { ...a, result: { ...(a.result as object), chain: "test" } }
        : c.method === "getblockhash" && (c.params ?? [])[0] === 0
          ? { ...a, result: TESTNET3 }
          : null,
    );
    const pool = [await node.newAddress("bech32")];
    h = createWatchHarness({
      poolText: pool.join("\n"),
      rates: { USD: { BTC: "100000" } },
      chain: {
        id: "btc",
        kind: "bitcoin",
        backend: "core",
        network: "regtest",
        rpc: [relay.url, testnet.url],
        poll_interval_ms: 50,
        start_block: (await node.height()) + 1,
        request_timeout_ms: 2000,
        pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
      },
      assets: [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 1 }],
    });
    try {
      const o = h.createOrder({ merchant_order_id: "N-1", currency: "BTC", amount: "0.1" });
      await h.sync();
      relay.down = true; // the first URL fails: failover
      await node.send(o.options[0]!.address, "0.1");
      await node.mine(1);
      await expect(h.watcher.runOnce()).rejects.toThrow(/HTTP 502/);
      expect(h.watcher.status().quarantined).toEqual([
        { url: testnet.url, reason: expect.stringMatching(/is on "test", config says network regtest/) },
      ]);
      relay.down = false;
      await h.sync();
      expect(h.order(o.id).status).toBe("paid"); // found through the first URL once it is back
      // the other network's URL was asked for its identity only
      expect(new Set(testnet.methods)).toEqual(
        new Set(["getblockchaininfo", "getblockhash", "getnetworkinfo"]),
      );
    } finally {
      testnet.server.closeAllConnections();
      await new Promise((r) => testnet.server.close(r));
    }
  });
});

describe("Bitcoin Core version", () => {
  test("error: a node older than 22.0 (it answers addresses[], not address) is refused at init, naming the version", async () => {
    tamper = (c, a) =>
      c.method === "getnetworkinfo"
        ? { ...a, result: { ...(a.result as object), version: 210000, subversion: "/Satoshi:0.21.0/" } }
        : null;
    const adapter = createBitcoinAdapter({ chain: bitcoinChain(relay.url), assets: BTC });
    try {
      const err = await adapter.init().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonRetryableError);
      expect((err as Error).message).toMatch(/\/Satoshi:0\.21\.0\/ \(version 210000\)/);
      expect((err as Error).message).toMatch(/needs Bitcoin Core 22\.0 or newer/);
      expect(adapter.quarantined?.()).toHaveLength(1);
    } finally {
      await adapter.close?.();
    }
  });

  test("behavior: the real regtest node (22.0 or newer) passes", async () => {
    const adapter = createBitcoinAdapter({ chain: bitcoinChain(relay.url), assets: BTC });
    try {
      await expect(adapter.init()).resolves.toMatchObject({
        genesis: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    } finally {
      await adapter.close?.();
    }
  });
});
