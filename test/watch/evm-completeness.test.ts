// The completeness rule on a real anvil: a load-balanced provider whose log index lags behind
// the blocks it serves answers eth_getLogs with [] for the newest blocks. The blocks' logsBloom
// and receipts give it away; nothing is skipped, nothing is counted twice.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testTokenInterface } from "../../src/dev/test-token.js";
import type { TestAnvil } from "../helpers/anvil.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";
import { type RpcAnswer, startTamperProxy } from "../helpers/flaky-proxy.js";

const USDT = (n: number) => BigInt(n) * 1_000_000n;

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let token: string;
let otherToken: string;
let snapshot: string;
let w: ReturnType<typeof createEvmWatch>;

/** A log index `lagBlocks` behind the head it reports, while `lagging` is on. */
const index = { lagging: false, lagBlocks: 5, head: 0, omitted: 0, lagAnswers: 0, stopAfter: Infinity };
let proxy: { url: string; stop(): Promise<void> };

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  ({ anvil, kit, token } = chain);
  otherToken = await kit.deployToken({ decimals: 6, symbol: "OTHER" });
  await kit.mintToken(otherToken, kit.accounts[1]!, USDT(1_000_000));
  proxy = await startTamperProxy(anvil.url, (call, answer): RpcAnswer => {
    if (call.method === "eth_blockNumber" && typeof answer.result === "string")
      index.head = Number(answer.result);
    if (call.method !== "eth_getLogs" || !index.lagging || !Array.isArray(answer.result)) return answer;
    const indexed = index.head - index.lagBlocks;
    const kept = (answer.result as { blockNumber: string }[]).filter((l) => Number(l.blockNumber) <= indexed);
    index.omitted += answer.result.length - kept.length;
    if (kept.length < answer.result.length && ++index.lagAnswers >= index.stopAfter) index.lagging = false;
    return { result: kept };
  });
});
afterAll(async () => {
  await proxy.stop();
  await chain.stop();
});
beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
  Object.assign(index, { lagging: false, omitted: 0, lagAnswers: 0, stopAfter: Infinity });
  w = createEvmWatch({ rpc: [proxy.url], token, startBlock: (await kit.blockNumber()) + 1 });
});
afterEach(async () => {
  await w.close();
  await anvil.rpc("evm_revert", [snapshot]);
});

const payer = () => kit.accounts[1]!;

describe("a lagging log index", () => {
  it("default: every ERC-20 deposit in the newest blocks is still found, exactly once, and the orders are paid", async () => {
    const orders = [1, 2, 3].map((i) => w.createOrder({ merchant_order_id: `L-${i}`, amount: "10" }));
    const txs = [];
    for (const o of orders) txs.push(await kit.sendToken(token, o.options[0]!.address, USDT(10), payer()));
    index.lagging = true;
    index.stopAfter = 3; // the index catches up after three short answers
    await w.sync();
    expect(index.omitted).toBeGreaterThan(0);
    expect(w.watcher.status().scanned).toBe(await kit.blockNumber());
    for (const [i, o] of orders.entries()) {
      expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "10" });
      expect(w.payments(o.id)).toEqual([
        expect.objectContaining({ txid: txs[i]!.hash, amount: "10", status: "confirmed" }),
      ]);
    }
    const count = w.db.prepare("SELECT count(*) AS n FROM payments").get() as { n: number };
    expect(count.n).toBe(3);
  });

  it("behavior: while the index lags, the cursor does not move past the paying block; the pass fails with a clear error", async () => {
    const o = w.createOrder({ merchant_order_id: "L-4", amount: "10" });
    const before = w.ledger.cursor("anvil");
    const start = (await kit.blockNumber()) + 1;
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    index.lagging = true;
    for (let i = 0; i < 3; i++) {
      await expect(w.watcher.runOnce()).rejects.toThrow(/eth_getLogs gave no Transfer for block \d+/);
      const cursor = w.ledger.cursor("anvil");
      expect(cursor?.next_block ?? before?.next_block ?? start).toBeLessThanOrEqual(start);
    }
    expect(w.payments(o.id)).toEqual([]);
    index.lagging = false;
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
  });

  it("behavior: a bloom false positive (the token's Approval and another token's Transfer in one block) is accepted after one receipts check", async () => {
    const o = w.createOrder({ merchant_order_id: "L-5", amount: "10" });
    const iface = testTokenInterface();
    await anvil.rpc("evm_setAutomine", [false]);
    try {
      await anvil.rpc("eth_sendTransaction", [
        { from: payer(), to: token, data: iface.encodeFunctionData("approve", [o.options[0]!.address, 5n]) },
      ]);
      await anvil.rpc("eth_sendTransaction", [
        {
          from: payer(),
          to: otherToken,
          data: iface.encodeFunctionData("transfer", [o.options[0]!.address, USDT(10)]),
        },
      ]);
      await kit.mine(1);
    } finally {
      await anvil.rpc("evm_setAutomine", [true]);
    }
    await w.sync();
    expect(w.watcher.status().scanned).toBe(await kit.blockNumber());
    expect(w.payments(o.id)).toEqual([]);
    expect(w.order(o.id).status).toBe("pending");
    expect(w.adapter.stats?.()).toMatchObject({ bloomFalsePositives: 1, incompleteAnswers: 0 });
  });

  it("behavior: logs naming a block hash that is not the fetched block's are incomplete, never used", async () => {
    let tamper = 1;
    const stale = await startTamperProxy(anvil.url, (call, answer): RpcAnswer => {
      if (call.method !== "eth_getLogs" || !Array.isArray(answer.result) || answer.result.length === 0)
        return answer;
      if (tamper-- <= 0) return answer;
      const wrong = "0x" + "ab".repeat(32);
      return {
        result: (answer.result as Record<string, unknown>[]).map((l) => ({ ...l, blockHash: wrong })),
      };
    });
    try {
      await w.close();
      w = createEvmWatch({ rpc: [stale.url], token, startBlock: (await kit.blockNumber()) + 1 });
      const o = w.createOrder({ merchant_order_id: "L-6", amount: "10" });
      await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
      await expect(w.watcher.runOnce()).rejects.toThrow(/names another block hash/);
      expect(w.payments(o.id)).toEqual([]);
      await w.sync();
      expect(w.order(o.id).status).toBe("paid");
      expect(w.payments(o.id)).toHaveLength(1);
      expect(w.adapter.stats?.().incompleteAnswers).toBe(1);
    } finally {
      await stale.stop();
    }
  });
});
