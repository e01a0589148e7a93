import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBitcoinAdapter } from "../../../src/chains/bitcoin/adapter.js";
import { type ChainAdapter, type Transfer } from "../../../src/chains/types.js";
import { NonRetryableError } from "../../../src/errors.js";
import { type AddressType, type BitcoindNode, freePort, startBitcoind } from "../../helpers/bitcoind.js";
import { BTC, bitcoinChain, manyAddresses, watchedSet } from "./setup.js";

let node: BitcoindNode;
let adapter: ChainAdapter;
const adapters: ChainAdapter[] = [];

function core(
  overrides: Parameters<typeof bitcoinChain>[1] = {},
  extra: { auth?: string; onRequest?: () => void } = {},
) {
  const a = createBitcoinAdapter({ chain: bitcoinChain(node.rpcUrl, overrides), assets: BTC, ...extra });
  adapters.push(a);
  return a;
}

/** The output index the node itself reports for `address` in `txid`. */
async function voutOf(txid: string, address: string): Promise<number> {
  const tx = await node.rpc<{ vout: Array<{ n: number; scriptPubKey: { address?: string } }> }>(
    "getrawtransaction",
    [txid, true, await node.rpc<string>("getbestblockhash")],
  );
  const out = tx.vout.find((o) => o.scriptPubKey.address === address);
  if (!out) throw new Error(`${address} not paid by ${txid}`);
  return out.n;
}

beforeAll(async () => {
  node = await startBitcoind();
  await node.fund();
  adapter = core();
  await adapter.init();
});

afterAll(async () => {
  for (const a of adapters) await a.close?.();
  await node?.stop();
});

