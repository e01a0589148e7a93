// The adapter never trusts a node: nonsense answers and answers that do not fit together are
// RetryableErrors (the watcher retries), never wrong transfers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOG_RANGE, TRANSFER_TOPIC, createEvmAdapter } from "../../../src/chains/evm/adapter.js";
import { type ScanResult } from "../../../src/chains/types.js";
import { RetryableError } from "../../../src/errors.js";
import type { AssetConfig } from "../../../src/config/schema.js";
import { type TestAnvil, startAnvil } from "../../helpers/anvil.js";
import { type EvmKit, createEvmKit } from "../../helpers/evm.js";
import { type RpcAnswer, type RpcItem, startTamperProxy } from "../../helpers/flaky-proxy.js";
import { addressOf, chainConfig, watchedSet } from "./common.js";

const w1 = addressOf("v-watched-1");
const w2 = addressOf("v-watched-2");
const watched = watchedSet([w1, w2]);

let anvil: TestAnvil;
let kit: EvmKit;
let assets: AssetConfig[];
let from: number;
let to: number;
let ethBlock: number;
let tokenBlock: number;
let direct: ScanResult;

beforeAll(async () => {
  anvil = await startAnvil();
  kit = await createEvmKit(anvil.url);
  const usdt = await kit.deployToken({ decimals: 6 });
  await kit.mintToken(usdt, kit.accounts[1]!, 1_000_000n);
  assets = [
    { id: "ETH", chain: "anvil", decimals: 18, confirmations: 1, enabled: true },
    { id: "USDT-ERC20", chain: "anvil", contract: usdt, decimals: 6, confirmations: 1, enabled: true },
  ];
  from = (await kit.blockNumber()) + 1;
  ethBlock = (await kit.sendEth(w1, 10n ** 17n, kit.accounts[1])).blockNumber;
  tokenBlock = (await kit.sendToken(usdt, w2, 4242n, kit.accounts[1])).blockNumber;
  await kit.mine(3);
  to = await kit.blockNumber();
  const adapter = createEvmAdapter({ chain: chainConfig(anvil.url), assets });
  direct = await adapter.scan(from, to, watched);
  await adapter.close?.();
  expect(direct.transfers.map((t) => t.amount)).toEqual([10n ** 17n, 4242n]);
});

afterAll(async () => {
  kit?.close();
  await anvil?.stop();
});

async function scanThrough(tamper: (call: RpcItem, answer: RpcAnswer) => RpcAnswer, over = {}) {
  const proxy = await startTamperProxy(anvil.url, tamper);
  const adapter = createEvmAdapter({ chain: chainConfig(proxy.url, over), assets });
  try {
    return await adapter.scan(from, to, watched);
  } finally {
    await adapter.close?.();
    await proxy.stop();
  }
}

const isBlock = (call: RpcItem, n: number) =>
  call.method === "eth_getBlockByNumber" && call.params[0] === "0x" + n.toString(16);
type Obj = Record<string, unknown>;
const edit = (answer: RpcAnswer, change: (r: Obj) => void): RpcAnswer => {
  const r = structuredClone(answer.result) as Obj;
  change(r);
  return { result: r };
};
const editLogs = (answer: RpcAnswer, change: (l: Obj) => void): RpcAnswer => {
  const logs = structuredClone(answer.result) as Obj[];
  logs.forEach(change);
  return { result: logs };
};

