import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TRON_BLOCKS_PER_REQUEST, createTronAdapter } from "../../../src/chains/tron/adapter.js";
import { type ChainAdapter, type WatchedSet } from "../../../src/chains/types.js";
import { RetryableError } from "../../../src/errors.js";
import type { AssetConfig, ChainConfig } from "../../../src/config/schema.js";
import { type TronServer, rawReply, startTronServer } from "../../helpers/tron-server.js";
import { CHAIN_TEST_DEFAULTS } from "../../helpers/config.js";

const USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const OTHER_TOKEN = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf"; // a real contract, not configured here

function tronChain(url: string): Extract<ChainConfig, { kind: "tron" }> {
  return {
    id: "tron",
    kind: "tron",
    rpc: [url],
    ...CHAIN_TEST_DEFAULTS,
  };
}
const ASSETS: AssetConfig[] = [
  { id: "TRX", chain: "tron", decimals: 6, confirmations: 19, enabled: true },
  {
    id: "USDT-TRC20",
    chain: "tron",
    contract: USDT,
    decimals: 6,
    confirmations: "solidified",
    enabled: true,
  },
  { id: "ETH", chain: "eth", decimals: 18, confirmations: 12, enabled: true },
];

function watching(...addresses: string[]): WatchedSet {
  const set = new Set(addresses);
  return { has: (a) => set.has(a), size: set.size };
}

let server: TronServer;
let adapter: ChainAdapter;
let calls: string[];

beforeAll(async () => {
  server = await startTronServer({ initialBlocks: 30 });
});
afterAll(async () => {
  await adapter?.close?.();
  await server.stop();
});
beforeEach(async () => {
  await adapter?.close?.();
  calls = [];
  adapter = createTronAdapter({
    chain: tronChain(server.url),
    assets: ASSETS,
    apiKey: "k-123",
    onRequest: (url, ok) => calls.push(`${url} ${ok}`),
  });
  server.override("/wallet/getblockbylimitnext", undefined);
  server.override("/wallet/gettransactioninfobyblocknum", undefined);
  server.override("/wallet/getnowblock", undefined);
});

/** mine the pending transactions into one block and scan just it */
async function mineAndScan(watched: WatchedSet) {
  const n = server.chain.mine();
  return { n, ...(await adapter.scan(n, n, watched)) };
}

