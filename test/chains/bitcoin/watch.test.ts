// Bitcoin end to end: the real adapter against a regtest bitcoind, through the shared watcher loop
// into orders, payments and events.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { type BitcoindNode, startBitcoind } from "../../helpers/bitcoind.js";
import { type WatchHarness, createWatchHarness } from "../../helpers/watch-harness.js";

let node: BitcoindNode;
let h: WatchHarness | undefined;

beforeAll(async () => {
  node = await startBitcoind();
  await node.fund();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  await node?.stop();
});

/** A watcher from the next block on, over a static pool of fresh wallet addresses. */
async function harness(opts: { mempool: boolean; now?: () => number }): Promise<WatchHarness> {
  const pool: string[] = [];
  for (let i = 0; i < 3; i++) pool.push(await node.newAddress(i % 2 ? "bech32m" : "bech32"));
  h = createWatchHarness({
    now: opts.now,
    poolText: pool.join("\n"),
    rates: { USD: { BTC: "100000" } },
    chain: {
      id: "btc",
      kind: "bitcoin",
      backend: "core",
      network: "regtest",
      rpc: [node.rpcUrl],
      mempool: opts.mempool,
      poll_interval_ms: 50,
      start_block: (await node.height()) + 1,
      request_timeout_ms: 2000,
      pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
    },
    assets: [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 2 }],
  });
  return h;
}

/** sendtoaddress with BIP125 replaceability, so bumpfee can replace it */
const sendReplaceable = (address: string, btc: string) =>
  node.rpc<string>("sendtoaddress", [address, btc, "", "", false, true], node.wallet);

