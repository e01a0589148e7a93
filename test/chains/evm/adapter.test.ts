import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EvmChainConfig, createEvmAdapter } from "../../../src/chains/evm/adapter.js";
import { addressOf, chainConfig, watchedSet } from "./common.js";
import { createEvmAddressCodec } from "../../../src/chains/evm/address.js";
import { testTokenInterface } from "../../../src/dev/test-token.js";
import { type ScanResult, type WatchedSet } from "../../../src/chains/types.js";
import { NonRetryableError, RetryableError } from "../../../src/errors.js";
import type { AssetConfig } from "../../../src/config/schema.js";
import { type TestAnvil, startAnvil } from "../../helpers/anvil.js";
import { type EvmKit, createEvmKit } from "../../helpers/evm.js";
import { startFlakyProxy, startTamperProxy } from "../../helpers/flaky-proxy.js";

const ETH = 10n ** 18n;

let anvil: TestAnvil;
let kit: EvmKit;
let usdt: string; // configured token
let other: string; // a token nobody configured
let assets: AssetConfig[];
let snapshot: string;

const w1 = addressOf("watched-1");
const w2 = addressOf("watched-2");
const w3 = addressOf("watched-3");
const stranger = addressOf("not-watched");
const watched = watchedSet([w1, w2, w3]);

beforeAll(async () => {
  anvil = await startAnvil({ args: ["--slots-in-an-epoch", "2"] });
  kit = await createEvmKit(anvil.url);
  usdt = await kit.deployToken({ decimals: 6, symbol: "USDT" });
  other = await kit.deployToken({ decimals: 18, symbol: "OTHER" });
  await kit.mintToken(usdt, kit.accounts[1]!, 1_000_000_000n);
  await kit.mintToken(other, kit.accounts[1]!, 1_000_000_000n);
  assets = [
    { id: "ETH", chain: "anvil", decimals: 18, confirmations: 1, enabled: true },
    // configured in EIP-55 form on purpose: the adapter must match it lower-cased
    {
      id: "USDT-ERC20",
      chain: "anvil",
      contract: checksum(usdt),
      decimals: 6,
      confirmations: 1,
      enabled: true,
    },
    { id: "ETH-OTHERCHAIN", chain: "other", decimals: 18, confirmations: 1, enabled: true },
  ];
});

afterAll(async () => {
  kit?.close();
  await anvil?.stop();
});

beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
});
afterEach(async () => {
  await anvil.rpc("evm_revert", [snapshot]);
});

const checksum = (a: string) => createEvmAddressCodec().parse(a).display;

/** A mix of transfers: what counts and what must not. Returns the expected transfers. */
async function makeTraffic() {
  const from = (await kit.blockNumber()) + 1;
  const a = kit.accounts[1]!;
  const eth1 = await kit.sendEth(w1, (15n * ETH) / 10n, a);
  const tok1 = await kit.sendToken(usdt, w2, 1_234_567n, a);
  const tok2 = await kit.sendToken(usdt, w1, 5n, a);
  await kit.sendEth(stranger, ETH, a); // unwatched
  await kit.sendToken(usdt, stranger, 99n, a); // unwatched
  await kit.sendToken(other, w1, 777n, a); // unconfigured token
  await kit.sendEth(w1, 0n, a); // zero value moves nothing
  const failedEth = await kit.sendEthReverting(w3, ETH, a);
  const failedTok = await kit.sendTokenReverting(usdt, w2, 10n, a);
  expect(failedEth.status).toBe("reverted");
  expect(failedTok.status).toBe("reverted");
  await kit.mine(2);
  const to = await kit.blockNumber();
  const expected = [
    { tx: eth1, asset: "ETH", address: w1, amount: (15n * ETH) / 10n, index: 0 },
    { tx: tok1, asset: "USDT-ERC20", address: w2, amount: 1_234_567n, index: tok1.logIndexes[0]! },
    { tx: tok2, asset: "USDT-ERC20", address: w1, amount: 5n, index: tok2.logIndexes[0]! },
  ];
  return { from, to, expected };
}

