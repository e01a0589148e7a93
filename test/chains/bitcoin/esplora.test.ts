import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createBitcoinAdapter } from "../../../src/chains/bitcoin/adapter.js";
import { type ChainAdapter } from "../../../src/chains/types.js";
import { NonRetryableError } from "../../../src/errors.js";
import { type BitcoindNode, startBitcoind } from "../../helpers/bitcoind.js";
import { type EsploraServer, startEsploraServer } from "../../helpers/esplora-server.js";
import { BTC, bitcoinChain, manyAddresses, watchedSet } from "./setup.js";

let node: BitcoindNode;
let server: EsploraServer;
let esplora: ChainAdapter;
let core: ChainAdapter;
const watchedAddresses: string[] = [];
let first = 0;
let last = 0;

beforeAll(async () => {
  node = await startBitcoind();
  // 30 mature coinbases: 30 payments in one block spend 30 different confirmed coins, so no
  // unconfirmed chain gets too long and the block needs two Esplora pages (25 per page).
  await node.mine(130);
  server = await startEsploraServer(node);
  esplora = createBitcoinAdapter({ chain: bitcoinChain(server.url, { backend: "esplora" }), assets: BTC });
  core = createBitcoinAdapter({ chain: bitcoinChain(node.rpcUrl), assets: BTC });
  first = (await node.height()) + 1;

  const types = ["bech32", "legacy", "p2sh-segwit", "bech32m"] as const;
  for (let i = 0; i < 30; i++) {
    const address = await node.newAddress(types[i % types.length]);
    if (i % 3 !== 0) watchedAddresses.push(address); // some payments go to addresses nobody watches
    await node.send(address, `0.00${100000 + i}`); // 100000 + i satoshi
  }
  await node.mine(1);
  const payee = await node.newAddress("bech32m");
  watchedAddresses.push(payee);
  await node.send(payee, "3.14159265");
  await node.mine(1, payee); // the coinbase pays a watched address too
  await node.mine(2);
  last = await node.height();
}, 60_000);

afterAll(async () => {
  await esplora?.close?.();
  await core?.close?.();
  await server?.stop();
  await node?.stop();
});

describe("esplora backend", () => {
  test("default: init accepts a regtest server; heads and block match the node", async () => {
    await esplora.init();
    expect(await esplora.heads()).toEqual({ head: last });
    expect(await esplora.block(last)).toEqual(await core.block(last));
    expect(await esplora.block(first)).toEqual(await core.block(first));
    expect(await esplora.block(last + 1)).toBeNull();
    expect((await esplora.block(0))!.parentHash).toBe("0".repeat(64));
  });

  test("error: a server of another network is refused at init", async () => {
    const wrong = createBitcoinAdapter({
      chain: bitcoinChain(server.url, { backend: "esplora", network: "mainnet" }),
      assets: BTC,
    });
    const err = await wrong.init().catch((e: unknown) => e);
    await wrong.close?.();
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toMatch(/genesis 0f9188f1.*not mainnet/);
  });

  test("behavior: the same range gives the same blocks and transfers as Bitcoin Core", async () => {
    const watched = watchedSet(watchedAddresses);
    const fromCore = await core.scan(first - 1, last, watched);
    const fromEsplora = await esplora.scan(first - 1, last, watched);
    expect(fromEsplora).toEqual(fromCore);
    // 20 of 30 in the busy block, 1 in the next, plus one coinbase.
    expect(fromCore.transfers).toHaveLength(22);
    const busy = await node.rpc<{ nTx: number }>("getblock", [fromCore.blocks[1]!.hash, 1]);
    expect(busy.nTx).toBeGreaterThan(25);
    expect(fromCore.transfers.find((t) => t.amount === 314159265n)).toBeDefined();
    expect(fromCore.transfers.filter((t) => t.address === watchedAddresses.at(-1))).toHaveLength(2); // payment + coinbase
    const amounts = fromCore.transfers.map((t) => t.amount);
    for (let i = 0; i < 30; i++) {
      if (i % 3 !== 0) expect(amounts).toContain(BigInt(100000 + i));
    }
  });

  test("behavior: requests grow with blocks and their transactions, not with watched.size", async () => {
    const count = async (watchedCount: number) => {
      const before = server.requests.length;
      await esplora.scan(first, last, watchedSet(manyAddresses(watchedCount)));
      return server.requests.length - before;
    };
    const one = await count(1);
    expect(await count(10_000)).toBe(one);
    // per block: its hash, its header, one page per 25 transactions (the busy block has two)
    const blocks = last - first + 1;
    expect(one).toBe(blocks * 3 + 1);
    expect(server.requests.some((p) => /\/txs\/25$/.test(p))).toBe(true);
  });

  test("error: a range past the tip fails instead of returning a short result", async () => {
    await expect(esplora.scan(last, last + 1, watchedSet([]))).rejects.toThrow(
      /beyond the Esplora server's tip/,
    );
  });
});