describe("bitcoin orders", () => {
  test("default: seen in the mempool → processing; two confirmations → paid, exact satoshi", async () => {
    const w = await harness({ mempool: true });
    const o = w.createOrder({ merchant_order_id: "B-1", currency: "BTC", amount: "0.12345678" });
    const address = o.options[0]!.address;
    expect(address).toMatch(/^bcrt1/);
    const txid = await node.send(address, "0.12345678");
    await w.sync();
    expect(w.order(o.id).status).toBe("processing");
    expect(w.payments(o.id)).toEqual([
      expect.objectContaining({ txid, amount: "0.12345678", status: "seen" }),
    ]);
    await node.mine(1);
    await w.sync();
    expect(w.order(o.id).status).toBe("processing");
    await node.mine(1);
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "0.12345678" });
    expect(w.payments(o.id)).toEqual([
      expect.objectContaining({ txid, amount: "0.12345678", status: "confirmed" }),
    ]);
    expect(w.eventTypes(o.id)).toEqual([
      "payment.seen",
      "order.processing",
      "payment.confirmed",
      "order.paid",
    ]);
  });

  test("behavior: a fee bump (RBF) reverts the replaced mempool payment; the replacement pays", async () => {
    const w = await harness({ mempool: true });
    const o = w.createOrder({ merchant_order_id: "B-2", currency: "USD", amount: "30000", assets: ["BTC"] });
    expect(o.options[0]).toMatchObject({ asset: "BTC", amount_due: "0.3" });
    const original = await sendReplaceable(o.options[0]!.address, "0.3");
    await w.sync();
    expect(w.order(o.id).status).toBe("processing");
    const { txid: replacement } = await node.rpc<{ txid: string }>("bumpfee", [original], node.wallet);
    await w.sync();
    const byTx = () => Object.fromEntries(w.payments(o.id).map((p) => [p.txid, p.status]));
    expect(byTx()).toEqual({ [original]: "reverted", [replacement]: "seen" });
    expect(w.order(o.id).status).toBe("processing");
    await node.mine(2);
    await w.sync();
    expect(byTx()).toEqual({ [original]: "reverted", [replacement]: "confirmed" });
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "30000" });
    expect(w.eventTypes(o.id)).toContain("payment.reverted");
  });

  test("behavior: a reorg that drops the paying block reverts the payment; mined again, it pays", async () => {
    const w = await harness({ mempool: false });
    const o = w.createOrder({ merchant_order_id: "B-3", currency: "BTC", amount: "1" });
    const address = o.options[0]!.address;
    const txid = await node.send(address, "1");
    const [paying] = await node.mine(2);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");

    // Replace both blocks with three that leave the transaction out (it goes back to the mempool).
    await node.rpc("invalidateblock", [paying]);
    const elsewhere = await node.newAddress("bech32");
    for (let i = 0; i < 3; i++) await node.rpc("generateblock", [elsewhere, []]);
    expect(await node.rpc<string[]>("getrawmempool")).toContain(txid);
    await w.sync();
    expect(w.payments(o.id)).toEqual([expect.objectContaining({ txid, status: "reverted" })]);
    expect(w.order(o.id).status).not.toBe("paid");
    expect(w.eventTypes(o.id)).toContain("payment.reverted");

    await node.mine(2); // the transaction is mined again, in a new block
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "1" });
    const confirmed = w.payments(o.id).filter((p) => p.status === "confirmed");
    expect(confirmed.map((p) => p.txid)).toEqual([txid]);
  });

  test("behavior: partial then the rest → partially_paid then paid; one satoshi over → overpaid", async () => {
    const w = await harness({ mempool: false });
    const partial = w.createOrder({ merchant_order_id: "B-4", currency: "BTC", amount: "0.5" });
    const over = w.createOrder({ merchant_order_id: "B-5", currency: "BTC", amount: "0.5" });
    await node.send(partial.options[0]!.address, "0.2");
    await node.send(over.options[0]!.address, "0.50000001");
    await node.mine(2);
    await w.sync();
    expect(w.order(partial.id)).toMatchObject({ status: "partially_paid", paid_amount: "0.2" });
    expect(w.order(over.id)).toMatchObject({ status: "overpaid", paid_amount: "0.50000001" });
    await node.send(partial.options[0]!.address, "0.3");
    await node.mine(2);
    await w.sync();
    expect(w.order(partial.id)).toMatchObject({ status: "paid", paid_amount: "0.5" });
    expect(w.payments(partial.id).map((p) => p.amount)).toEqual(["0.2", "0.3"]);
  });

  test("behavior: paid after expiry, inside the late window → paid_late", async () => {
    let now = Date.now();
    const w = await harness({ mempool: false, now: () => now });
    const o = w.createOrder({ merchant_order_id: "B-6", currency: "BTC", amount: "0.1", valid_minutes: 1 });
    now += 5 * 60_000;
    // the node's clock moves too, so the next blocks are stamped after expires_at; the order
    // expires once the watcher has scanned one of them
    await node.rpc("setmocktime", [Math.floor(now / 1000)]);
    try {
      await node.mine(1);
      await w.sync();
      w.ledger.tick(now);
      expect(w.order(o.id).status).toBe("expired");
      await node.send(o.options[0]!.address, "0.1");
      await node.mine(2);
      await w.sync();
    } finally {
      await node.rpc("setmocktime", [0]);
    }
    expect(w.order(o.id)).toMatchObject({ status: "paid_late", paid_amount: "0.1" });
    expect(w.payments(o.id)[0]).toMatchObject({ late: true, status: "confirmed" });
    expect(w.eventTypes(o.id).filter((t) => t.startsWith("order."))).toEqual([
      "order.expired",
      "order.paid_late",
    ]);
  });

  test("behavior: a coinbase output to a watched address counts only once it is mature (100 confirmations)", async () => {
    const w = await harness({ mempool: false });
    const o = w.createOrder({ merchant_order_id: "B-7", currency: "BTC", amount: "0.1" });
    const address = o.options[0]!.address;
    await node.mine(1, address); // the block reward goes to the deposit address
    await node.mine(98);
    await w.sync();
    expect(w.payments(o.id)).toEqual([expect.objectContaining({ status: "seen", confirmations: 99 })]);
    expect(w.order(o.id)).toMatchObject({ status: "processing", paid_amount: "0" });
    await node.mine(1);
    await w.sync();
    expect(w.payments(o.id)).toEqual([expect.objectContaining({ status: "confirmed", confirmations: 100 })]);
    expect(w.order(o.id).status).toBe("overpaid");
  });
});