async function expectMatches(
  result: ScanResult,
  from: number,
  to: number,
  expected: Awaited<ReturnType<typeof makeTraffic>>["expected"],
) {
  expect(result.blocks.map((b) => b.number)).toEqual(
    Array.from({ length: to - from + 1 }, (_, i) => from + i),
  );
  for (let i = 1; i < result.blocks.length; i++)
    expect(result.blocks[i]!.parentHash).toBe(result.blocks[i - 1]!.hash);
  const out = [];
  for (const e of expected) {
    const block = await anvil.rpc<{ hash: string; timestamp: string }>("eth_getBlockByNumber", [
      "0x" + e.tx.blockNumber.toString(16),
      false,
    ]);
    out.push({
      txid: e.tx.hash,
      index: e.index,
      via: e.asset === "ETH" ? "transaction" : "log",
      asset: e.asset,
      address: e.address,
      amount: e.amount,
      block: { number: e.tx.blockNumber, hash: block.hash, timestamp: Number(block.timestamp) * 1000 },
    });
  }
  expect(result.transfers).toEqual(out);
}

describe("createEvmAdapter", () => {
  it("init checks the chain id", async () => {
    const good = createEvmAdapter({ chain: chainConfig(anvil.url), assets });
    await expect(good.init()).resolves.toEqual({ genesis: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const wrong = createEvmAdapter({ chain: chainConfig(anvil.url, { chain_id: 1 }), assets });
    const err = await wrong.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toMatch(/31337/);
    expect((err as Error).message).toMatch(/chain_id 1\b/);
    await good.close?.();
    await wrong.close?.();
  });

  it("scan finds ETH and ERC-20 transfers into watched addresses and nothing else", async () => {
    const { from, to, expected } = await makeTraffic();
    const adapter = createEvmAdapter({ chain: chainConfig(anvil.url), assets });
    await expectMatches(await adapter.scan(from, to, watched), from, to, expected);
    await adapter.close?.();
  });

  it("finds several transfers in one block with their log indexes", async () => {
    const a = kit.accounts[1]!;
    await anvil.rpc("evm_setAutomine", [false]);
    const hashes: string[] = [];
    const token = testTokenInterface();
    let nonce = Number(await anvil.rpc<string>("eth_getTransactionCount", [a, "latest"]));
    const send = async (tx: Record<string, string>) =>
      hashes.push(
        await anvil.rpc<string>("eth_sendTransaction", [
          { from: a, gas: "0x30000", nonce: "0x" + (nonce++).toString(16), ...tx },
        ]),
      );
    await send({ to: usdt, data: token.encodeFunctionData("transfer", [stranger, 1n]) });
    await send({ to: usdt, data: token.encodeFunctionData("transfer", [w1, 11n]) });
    await send({ to: w2, value: "0x64" });
    await send({ to: usdt, data: token.encodeFunctionData("transfer", [w2, 22n]) });
    await anvil.rpc("anvil_mine", ["0x1"]);
    await anvil.rpc("evm_setAutomine", [true]);
    const n = await kit.blockNumber();
    const adapter = createEvmAdapter({ chain: chainConfig(anvil.url), assets });
    const { transfers } = await adapter.scan(n, n, watched);
    expect(transfers.map((t) => [t.txid, t.index, t.asset, t.address, t.amount])).toEqual([
      [hashes[2], 0, "ETH", w2, 100n],
      [hashes[1], 1, "USDT-ERC20", w1, 11n],
      [hashes[3], 2, "USDT-ERC20", w2, 22n],
    ]);
    await adapter.close?.();
  });

  it("per-transaction receipts (config or a node without eth_getBlockReceipts) give the same result", async () => {
    const { from, to, expected } = await makeTraffic();
    const configured = createEvmAdapter({
      chain: chainConfig(anvil.url, { receipts: "transaction" }),
      assets,
    });
    const methods: string[] = [];
    const proxy = await startTamperProxy(anvil.url, (call, answer) => {
      methods.push(call.method);
      return call.method === "eth_getBlockReceipts"
        ? { error: { code: -32601, message: "the method eth_getBlockReceipts does not exist" } }
        : answer;
    });
    const fallback = createEvmAdapter({ chain: chainConfig(proxy.url), assets });
    await expectMatches(await configured.scan(from, to, watched), from, to, expected);
    await expectMatches(await fallback.scan(from, to, watched), from, to, expected);
    expect(methods).toContain("eth_getBlockReceipts");
    expect(methods).toContain("eth_getTransactionReceipt");
    // the downgrade is remembered: the next scan goes straight to per-transaction receipts
    methods.length = 0;
    await fallback.scan(from, to, watched);
    expect(methods).not.toContain("eth_getBlockReceipts");
    await Promise.all([configured.close?.(), fallback.close?.(), proxy.stop()]);
  });

  it("HTTP requests per scan do not depend on the number of watched addresses", async () => {
    const { from } = await makeTraffic();
    await kit.mine(600);
    const to = await kit.blockNumber();
    const count = async (set: WatchedSet) => {
      let requests = 0;
      const adapter = createEvmAdapter({
        chain: chainConfig(anvil.url),
        assets,
        onRequest: () => requests++,
      });
      const result = await adapter.scan(from, to, set);
      await adapter.close?.();
      return { requests, result };
    };
    const many = [w1, w2, w3, ...Array.from({ length: 9_997 }, (_, i) => addressOf(`pool-${i}`))];
    const small = await count(watchedSet([w1]));
    const large = await count(watchedSet(many));
    expect(large.result.transfers.length).toBe(3);
    expect(small.result.transfers.map((t) => t.txid)).toEqual(
      large.result.transfers.filter((t) => t.address === w1).map((t) => t.txid),
    );
    expect(large.requests).toBe(small.requests);
    // ~620 blocks in batches of 100 + one getLogs + receipts for the one batch with candidates,
    // + the URL's identity check (once per adapter and URL)
    expect(large.requests).toBeLessThanOrEqual(Math.ceil((to - from + 1) / 100) + 3);
  });

  it("heads follows latest, safe or finalized; block() gives identity or null", async () => {
    await kit.mine(20);
    const latest = await kit.blockNumber();
    const tag = async (t: string) =>
      Number((await anvil.rpc<{ number: string }>("eth_getBlockByNumber", [t, false])).number);
    const heads = async (finality: EvmChainConfig["finality"]) => {
      const adapter = createEvmAdapter({ chain: chainConfig(anvil.url, { finality }), assets });
      const h = await adapter.heads();
      await adapter.close?.();
      return h;
    };
    expect(await heads("latest")).toEqual({ head: latest });
    const finalized = await tag("finalized");
    expect(finalized).toBeLessThan(latest);
    expect(await heads("finalized")).toEqual({ head: finalized, solid: finalized });
    expect(await heads("safe")).toEqual({ head: await tag("safe") });

    const adapter = createEvmAdapter({ chain: chainConfig(anvil.url), assets });
    const raw = await anvil.rpc<{ hash: string; parentHash: string; timestamp: string }>(
      "eth_getBlockByNumber",
      ["0x" + latest.toString(16), false],
    );
    expect(await adapter.block(latest)).toEqual({
      number: latest,
      hash: raw.hash,
      parentHash: raw.parentHash,
      timestamp: Number(raw.timestamp) * 1000,
    });
    expect(await adapter.block(latest + 1000)).toBeNull();
    await expect(adapter.scan(latest, latest + 5, watched)).rejects.toBeInstanceOf(RetryableError);
    await adapter.close?.();
  });

  it("a scan through a flaky proxy, retried by the caller, equals the direct scan", async () => {
    const { from, to, expected } = await makeTraffic();
    await kit.mine(300);
    const end = await kit.blockNumber();
    const direct = createEvmAdapter({ chain: chainConfig(anvil.url, { batch_size: 20 }), assets });
    const want = await direct.scan(from, end, watched);
    await expectMatches(await direct.scan(from, to, watched), from, to, expected);
    const proxy = await startFlakyProxy(anvil.url, { seed: 7, failRate: 0.3, maxDelayMs: 30 });
    const flaky = createEvmAdapter({
      chain: chainConfig(proxy.url, { batch_size: 20, request_timeout_ms: 2000 }),
      assets,
    });
    let got: ScanResult | undefined;
    let failures = 0;
    for (let attempt = 0; attempt < 100 && !got; attempt++) {
      try {
        got = await flaky.scan(from, end, watched);
      } catch (e) {
        expect(e).toBeInstanceOf(RetryableError);
        failures++;
      }
    }
    expect(got).toEqual(want);
    const broken = ["drop", "delay", "429", "502", "truncate", "corrupt"].reduce(
      (s, m) => s + (proxy.stats[m] ?? 0),
      0,
    );
    expect(broken).toBeGreaterThan(5);
    expect(failures).toBeLessThan(100);
    await Promise.all([direct.close?.(), flaky.close?.(), proxy.stop()]);
  });
});
