// Tron end to end: the real adapter against a local TRON HTTP API server in the real shapes,
// through the shared watcher loop into orders and events.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type TronAccount, type TronServer, startTronServer } from "../helpers/tron-server.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";
import { type WatchHarness, createWatchHarness } from "../helpers/watch-harness.js";

const USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
const OTHER = "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf";
const units = (n: number) => BigInt(Math.round(n * 1e6));

let server: TronServer;
let payer: TronAccount;
let pool: TronAccount[];
let h: WatchHarness;
let clockMs = TEST_EPOCH_MS;

beforeAll(async () => {
  server = await startTronServer({ initialBlocks: 5, solidLag: 2, clock: () => clockMs });
  payer = server.chain.newAccount();
});
afterAll(() => server.stop());
beforeEach(() => {
  pool = Array.from({ length: 6 }, () => server.chain.newAccount());
  h = createWatchHarness({
    now: () => clockMs,
    poolText: pool.map((a) => a.address).join("\n"),
    rates: { USD: { TRX: "0.25", "USDT-TRC20": "1" } },
    chain: {
      id: "tron",
      kind: "tron",
      rpc: [server.url],
      poll_interval_ms: 50,
      start_block: server.chain.head + 1,
      request_timeout_ms: 2000,
      pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
    },
    assets: [
      { id: "TRX", chain: "tron", decimals: 6, confirmations: 1 },
      { id: "USDT-TRC20", chain: "tron", contract: USDT, decimals: 6, confirmations: "solidified" },
    ],
  });
});
afterEach(() => h.close());

const mine = (n = 1) => {
  clockMs += 3000 * n;
  return server.chain.mine(n);
};

describe("USDT-TRC20", () => {
  it("default: exact payment → processing until solidified, then paid", async () => {
    const o = h.createOrder({ merchant_order_id: "U-1", currency: "USDT-TRC20", amount: "25" });
    const to = o.options[0]!.address;
    expect(pool.map((a) => a.address)).toContain(to);
    const txid = server.chain.transferTrc20(USDT, payer, to, units(25));
    mine();
    await h.sync();
    expect(h.order(o.id).status).toBe("processing");
    mine(2); // solidified head now reaches the payment's block
    await h.sync();
    expect(h.order(o.id)).toMatchObject({ status: "paid", paid_amount: "25" });
    expect(h.payments(o.id)).toEqual([
      expect.objectContaining({ txid, asset: "USDT-TRC20", amount: "25", status: "confirmed" }),
    ]);
    expect(h.eventTypes(o.id)).toEqual([
      "payment.seen",
      "order.processing",
      "payment.confirmed",
      "order.paid",
    ]);
  });

  it("behavior: partial then the rest; an overpayment; a payment after expiry → paid_late", async () => {
    const partial = h.createOrder({ merchant_order_id: "U-2", currency: "USDT-TRC20", amount: "10" });
    const over = h.createOrder({ merchant_order_id: "U-3", currency: "USDT-TRC20", amount: "10" });
    const late = h.createOrder({
      merchant_order_id: "U-4",
      currency: "USDT-TRC20",
      amount: "10",
      valid_minutes: 1,
    });
    server.chain.transferTrc20(USDT, payer, partial.options[0]!.address, units(4));
    server.chain.transferTrc20(USDT, payer, over.options[0]!.address, units(10) + 1n);
    mine(3);
    await h.sync();
    expect(h.order(partial.id)).toMatchObject({ status: "partially_paid", paid_amount: "4" });
    expect(h.order(over.id).status).toBe("overpaid");
    server.chain.transferTrc20(USDT, payer, partial.options[0]!.address, units(6));
    clockMs += 120_000; // past the late order's expiry
    mine(); // a block stamped past it; the order expires once the watcher has scanned it
    await h.sync();
    h.ledger.tick(clockMs);
    expect(h.order(late.id).status).toBe("expired");
    server.chain.transferTrc20(USDT, payer, late.options[0]!.address, units(10));
    mine(3);
    await h.sync();
    expect(h.order(partial.id).status).toBe("paid");
    expect(h.order(late.id).status).toBe("paid_late");
    expect(h.payments(late.id)[0]).toMatchObject({ late: true });
  });

  it("behavior: FAILED and OUT_OF_ENERGY transfers, a TRC-10 transfer and another contract's Transfer count for nothing", async () => {
    const o = h.createOrder({ merchant_order_id: "U-5", currency: "USDT-TRC20", amount: "10" });
    const to = o.options[0]!.address;
    server.chain.transferTrc20(USDT, payer, to, units(10), { result: "FAILED" });
    server.chain.transferTrc20(USDT, payer, to, units(10), { result: "OUT_OF_ENERGY" });
    server.chain.transferTrc10(payer, to, 10_000_000n);
    server.chain.transferTrc20(OTHER, payer, to, units(10));
    mine(3);
    await h.sync();
    expect(h.payments(o.id)).toEqual([]);
    expect(h.order(o.id).status).toBe("pending");
  });

  it("behavior: a transferFrom through a contract is counted from the Transfer log", async () => {
    const o = h.createOrder({ merchant_order_id: "U-6", currency: "USDT-TRC20", amount: "10" });
    const txid = server.chain.transferTrc20(USDT, payer, o.options[0]!.address, units(10), {
      viaContract: true,
    });
    mine(3);
    await h.sync();
    expect(h.payments(o.id)).toEqual([expect.objectContaining({ txid, index: 1, amount: "10" })]);
    expect(h.order(o.id).status).toBe("paid");
  });
});

