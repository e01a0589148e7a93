// Expiry, the late window, binding release and cooldown, driven through the ledger with a clock.
// Chain facts are handed to recordScan as a watcher would, without a node.
import { describe, expect, it } from "vitest";
import type { Transfer } from "../../src/chains/types.js";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { clock, evmPoolText, testCommon, testConfig, testDatabase } from "../helpers/config.js";

const MIN = 60_000;

function setup(pool = 1) {
  const c = clock();
  const config = testConfig({
    orders: { valid_minutes: 30, late_window_minutes: 60, timer_interval_ms: 100 },
  });
  const common = testCommon(config, c.now);
  const db = testDatabase();
  const ledger = createLedger(db, common, createCatalog(config));
  importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(pool).text, c.now());
  ledger.initCursor("anvil", 1, c.now());
  let block = 1;
  let n = 0;
  /** one block with these transfers, at time `at` */
  const mine = (transfers: { to: string; wei: bigint }[], at = c.now()) => {
    const hash = "0x" + (block + 1000).toString(16).padStart(64, "0");
    const parent = "0x" + (block + 999).toString(16).padStart(64, "0");
    const ts: Transfer[] = transfers.map((t) => ({
      txid: "0x" + (++n).toString(16).padStart(64, "a"),
      index: 0,
      asset: "ETH",
      address: t.to.toLowerCase(),
      amount: t.wei,
      block: { number: block, hash, timestamp: at },
    }));
    ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: block },
        blocks: [{ number: block, hash, parentHash: parent, timestamp: at }],
        transfers: ts,
        keepBlocks: 64,
      },
      c.now(),
    );
    block++;
  };
  const events = (orderId: string | null) =>
    db
      .prepare<[string | null], { type: string }>(
        "SELECT type FROM events WHERE order_id IS NOT DISTINCT FROM ? ORDER BY created_at, seq, id",
      )
      .all(orderId)
      .map((e) => e.type);
  /** an order of 1 ETH by merchant "shop", created now */
  const ethOrder = (merchantOrderId = "T") =>
    ledger.createOrder(
      "shop",
      {
        merchant_order_id: merchantOrderId,
        amount: "1",
        currency: "ETH",
        callback_url: "http://127.0.0.1:9/",
      },
      c.now(),
    ).order;
  /** a reorg: every block from `from` on is gone, replaced by one empty block `from` */
  const reorgFrom = (from: number) => {
    const hash = "0x" + (from + 5000).toString(16).padStart(64, "0");
    const parent = "0x" + (from + 999).toString(16).padStart(64, "0");
    ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: from },
        blocks: [{ number: from, hash, parentHash: parent, timestamp: c.now() }],
        transfers: [],
        rollbackTo: from - 1,
        keepBlocks: 64,
      },
      c.now(),
    );
    block = from + 1;
  };
  return { c, db, ledger, mine, events, ethOrder, reorgFrom, block: () => block };
}

const ETH = 10n ** 18n;

