// native_internal: trace on a real anvil: ETH that a contract forwards to a deposit address pays
// the order exactly once; a forward inside a reverted frame (or a reverted transaction) counts
// nothing; a reorg of the forwarding block reverts it; a node without the trace method is refused.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestAnvil } from "../helpers/anvil.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";
import { deployForwarder, forward, forwardThroughRevertingFrame } from "../helpers/forwarder.js";
import { type RpcProxy, missingMethod, startRpcProxy } from "../helpers/rpc-proxy.js";

const ETH = 10n ** 18n;

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let forwarder: string;
let snapshot: string;
let w: ReturnType<typeof createEvmWatch>;

beforeAll(async () => {
  chain = await startTokenChain();
  ({ anvil, kit } = chain);
  forwarder = await deployForwarder(kit);
});
afterAll(async () => {
  await chain.stop();
});
beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
  w = createEvmWatch({
    rpc: [anvil.url],
    token: chain.token,
    startBlock: (await kit.blockNumber()) + 1,
    nativeInternal: "trace",
  });
});
afterEach(async () => {
  await w.close();
  await anvil.rpc("evm_revert", [snapshot]);
});

const ethOrder = (id: string) => w.createOrder({ merchant_order_id: id, amount: "1", currency: "ETH" });
const storedPayments = () => w.db.prepare("SELECT count(*) FROM payments").pluck().get() as number;

describe("native_internal: trace", () => {
  it("default: ETH a contract forwards to a deposit address pays the order exactly once (via trace)", async () => {
    const o = ethOrder("I-1");
    const address = o.options[0]!.address;
    const tx = await forward(kit, forwarder, address, ETH);
    expect(tx.status).toBe("success");
    await w.sync();
    await kit.mine(2);
    await w.sync(); // scanning again, and past the block, finds nothing new
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "1" });
    expect(w.payments(o.id)).toEqual([
      expect.objectContaining({
        txid: tx.hash,
        index: 1, // frame 1: the forwarder's call; frame 0 is the transaction itself
        via: "trace",
        amount: "1",
        asset: "ETH",
        status: "confirmed",
        block_hash: tx.blockHash,
      }),
    ]);
    expect(w.eventTypes(o.id)).toEqual(["payment.seen", "payment.confirmed", "order.paid"]);
  });

  it("behavior: a top-level ETH transfer and a forwarded one are two payments, via transaction and trace", async () => {
    const o = w.createOrder({ merchant_order_id: "I-2", amount: "2", currency: "ETH" });
    const address = o.options[0]!.address;
    await kit.sendEth(address, ETH);
    await forward(kit, forwarder, address, ETH);
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "2" });
    const found = w.payments(o.id).map((p) => [p.via, p.index]);
    expect(found.sort()).toEqual([
      ["trace", 1],
      ["transaction", 0],
    ]);
  });

  it("error: a forward that then reverts, and one inside a reverted frame of a successful transaction, count nothing", async () => {
    const o = ethOrder("I-3");
    const address = o.options[0]!.address;
    const reverted = await forward(kit, forwarder, address, ETH, { revert: true });
    expect(reverted.status).toBe("reverted");
    const inner = await forwardThroughRevertingFrame(kit, forwarder, address, ETH);
    expect(inner.status).toBe("success"); // the outer forwarder ignores the inner one's revert
    expect(BigInt(await anvil.rpc<string>("eth_getBalance", [address, "latest"]))).toBe(0n);
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "pending", paid_amount: "0" });
    expect(storedPayments()).toBe(0);
  });

  it("behavior: a reorg that drops the forwarding block reverts the payment and unsettles the order", async () => {
    const o = ethOrder("I-4");
    await forward(kit, forwarder, o.options[0]!.address, ETH);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    await anvil.rpc("anvil_reorg", [1, []]);
    await w.sync();
    expect(w.payments(o.id)).toEqual([expect.objectContaining({ via: "trace", status: "reverted" })]);
    expect(w.order(o.id)).toMatchObject({ status: "pending", paid_amount: "0" });
    expect(w.eventTypes(o.id)).toEqual([
      "payment.seen",
      "payment.confirmed",
      "order.paid",
      "payment.reverted",
      "order.unsettled",
    ]);
  });
});

describe("native_internal: none (the default)", () => {
  it("behavior: a forwarded transfer is not seen, and no trace call is made", async () => {
    const proxy = await startRpcProxy(anvil.url);
    const plain = createEvmWatch({
      rpc: [proxy.url],
      token: chain.token,
      startBlock: (await kit.blockNumber()) + 1,
    });
    try {
      const o = plain.createOrder({ merchant_order_id: "N-1", amount: "1", currency: "ETH" });
      await forward(kit, forwarder, o.options[0]!.address, ETH);
      await plain.sync();
      expect(plain.order(o.id).status).toBe("pending");
      expect(proxy.calls["debug_traceBlockByNumber"]).toBeUndefined();
    } finally {
      await plain.close();
      await proxy.stop();
    }
  });
});

describe("a node without the trace method", () => {
  let proxy: RpcProxy;
  afterEach(async () => {
    await proxy.stop();
  });

  it("error: the watcher stops at start, naming the method and the URL", async () => {
    proxy = await startRpcProxy(anvil.url, (call, reply) =>
      call.method === "debug_traceBlockByNumber" ? missingMethod(call) : reply,
    );
    const bad = createEvmWatch({
      rpc: [proxy.url],
      token: chain.token,
      startBlock: (await kit.blockNumber()) + 1,
      nativeInternal: "trace",
    });
    try {
      await expect(bad.watcher.runOnce()).rejects.toThrow(
        /native_internal: trace needs debug_traceBlockByNumber.*127\.0\.0\.1/,
      );
    } finally {
      await bad.close();
    }
  });
});