describe("TRX", () => {
  it("default: exact, partial, over; a USD order priced through the TRX rate", async () => {
    const exact = h.createOrder({ merchant_order_id: "X-1", currency: "TRX", amount: "100" });
    const partial = h.createOrder({ merchant_order_id: "X-2", currency: "TRX", amount: "100" });
    const usd = h.createOrder({ merchant_order_id: "X-3", currency: "USD", amount: "5", assets: ["TRX"] });
    expect(usd.options[0]).toMatchObject({ asset: "TRX", amount_due: "20", rate: "0.25" });
    const txid = server.chain.transferTrx(payer, exact.options[0]!.address, 100_000_000n);
    server.chain.transferTrx(payer, partial.options[0]!.address, 30_000_000n);
    server.chain.transferTrx(payer, usd.options[0]!.address, 20_000_001n);
    mine();
    await h.sync();
    expect(h.order(exact.id).status).toBe("paid");
    expect(h.payments(exact.id)[0]).toMatchObject({ txid, index: 0, asset: "TRX", amount: "100" });
    expect(h.order(partial.id)).toMatchObject({ status: "partially_paid", paid_amount: "30" });
    expect(h.order(usd.id).status).toBe("overpaid");
  });

  it("behavior: a reorg that drops the paying block reverts the payment and unsettles the order", async () => {
    const o = h.createOrder({ merchant_order_id: "X-4", currency: "TRX", amount: "1" });
    server.chain.transferTrx(payer, o.options[0]!.address, 1_000_000n);
    mine();
    await h.sync();
    expect(h.order(o.id).status).toBe("paid");
    server.chain.reorg(1, { length: 2 });
    await h.sync();
    expect(h.payments(o.id)[0]).toMatchObject({ status: "reverted" });
    expect(h.order(o.id).status).toBe("pending");
    expect(h.eventTypes(o.id).slice(-2)).toEqual(["payment.reverted", "order.unsettled"]);
  });

  it("behavior: a reorg that re-adds the same transaction counts it once", async () => {
    const o = h.createOrder({ merchant_order_id: "X-5", currency: "TRX", amount: "1" });
    const txid = server.chain.transferTrx(payer, o.options[0]!.address, 1_000_000n);
    mine();
    await h.sync();
    server.chain.reorg(1, { readd: true, length: 2 });
    await h.sync();
    expect(h.payments(o.id)).toEqual([expect.objectContaining({ txid, status: "confirmed" })]);
    expect(h.order(o.id).status).toBe("paid");
  });
});