describe("timers", () => {
  it("behavior: an unpaid order expires at the first tick after expires_at, with order.expired", () => {
    const { c, ledger, events, ethOrder } = setup();
    const o = ethOrder();
    c.advance(30 * MIN); // exactly at expires_at: still valid
    ledger.tick(c.now());
    expect(ledger.getOrder("shop", o.id)!.status).toBe("pending");
    c.advance(1);
    expect(ledger.tick(c.now())).toMatchObject({ expired: 1 });
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "expired", paid_amount: "0" });
    expect(events(o.id)).toEqual(["order.expired"]);
  });

  it("behavior: a partial payment then expiry → expired with paid_amount; accept settles it as paid", () => {
    const { c, ledger, mine, events, ethOrder } = setup();
    const o = ethOrder();
    mine([{ to: o.options[0]!.address, wei: ETH / 4n }]);
    c.advance(31 * MIN);
    ledger.tick(c.now());
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "expired", paid_amount: "0.25" });
    expect(ledger.acceptOrder("shop", o.id, c.now())).toMatchObject({
      status: "paid",
      resolution: "accepted",
    });
    expect(events(o.id)).toEqual([
      "payment.seen",
      "payment.confirmed",
      "order.partially_paid",
      "order.expired",
      "order.paid",
    ]);
  });

  it("behavior: an on-time payment still confirming keeps the order processing past expiry, then paid", () => {
    const { c, ledger, db, events, ethOrder } = setup();
    const o = ethOrder();
    // seen in a block before expiry, but not yet deep enough: confirmations 1 means head must reach it; use a
    // payment whose block is above the head the ledger was told about
    const hash = "0x" + "b".repeat(64);
    ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: 0 },
        blocks: [{ number: 1, hash, parentHash: "0x" + "0".repeat(64), timestamp: c.now() }],
        transfers: [
          {
            txid: "0x" + "c".repeat(64),
            index: 0,
            asset: "ETH",
            address: o.options[0]!.address.toLowerCase(),
            amount: ETH,
            block: { number: 1, hash, timestamp: c.now() },
          },
        ],
        keepBlocks: 64,
      },
      c.now(),
    );
    expect(ledger.getOrder("shop", o.id)!.status).toBe("processing");
    c.advance(40 * MIN);
    ledger.tick(c.now());
    expect(ledger.getOrder("shop", o.id)!.status).toBe("processing");
    ledger.recordScan(
      { chain: "anvil", heads: { head: 1 }, blocks: [], transfers: [], keepBlocks: 64 },
      c.now(),
    );
    expect(ledger.getOrder("shop", o.id)!.status).toBe("paid");
    expect(events(o.id)).toEqual(["payment.seen", "order.processing", "payment.confirmed", "order.paid"]);
    expect(db.prepare("SELECT late FROM payments").pluck().get()).toBe(0);
  });

  it("behavior: the binding ends after the late window; the static address rests, then is handed out again", () => {
    const { c, ledger, mine, events, db, ethOrder } = setup(1);
    const o = ethOrder("A");
    const addr = o.options[0]!.address;
    mine([{ to: addr, wei: ETH }]);
    expect(ledger.getOrder("shop", o.id)!.status).toBe("paid");
    // inside the late window: a second payment still belongs to the order → overpaid
    c.advance(60 * MIN);
    mine([{ to: addr, wei: 1n }]);
    expect(ledger.getOrder("shop", o.id)!.status).toBe("overpaid");
    // late window over (expires 30 min + 60 min late): binding released, address resting 10 min
    c.advance(31 * MIN);
    expect(ledger.tick(c.now()).released).toBe(1);
    const next = () => ethOrder(`B-${c.now()}`);
    expect(next).toThrow(/no free deposit address/);
    // a payment while it rests is unattributed
    mine([{ to: addr, wei: 5n }]);
    expect(events(null)).toEqual(["payment.unattributed"]);
    expect(ledger.getOrder("shop", o.id)!.options[0]!.paid).toBe("1.000000000000000001");
    c.advance(10 * MIN);
    ledger.tick(c.now());
    expect(next().options[0]!.address).toBe(addr);
    expect(db.prepare("SELECT count(*) FROM bindings").pluck().get()).toBe(2);
  });

  it("behavior: a payment to a cancelled order is recorded and reported, the status stays cancelled", () => {
    const { c, ledger, mine, events, ethOrder } = setup();
    const o = ethOrder();
    ledger.cancelOrder("shop", o.id, c.now());
    mine([{ to: o.options[0]!.address, wei: ETH }]);
    expect(ledger.getOrder("shop", o.id)!.status).toBe("cancelled");
    expect(events(o.id)).toEqual(["order.cancelled", "payment.seen", "payment.confirmed"]);
    expect(() => ledger.acceptOrder("shop", o.id, c.now())).toThrow(/can be accepted/);
  });

  it("behavior: a transfer mined hours before its address was bound (a lagging watcher) stays unattributed", () => {
    const { c, ledger, mine, events, ethOrder } = setup(2);
    const o = ethOrder();
    const addr = o.options[0]!.address;
    mine([{ to: addr, wei: ETH }], c.now() - 3 * 3600_000); // older than the binding by more than the clock grace
    expect(ledger.getOrder("shop", o.id)!.status).toBe("pending");
    expect(events(null)).toEqual(["payment.unattributed"]);
    mine([{ to: addr, wei: ETH }], c.now() - 30 * MIN); // a block clock running behind ours is fine
    expect(ledger.getOrder("shop", o.id)!.status).toBe("paid");
  });

  it("behavior: hundreds of orders kept open past expiry by confirming payments never starve the others", () => {
    const { c, ledger, ethOrder } = setup(601);
    const stuck: Transfer[] = [];
    for (let i = 0; i < 600; i++) {
      const o = ethOrder(`S-${i}`);
      stuck.push({
        txid: "0x" + i.toString(16).padStart(64, "e"),
        index: 0,
        asset: "ETH",
        address: o.options[0]!.address.toLowerCase(),
        amount: ETH,
        block: { number: 1, hash: "0x" + "f".repeat(64), timestamp: c.now() },
      });
    }
    // seen on time, not yet confirmed (head below the block): these stay processing past expiry
    ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: 0 },
        blocks: [
          { number: 1, hash: "0x" + "f".repeat(64), parentHash: "0x" + "0".repeat(64), timestamp: c.now() },
        ],
        transfers: stuck,
        keepBlocks: 64,
      },
      c.now(),
    );
    c.advance(MIN);
    const late = ethOrder("L");
    c.advance(40 * MIN);
    ledger.tick(c.now());
    ledger.tick(c.now());
    expect(ledger.getOrder("shop", late.id)!.status).toBe("expired");
    expect(ledger.listOrders("shop", { status: "processing", limit: 500 }).orders).toHaveLength(500);
  });

  it("error: cancel of a paid order is a conflict", () => {
    const { c, ledger, mine, ethOrder } = setup();
    const o = ethOrder();
    mine([{ to: o.options[0]!.address, wei: ETH }]);
    expect(() => ledger.cancelOrder("shop", o.id, c.now())).toThrow(/cannot be cancelled/);
  });

  it("behavior: every event body carries the order as it stood and seq counts from 1 without gaps", () => {
    const { mine, db, ethOrder } = setup();
    const o = ethOrder();
    mine([{ to: o.options[0]!.address, wei: ETH / 2n }]);
    mine([{ to: o.options[0]!.address, wei: ETH / 2n }]);
    const rows = db
      .prepare<[string], { seq: number; body: string }>(
        "SELECT seq, body FROM events WHERE order_id = ? ORDER BY seq",
      )
      .all(o.id);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const bodies = rows.map(
      (r) =>
        JSON.parse(r.body) as {
          id: string;
          seq: number;
          type: string;
          order: { status: string };
          payment: unknown;
        },
    );
    // each body shows the order after the change that made the event (found already confirmed: one step)
    expect(
      bodies.map((b) => [
        b.type,
        b.order.status,
        (b.order as unknown as { paid_amount: string }).paid_amount,
      ]),
    ).toEqual([
      ["payment.seen", "partially_paid", "0.5"],
      ["payment.confirmed", "partially_paid", "0.5"],
      ["order.partially_paid", "partially_paid", "0.5"],
      ["payment.seen", "paid", "1"],
      ["payment.confirmed", "paid", "1"],
      ["order.paid", "paid", "1"],
    ]);
    expect(rows[0]!.body).toBe(JSON.stringify(JSON.parse(rows[0]!.body))); // compact JSON, the exact signed bytes
    expect(bodies[0]!.payment).toMatchObject({ amount: "0.5", asset: "ETH", status: "confirmed" });
  });
});