describe("evm adapter: answers that cannot be trusted", () => {
  it.each<[string, (call: RpcItem, answer: RpcAnswer) => RpcAnswer, RegExp]>([
    [
      "a block hash that is not 32 bytes",
      (c, a) => (isBlock(c, ethBlock) ? edit(a, (b) => (b.hash = "0x1234")) : a),
      /hash/,
    ],
    [
      "a block that is not the one asked for",
      (c, a) => (isBlock(c, ethBlock) ? edit(a, (b) => (b.number = "0x1")) : a),
      /asked for block/,
    ],
    ["a missing block inside the range", (c, a) => (isBlock(c, to) ? { result: null } : a), /not available/],
    [
      "a parent hash that does not link",
      (c, a) => (isBlock(c, tokenBlock) ? edit(a, (b) => (b.parentHash = "0x" + "ab".repeat(32))) : a),
      /reorg during fetch/,
    ],
    [
      "a transaction value that is not hex",
      (c, a) => (isBlock(c, ethBlock) ? edit(a, (b) => ((b.transactions as Obj[])[0]!.value = 12)) : a),
      /value/,
    ],
    [
      "a log pinned to another block hash",
      (c, a) => (c.method === "eth_getLogs" ? editLogs(a, (l) => (l.blockHash = "0x" + "cd".repeat(32))) : a),
      /reorg during fetch/,
    ],
    [
      "eth_getLogs answering null",
      (c, a) => (c.method === "eth_getLogs" ? { result: null } : a),
      /not an array/,
    ],
    [
      "a receipt from another block",
      (c, a) =>
        c.method === "eth_getBlockReceipts"
          ? { result: (a.result as Obj[]).map((r) => ({ ...r, blockHash: "0x" + "ef".repeat(32) })) }
          : a,
      /another block/,
    ],
    [
      "a receipt without a status",
      (c, a) =>
        c.method === "eth_getBlockReceipts"
          ? { result: (a.result as Obj[]).map((r) => ({ ...r, status: undefined })) }
          : a,
      /status/,
    ],
    [
      "a node that lost the block's receipts",
      (c, a) => (c.method === "eth_getBlockReceipts" ? { result: null } : a),
      /unavailable/,
    ],
    [
      "a rate-limited eth_getLogs (not a range cap: no narrowing)",
      (c, a) =>
        c.method === "eth_getLogs"
          ? { error: { code: -32005, message: "daily request count exceeded, request rate limited" } }
          : a,
      /rate limited/,
    ],
  ])("%s → RetryableError", async (_name, tamper, message) => {
    const err = await scanThrough(tamper).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(message);
  });

  it("a failed receipt status drops the native transfer", async () => {
    const got = await scanThrough((c, a) =>
      c.method === "eth_getBlockReceipts"
        ? { result: (a.result as Obj[]).map((r) => ({ ...r, status: "0x0" })) }
        : a,
    );
    expect(got.transfers.map((t) => t.asset)).toEqual(["USDT-ERC20"]);
  });

  it("removed logs, logs with 4 topics and logs without a 32-byte amount are not transfers", async () => {
    for (const change of [
      (l: Obj) => (l.removed = true),
      (l: Obj) => (l.topics = [...(l.topics as string[]), "0x" + "00".repeat(32)]),
      (l: Obj) => (l.data = "0x01"),
      (l: Obj) => (l.data = "0x" + "00".repeat(32)),
    ]) {
      const got = await scanThrough((c, a) => (c.method === "eth_getLogs" ? editLogs(a, change) : a));
      expect(got.transfers.map((t) => t.asset)).toEqual(["ETH"]);
    }
  });

  it("asks for logs with the configured contracts and the Transfer topic only", async () => {
    const filters: Obj[] = [];
    const got = await scanThrough((c, a) => {
      if (c.method === "eth_getLogs") filters.push(c.params[0] as Obj);
      return a;
    });
    expect(got).toEqual(direct);
    expect(filters).toEqual([
      {
        fromBlock: "0x" + from.toString(16),
        toBlock: "0x" + to.toString(16),
        address: [assets[1]!.contract],
        topics: [TRANSFER_TOPIC],
      },
    ]);
  });

  it("narrows eth_getLogs ranges when the node caps them, with the same result", async () => {
    const spans: number[] = [];
    const got = await scanThrough((c, a) => {
      if (c.method !== "eth_getLogs") return a;
      const f = c.params[0] as { fromBlock: string; toBlock: string };
      const span = Number(f.toBlock) - Number(f.fromBlock) + 1;
      spans.push(span);
      return span > 2 ? { error: { code: -32005, message: "query exceeds max block range 2" } } : a;
    });
    expect(got).toEqual(direct);
    expect(Math.max(...spans)).toBeLessThanOrEqual(LOG_RANGE);
    expect(spans).toContain(2);
  });
});