describe("createTronAdapter", () => {
  it("init and heads: head from /wallet, solid from /walletsolidity, API key sent", async () => {
    await adapter.init();
    const { chain } = server;
    expect(await adapter.heads()).toEqual({ head: chain.head, solid: chain.head - 19 });
    chain.solidLag = 3;
    expect(await adapter.heads()).toEqual({ head: chain.head, solid: chain.head - 3 });
    chain.solidLag = 19;
    const last = server.requests.slice(-4);
    expect(last.map((r) => r.path).sort()).toEqual([
      "/wallet/getnowblock",
      "/wallet/getnowblock",
      "/walletsolidity/getnowblock",
      "/walletsolidity/getnowblock",
    ]);
    expect(last.every((r) => r.headers["tron-pro-api-key"] === "k-123")).toBe(true);
    expect(calls).toHaveLength(6); // + the URL's identity check (block 0), once
    expect(calls.every((c) => c === `${server.url} true`)).toBe(true);
  });

  it("args: solidityRpc sends /walletsolidity/* to another base URL (java-tron's port 8091)", async () => {
    // the solidity port of the same node: a relay to the test server that records its paths
    // (a server of its own would be another chain, and is refused: see the chain identity tests)
    const paths: string[] = [];
    const relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        paths.push(req.url ?? "");
        void fetch(server.url + (req.url ?? ""), { method: "POST", body: Buffer.concat(chunks) })
          .then(async (r) =>
            res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text()),
          )
          .catch(() => res.destroy());
      });
    });
    await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
    const other = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    const split = createTronAdapter({
      chain: tronChain(server.url),
      assets: ASSETS,
      solidityRpc: [other],
    });
    try {
      const before = server.requests.length;
      expect(await split.heads()).toEqual({ head: server.chain.head, solid: server.chain.head - 19 });
      // identity (block 0) first, then the solidified head; the full node is asked for its own head
      expect(paths).toEqual(["/walletsolidity/getblockbynum", "/walletsolidity/getnowblock"]);
      expect(
        server.requests
          .slice(before)
          .map((r) => r.path)
          .sort(),
      ).toEqual([
        "/wallet/getblockbynum",
        "/wallet/getnowblock",
        "/walletsolidity/getblockbynum",
        "/walletsolidity/getnowblock",
      ]);
    } finally {
      await split.close?.();
      await new Promise((r) => relay.close(r));
    }
  });

  it("block: identity of a block, null above the head, genesis without number", async () => {
    const { chain } = server;
    const ref = await adapter.block(chain.head);
    expect(ref).toMatchObject({
      number: chain.head,
      hash: chain.blockId(chain.head),
      parentHash: chain.blockId(chain.head - 1),
    });
    expect(await adapter.block(chain.head + 1)).toBeNull();
    expect((await adapter.block(0))!.hash).toBe(chain.blockId(0));
  });

  it("TRX: a TransferContract into a watched address", async () => {
    const { chain } = server;
    const [payer, shop] = [chain.newAccount(), chain.newAccount()];
    const txid = chain.transferTrx(payer, shop.address, 12_345_678n);
    const { n, transfers, blocks } = await mineAndScan(watching(shop.address));
    expect(blocks).toEqual([
      expect.objectContaining({ number: n, hash: chain.blockId(n), parentHash: chain.blockId(n - 1) }),
    ]);
    expect(transfers).toEqual([
      {
        txid,
        index: 0,
        via: "transaction",
        asset: "TRX",
        address: shop.address,
        amount: 12_345_678n,
        block: { number: n, hash: chain.blockId(n), timestamp: blocks[0]!.timestamp },
      },
    ]);
  });

  it("TRX: an amount above 2^53 sun is exact (read from the signed bytes)", async () => {
    const { chain } = server;
    const shop = chain.newAccount();
    chain.transferTrx(chain.newAccount(), shop.address, 100_000_000_000_000_001n);
    const { transfers } = await mineAndScan(watching(shop.address));
    expect(transfers.map((t) => t.amount)).toEqual([100_000_000_000_000_001n]);
  });

  it("TRX: a transaction whose result is not SUCCESS does not count", async () => {
    const { chain } = server;
    const shop = chain.newAccount();
    chain.transferTrx(chain.newAccount(), shop.address, 5n, { contractRet: "REVERT" });
    expect((await mineAndScan(watching(shop.address))).transfers).toEqual([]);
  });

  it("TRC-20: a Transfer log of a configured token, index = position in the tx's logs", async () => {
    const { chain } = server;
    const [payer, shop] = [chain.newAccount(), chain.newAccount()];
    const txid = chain.transferTrc20(USDT, payer, shop.address, 2n ** 70n + 7n);
    const { n, transfers } = await mineAndScan(watching(shop.address));
    expect(transfers).toEqual([
      expect.objectContaining({
        txid,
        index: 0,
        asset: "USDT-TRC20",
        address: shop.address,
        amount: 2n ** 70n + 7n,
      }),
    ]);
    expect(transfers[0]!.block!.hash).toBe(chain.blockId(n));
  });

  it("TRC-20: REVERT and OUT_OF_ENERGY do not count, even when a node shows the log", async () => {
    const { chain } = server;
    const [payer, shop] = [chain.newAccount(), chain.newAccount()];
    for (const result of ["FAILED", "OUT_OF_ENERGY"] as const) {
      chain.transferTrc20(USDT, payer, shop.address, 10n, { result });
      chain.transferTrc20(USDT, payer, shop.address, 11n, { result, keepLogOnFailure: true });
    }
    const ok = chain.transferTrc20(USDT, payer, shop.address, 12n);
    const { transfers } = await mineAndScan(watching(shop.address));
    expect(transfers.map((t) => [t.txid, t.amount])).toEqual([[ok, 12n]]);
  });

  it("TRC-20: transferFrom by a contract counts from the log, not the call data", async () => {
    const { chain } = server;
    const [payer, shop] = [chain.newAccount(), chain.newAccount()];
    const txid = chain.transferTrc20(USDT, payer, shop.address, 777n, { viaContract: true });
    const { transfers } = await mineAndScan(watching(shop.address));
    expect(transfers).toEqual([
      expect.objectContaining({ txid, index: 1, asset: "USDT-TRC20", address: shop.address, amount: 777n }),
    ]);
  });

  it("ignores TRC-10, unconfigured token contracts and unwatched recipients", async () => {
    const { chain } = server;
    const [payer, shop, stranger] = [chain.newAccount(), chain.newAccount(), chain.newAccount()];
    chain.transferTrc10(payer, shop.address, 1000n);
    chain.transferTrc20(OTHER_TOKEN, payer, shop.address, 1000n);
    chain.transferTrc20(USDT, payer, stranger.address, 1000n);
    chain.transferTrx(payer, stranger.address, 1000n);
    const { transfers } = await mineAndScan(watching(shop.address));
    expect(transfers).toEqual([]);
    // the same block does have them for whoever watches the stranger
    const again = await adapter.scan(chain.head, chain.head, watching(stranger.address));
    expect(again.transfers.map((t) => t.asset).sort()).toEqual(["TRX", "USDT-TRC20"]);
  });

  it("scan over several 100-block requests: every block, in order, chained", async () => {
    const { chain } = server;
    const shop = chain.newAccount();
    const from = chain.head + 1;
    const expected: Array<[number, bigint]> = [];
    for (let i = 0; i < 250; i++) {
      if (i % 60 === 0) {
        chain.transferTrx(chain.newAccount(), shop.address, BigInt(i + 1));
        expected.push([from + i, BigInt(i + 1)]);
      }
      chain.mine();
    }
    const to = chain.head;
    const before = server.requests.length;
    const { blocks, transfers } = await adapter.scan(from, to, watching(shop.address));
    expect(blocks.map((b) => b.number)).toEqual(Array.from({ length: 250 }, (_, i) => from + i));
    blocks.forEach((b, i) => i > 0 && expect(b.parentHash).toBe(blocks[i - 1]!.hash));
    expect(transfers.map((t) => [t.block!.number, t.amount])).toEqual(expected);
    const paths = server.requests.slice(before).map((r) => r.path);
    expect(paths.filter((p) => p === "/wallet/getblockbylimitnext")).toHaveLength(
      Math.ceil(250 / TRON_BLOCKS_PER_REQUEST),
    );
    // no contract calls in these blocks: no info requests at all
    expect(paths).not.toContain("/wallet/gettransactioninfobyblocknum");
  });

  it("requests per scan do not grow with the watched set", async () => {
    const { chain } = server;
    const payer = chain.newAccount();
    const shops = Array.from({ length: 5 }, () => chain.newAccount());
    const from = chain.head + 1;
    for (let i = 0; i < 120; i++) {
      if (i % 10 === 0) chain.transferTrc20(USDT, payer, shops[i % 5]!.address, 1n);
      if (i % 7 === 0) chain.transferTrx(payer, shops[i % 5]!.address, 1n);
      chain.mine();
    }
    const to = chain.head;
    await adapter.init(); // the URL's identity check, once, is not part of a scan
    const count = async (watched: WatchedSet) => {
      const before = server.requests.length;
      const r = await adapter.scan(from, to, watched);
      return { requests: server.requests.length - before, found: r.transfers.length };
    };
    const one = await count(watching(shops[0]!.address));
    const many = await count(
      watching(...shops.map((s) => s.address), ...Array.from({ length: 10_000 }, (_, i) => `T${i}`)),
    );
    expect(one.requests).toBe(many.requests);
    // 2 block-list requests + one info request per block with a contract call (12)
    expect(many.requests).toBe(2 + 12);
    expect(many.found).toBe(12 + Math.ceil(120 / 7));
    expect(one.found).toBeLessThan(many.found);
  });

  it("error: a block missing from getblockbylimitnext → RetryableError", async () => {
    const { chain } = server;
    chain.mine(5);
    server.override("/wallet/getblockbylimitnext", (_body, answer) => {
      const a = answer() as { block: unknown[] };
      return { block: a.block.filter((_, i) => i !== 2) };
    });
    await expect(adapter.scan(chain.head - 4, chain.head, watching())).rejects.toThrow(RetryableError);
    await expect(adapter.scan(chain.head - 4, chain.head, watching())).rejects.toThrow(/missing/);
  });

  it("error: blocks that do not chain, or a range beyond the head → RetryableError", async () => {
    const { chain } = server;
    chain.mine(3);
    const top = chain.head;
    await expect(adapter.scan(top - 1, top + 2, watching())).rejects.toThrow(/got 2 of 4/);
    server.override("/wallet/getblockbylimitnext", (_body, answer) => {
      const a = answer() as { block: Array<{ block_header: { raw_data: { parentHash: string } } }> };
      const copy = structuredClone(a);
      copy.block[1]!.block_header.raw_data.parentHash = "ab".repeat(32);
      return copy;
    });
    await expect(adapter.scan(top - 2, top, watching())).rejects.toThrow(/does not follow/);
  });

  it("error: garbage or inconsistent transaction infos → RetryableError", async () => {
    const { chain } = server;
    const shop = chain.newAccount();
    chain.transferTrc20(USDT, chain.newAccount(), shop.address, 5n);
    const n = chain.mine();
    for (const bad of [
      [],
      { Error: "busy" },
      [{ id: "nothex" }],
      [{ ...chain.infosJson(n)[0], blockNumber: n + 1 }],
    ]) {
      server.override("/wallet/gettransactioninfobyblocknum", () => bad);
      await expect(adapter.scan(n, n, watching(shop.address))).rejects.toThrow(RetryableError);
    }
    server.override("/wallet/gettransactioninfobyblocknum", undefined);
    expect((await adapter.scan(n, n, watching(shop.address))).transfers).toHaveLength(1);
  });

  it("error: HTTP failures and a garbage head surface as RetryableError", async () => {
    server.override("/wallet/getnowblock", () => rawReply(502, "bad gateway"));
    await expect(adapter.heads()).rejects.toThrow(RetryableError);
    server.override("/wallet/getnowblock", () => ({ blockID: "xyz" }));
    await expect(adapter.init()).rejects.toThrow(RetryableError);
  });

  it("reorg: the same number comes back with another hash; a re-added tx moves block", async () => {
    const { chain } = server;
    const shop = chain.newAccount();
    const txid = chain.transferTrx(chain.newAccount(), shop.address, 9n);
    const n = chain.mine();
    chain.mine(2);
    const first = await adapter.scan(n, n + 2, watching(shop.address));
    chain.reorg(3, { readd: true, length: 4 });
    const second = await adapter.scan(n, n + 3, watching(shop.address));
    expect(second.blocks[0]!.hash).not.toBe(first.blocks[0]!.hash);
    expect(second.blocks[0]!.parentHash).toBe(first.blocks[0]!.parentHash);
    expect(second.transfers).toEqual([
      expect.objectContaining({ txid, amount: 9n, block: expect.objectContaining({ number: n }) }),
    ]);
    expect(second.transfers[0]!.block!.hash).toBe(chain.blockId(n));
  });

  it("args: only this chain's assets; a bad token contract is a config error", () => {
    expect(() =>
      createTronAdapter({
        chain: tronChain(server.url),
        assets: [{ ...ASSETS[1]!, contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u" }],
      }),
    ).toThrow(/USDT-TRC20.*checksum/);
  });
});