describe("manual actions keep the rules", () => {
  it("behavior: a reorg under an accepted order emits payment.reverted and order.unsettled; the order is what its payments make it", () => {
    const { c, ledger, mine, events, ethOrder, reorgFrom, block } = setup();
    const o = ethOrder();
    const paidIn = block();
    mine([{ to: o.options[0]!.address, wei: ETH / 4n }]);
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "partially_paid", paid_amount: "0.25" });
    expect(ledger.acceptOrder("shop", o.id, c.now())).toMatchObject({
      status: "paid",
      resolution: "accepted",
    });
    c.advance(MIN);
    reorgFrom(paidIn);
    const after = ledger.getOrder("shop", o.id)!;
    expect(after).toMatchObject({ status: "pending", paid_amount: "0" });
    expect(after.resolution).toBeUndefined();
    expect(events(o.id)).toEqual([
      "payment.seen",
      "payment.confirmed",
      "order.partially_paid",
      "order.paid",
      "payment.reverted",
      "order.unsettled",
    ]);
    // the money comes back in another block: the normal rules again (the accept is gone)
    mine([{ to: o.options[0]!.address, wei: ETH }]);
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "paid", paid_amount: "1" });
  });

  it("behavior: after expiry, a reorg under an accepted order returns it to expired", () => {
    const { c, ledger, mine, events, ethOrder, reorgFrom, block } = setup();
    const o = ethOrder();
    const paidIn = block();
    mine([{ to: o.options[0]!.address, wei: ETH / 4n }]);
    c.advance(31 * MIN);
    ledger.tick(c.now());
    ledger.acceptOrder("shop", o.id, c.now());
    reorgFrom(paidIn);
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "expired", paid_amount: "0" });
    expect(events(o.id).slice(-3)).toEqual(["payment.reverted", "order.unsettled", "order.expired"]);
  });

  it("error: a reverted unattributed payment cannot be assigned (409, no event, still unattributed)", () => {
    const { db, c, ledger, mine, events, ethOrder, reorgFrom, block } = setup(2);
    const o = ethOrder();
    const free = (
      db.prepare("SELECT address FROM pool_addresses WHERE bound = 0").get() as { address: string }
    ).address;
    const paidIn = block();
    mine([{ to: free, wei: ETH }]);
    reorgFrom(paidIn);
    const p = db.prepare("SELECT id, status FROM payments WHERE order_id IS NULL").get() as {
      id: string;
      status: string;
    };
    expect(p.status).toBe("reverted");
    const before = db.prepare("SELECT count(*) AS n FROM events").get();
    expect(() => ledger.assignPayment(null, p.id, o.id, c.now())).toThrow(/reverted/);
    expect(db.prepare("SELECT count(*) AS n FROM events").get()).toEqual(before);
    expect(events(o.id)).toEqual([]);
    expect(db.prepare("SELECT order_id FROM payments WHERE id = ?").get(p.id)).toEqual({ order_id: null });
    expect(ledger.getOrder("shop", o.id)).toMatchObject({ status: "pending", paid_amount: "0" });
    // a seen or confirmed one still can
    mine([{ to: free, wei: ETH }]); // another transfer, confirmed
    const ok = db
      .prepare("SELECT id FROM payments WHERE order_id IS NULL AND status = 'confirmed'")
      .get() as {
      id: string;
    };
    expect(ledger.assignPayment(null, ok.id, o.id, c.now())).toMatchObject({ order_id: o.id });
  });
});