describe("init", () => {
  test("default: a regtest node passes for network regtest", async () => {
    await expect(core().init()).resolves.toEqual({
      genesis: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
    });
  });

  test("error: network mismatch is refused at init", async () => {
    for (const network of ["mainnet", "testnet"] as const) {
      const err = await core({ network })
        .init()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NonRetryableError);
      expect((err as Error).message).toMatch(new RegExp(`"regtest", config says network ${network}`));
    }
  });

  test("args: credentials given apart (rpc_auth) instead of in the URL", async () => {
    const a = createBitcoinAdapter({ chain: bitcoinChain(node.rpcBase), assets: BTC, auth: node.auth });
    adapters.push(a);
    await expect(a.heads()).resolves.toEqual({ head: await node.height() });
  });

  test("behavior: an unreachable first URL fails over to the next", async () => {
    const dead = `http://${node.auth}@127.0.0.1:${await freePort()}`;
    const a = createBitcoinAdapter({ chain: bitcoinChain(dead, { rpc: [dead, node.rpcUrl] }), assets: BTC });
    adapters.push(a);
    await a.init();
    expect(await a.heads()).toEqual({ head: await node.height() });
  });

  test("error: a wrong password says so and is not retried for long", async () => {
    const a = createBitcoinAdapter({
      chain: bitcoinChain(node.rpcBase),
      assets: BTC,
      auth: "depositd:wrong",
    });
    adapters.push(a);
    const started = Date.now();
    await expect(a.init()).rejects.toThrow(/HTTP 401 \(wrong RPC user\/password\?\)/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("error: no native asset configured for the chain", () => {
    expect(() => createBitcoinAdapter({ chain: bitcoinChain(node.rpcUrl), assets: [] })).toThrow(
      /no asset without a contract/,
    );
  });
});

describe("scan", () => {
  const payments: Array<{ type: AddressType; btc: string; sats: bigint }> = [
    { type: "bech32", btc: "0.12345678", sats: 12345678n },
    { type: "legacy", btc: "1.00000001", sats: 100000001n },
    { type: "p2sh-segwit", btc: "0.3", sats: 30000000n },
    { type: "bech32m", btc: "2.99999999", sats: 299999999n },
  ];

  test("default: payments to watched p2wpkh, p2pkh, p2sh-p2wpkh and p2tr addresses, exact satoshi", async () => {
    const sent: Array<{ address: string; txid: string; sats: bigint }> = [];
    for (const p of payments) {
      const address = await node.newAddress(p.type);
      sent.push({ address, txid: await node.send(address, p.btc), sats: p.sats });
    }
    const unwatched = await node.newAddress("bech32");
    const unwatchedTxid = await node.send(unwatched, "0.5");
    const [hash] = await node.mine(1);
    const height = await node.height();

    const result = await adapter.scan(height, height, watchedSet(sent.map((s) => s.address)));

    const header = await node.rpc<{ previousblockhash: string; time: number }>("getblockheader", [hash]);
    expect(result.blocks).toEqual([
      { number: height, hash, parentHash: header.previousblockhash, timestamp: header.time * 1000 },
    ]);
    const expected: Transfer[] = [];
    for (const s of sent) {
      expected.push({
        txid: s.txid,
        index: await voutOf(s.txid, s.address),
        via: "output",
        asset: "BTC",
        address: s.address,
        amount: s.sats,
        block: { number: height, hash: hash!, timestamp: header.time * 1000 },
      });
    }
    const byKey = (a: Transfer, b: Transfer) => (a.txid + a.index).localeCompare(b.txid + b.index);
    expect([...result.transfers].sort(byKey)).toEqual(expected.sort(byKey));
    expect(result.transfers.some((t) => t.txid === unwatchedTxid)).toBe(false);
    for (const t of result.transfers) expect(typeof t.amount).toBe("bigint");
  });

  test("behavior: unwatched payments and change are ignored; an empty watched set finds nothing", async () => {
    const address = await node.newAddress("bech32");
    await node.send(address, "0.7");
    await node.mine(1);
    const height = await node.height();
    expect((await adapter.scan(height, height, watchedSet([]))).transfers).toEqual([]);
    expect((await adapter.scan(height, height, watchedSet(manyAddresses(50)))).transfers).toEqual([]);
    const found = await adapter.scan(height, height, watchedSet([address]));
    expect(found.transfers.map((t) => t.amount)).toEqual([70000000n]);
  });

  test("behavior: coinbase outputs to a watched address count as payments", async () => {
    const address = await node.newAddress("bech32");
    const [hash] = await node.mine(1, address);
    const height = await node.height();
    const { transfers } = await adapter.scan(height, height, watchedSet([address]));
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.block!.hash).toBe(hash);
    expect(transfers[0]!.index).toBe(0);
    // Regtest subsidy at this height (halving every 150 blocks) plus no fees: exact base units.
    const subsidy = 5_000_000_000n >> BigInt(Math.floor(height / 150));
    expect(transfers[0]!.amount).toBe(subsidy);
  });

  test("behavior: a range comes back linked, one BlockRef per height", async () => {
    const tip = await node.height();
    const from = tip - 40;
    const { blocks } = await adapter.scan(from, tip, watchedSet([]));
    expect(blocks.map((b) => b.number)).toEqual(Array.from({ length: 41 }, (_, i) => from + i));
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]!.parentHash).toBe(blocks[i - 1]!.hash);
    expect(blocks[blocks.length - 1]!.hash).toBe(await node.rpc("getbestblockhash"));
    expect(await adapter.scan(tip, tip - 1, watchedSet([]))).toEqual({ blocks: [], transfers: [] });
  });

  test("behavior: HTTP requests do not grow with watched.size and go out as batches", async () => {
    const tip = await node.height();
    const from = tip - 29;
    const counted = async (watchedCount: number) => {
      let requests = 0;
      const a = core({}, { onRequest: () => requests++ });
      await a.scan(from, tip, watchedSet(manyAddresses(watchedCount)));
      return requests;
    };
    const one = await counted(1);
    expect(await counted(10_000)).toBe(one);
    // the URL's identity check once, 30 hashes in one batch, 30 verbose blocks in batches of 10.
    expect(one).toBe(1 + 1 + 3);
  });

  test("error: a range past the tip fails (retryable) instead of returning a short result", async () => {
    const tip = await node.height();
    const err = await adapter.scan(tip, tip + 1, watchedSet([])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toMatch(/beyond the node's tip/);
  });
});

describe("heads and block", () => {
  test("default: heads is the node's block count; block(n) is its identity", async () => {
    const tip = await node.height();
    expect(await adapter.heads()).toEqual({ head: tip });
    const hash = await node.rpc<string>("getblockhash", [tip]);
    const header = await node.rpc<{ previousblockhash: string; time: number }>("getblockheader", [hash]);
    expect(await adapter.block(tip)).toEqual({
      number: tip,
      hash,
      parentHash: header.previousblockhash,
      timestamp: header.time * 1000,
    });
    expect(await adapter.block(tip + 1)).toBeNull();
    expect((await adapter.block(0))!.parentHash).toBe("0".repeat(64));
  });

  test("behavior: after invalidateblock the same height has a different hash (reorg visible)", async () => {
    await node.mine(2);
    const tip = await node.height();
    const before = (await adapter.block(tip))!;
    const parent = (await adapter.block(tip - 1))!;
    await node.rpc("invalidateblock", [before.hash]);
    expect(await adapter.block(tip)).toBeNull();
    expect(await adapter.heads()).toEqual({ head: tip - 1 });
    await node.mine(1, await node.newAddress("bech32m"));
    const after = (await adapter.block(tip))!;
    expect(after.hash).not.toBe(before.hash);
    expect(after.parentHash).toBe(parent.hash);
    const { blocks } = await adapter.scan(tip - 1, tip, watchedSet([]));
    expect(blocks.map((b) => b.hash)).toEqual([parent.hash, after.hash]);
  });
});

describe("mempool", () => {
  test("args: absent unless the chain config enables it", () => {
    expect(adapter.mempool).toBeUndefined();
    expect(core({ mempool: true }).mempool).toBeTypeOf("function");
  });

  test("behavior: an unconfirmed payment is seen; after bumpfee only the replacement is", async () => {
    const watcher = core({ mempool: true });
    await node.mine(1); // nothing of earlier tests left in the mempool
    const address = await node.newAddress("bech32");
    const watched = watchedSet([address]);
    expect(await watcher.mempool!(watched)).toEqual([]);

    // replaceable = true (positional: comment, comment_to, subtractfeefromamount, replaceable)
    const original = await node.rpc<string>(
      "sendtoaddress",
      [address, "0.25", "", "", false, true],
      node.wallet,
    );
    const index = await (async () => {
      const tx = await node.rpc<{ vout: Array<{ n: number; scriptPubKey: { address?: string } }> }>(
        "getrawtransaction",
        [original, true],
      );
      return tx.vout.find((o) => o.scriptPubKey.address === address)!.n;
    })();
    expect(await watcher.mempool!(watched)).toEqual([
      { txid: original, index, via: "output", asset: "BTC", address, amount: 25000000n, block: null },
    ]);
    // Unwatched mempool transactions are not reported.
    expect(await watcher.mempool!(watchedSet(manyAddresses(10)))).toEqual([]);

    const bumped = await node.rpc<{ txid: string }>("bumpfee", [original], node.wallet);
    expect(bumped.txid).not.toBe(original);
    const pool = await node.rpc<string[]>("getrawmempool");
    expect(pool).toContain(bumped.txid);
    expect(pool).not.toContain(original);
    const seen = await watcher.mempool!(watched);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ txid: bumped.txid, address, amount: 25000000n, block: null });

    // Mined: it leaves the mempool, and the block scan reports it instead.
    await node.mine(1);
    expect(await watcher.mempool!(watched)).toEqual([]);
    const height = await node.height();
    const { transfers } = await watcher.scan(height, height, watched);
    expect(transfers.map((t) => [t.txid, t.amount])).toEqual([[bumped.txid, 25000000n]]);
  });

  test("behavior: each pass fetches only transactions it has not seen", async () => {
    let requests = 0;
    const watcher = core({ mempool: true }, { onRequest: () => requests++ });
    const address = await node.newAddress("bech32");
    for (let i = 0; i < 5; i++) await node.send(await node.newAddress("bech32"), "0.01");
    await node.send(address, "0.02");
    const watched = watchedSet([address]);
    expect((await watcher.mempool!(watched)).map((t) => t.amount)).toEqual([2000000n]);
    expect(requests).toBe(3); // identity check (once) + getrawmempool + one batch of getrawtransaction
    requests = 0;
    expect((await watcher.mempool!(watched)).map((t) => t.amount)).toEqual([2000000n]);
    expect(requests).toBe(1); // nothing new: getrawmempool only
    await node.mine(1);
  });
});
