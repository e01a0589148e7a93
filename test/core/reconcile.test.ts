// The order state machine (SPEC §2.2, §2.3), one row per rule: an order, its payments, the time,
// and the status and events that must come out.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Ratio, AmountError, compareRatio, ratio } from "../../src/core/amount.js";
import {
  type OrderEventType,
  type OrderStatus,
  type ReconcileOrder,
  type ReconcilePayment,
  parseTolerance,
  reconcileOrder,
} from "../../src/core/reconcile.js";

const MINUTE = 60_000;
const CREATED = Date.parse("2026-11-22T10:00:00.000Z");
const EXPIRES = CREATED + 30 * MINUTE;
const BEFORE = EXPIRES - 10 * MINUTE; // inside the validity window
const AFTER = EXPIRES + 10 * MINUTE; // expired, inside the late window

// 100 USD: 100 USDT at rate 1 (6 decimals), or 0.0333… ETH at 3000 rounded up to the wei.
const USDT_DUE = 100_000_000n;
const ETH_DUE = 33_333_333_333_333_334n;

const ZERO: Ratio = ratio(0n);

interface OrderArgs {
  status?: OrderStatus;
  resolution?: "accepted" | null;
  under?: Ratio;
  over?: Ratio;
  options?: ReconcileOrder["options"];
}

function order(args: OrderArgs = {}): ReconcileOrder {
  return {
    status: args.status ?? "pending",
    resolution: args.resolution ?? null,
    expiresAt: EXPIRES,
    underTolerance: args.under ?? ZERO,
    overTolerance: args.over ?? ZERO,
    options: args.options ?? [{ asset: "USDT", amountDue: USDT_DUE }],
  };
}

const twoOptions = [
  { asset: "ETH", amountDue: ETH_DUE },
  { asset: "USDT", amountDue: USDT_DUE },
];

function confirmed(amount: bigint, blockTime: number, asset = "USDT"): ReconcilePayment {
  return { asset, amount, status: "confirmed", blockTime, unexpectedAsset: false };
}

/** Mined but short of confirmations (blockTime set), or in the mempool (blockTime null). */
function seen(amount: bigint, blockTime: number | null, asset = "USDT"): ReconcilePayment {
  return { asset, amount, status: "seen", blockTime, unexpectedAsset: false };
}

/** Its block was dropped by a reorg. */
function reverted(amount: bigint, blockTime: number, asset = "USDT"): ReconcilePayment {
  return { asset, amount, status: "reverted", blockTime, unexpectedAsset: false };
}

interface Row {
  name: string;
  order: ReconcileOrder;
  payments: ReconcilePayment[];
  now: number;
  expected: { status: OrderStatus; events: OrderEventType[] };
}

function check(rows: Row[]): void {
  for (const row of rows) {
    it(row.name, () => {
      const result = reconcileOrder(row.order, row.payments, row.now);
      expect({ status: result.status, events: result.events }).toEqual(row.expected);
    });
  }
}

describe("reconcileOrder: statuses before expiry", () => {
  check([
    {
      name: "no payment → pending, no event",
      order: order(),
      payments: [],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "full payment in the mempool → processing",
      order: order(),
      payments: [seen(USDT_DUE, null)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.processing"] },
    },
    {
      name: "full payment mined, short of confirmations → processing",
      order: order(),
      payments: [seen(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.processing"] },
    },
    {
      name: "confirmed partial plus the rest still unconfirmed → processing",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(40_000_000n, BEFORE), seen(60_000_000n, null)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.processing"] },
    },
    {
      name: "seen payment confirms, partial → partially_paid",
      order: order({ status: "processing" }),
      payments: [confirmed(40_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "seen payment confirms, exact → paid",
      order: order({ status: "processing" }),
      payments: [confirmed(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "seen payment confirms, over → overpaid",
      order: order({ status: "processing" }),
      payments: [confirmed(USDT_DUE * 2n, BEFORE)],
      now: BEFORE,
      expected: { status: "overpaid", events: ["order.overpaid"] },
    },
    {
      name: "two confirmed payments adding up to the due → paid",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(40_000_000n, BEFORE), confirmed(60_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "a full payment confirmed while another is still unconfirmed → paid (the rest cannot undo it)",
      order: order({ status: "processing" }),
      payments: [confirmed(USDT_DUE, BEFORE), seen(1n, null)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "status unchanged → no event",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(10_000_000n, BEFORE), confirmed(20_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: [] },
    },
    {
      name: "still processing → no second event",
      order: order({ status: "processing" }),
      payments: [seen(USDT_DUE, null)],
      now: BEFORE,
      expected: { status: "processing", events: [] },
    },
  ]);
});

describe("reconcileOrder: expiry and on-time payments (SPEC §2.3)", () => {
  check([
    {
      name: "nothing paid by expiry → expired",
      order: order(),
      payments: [],
      now: AFTER,
      expected: { status: "expired", events: ["order.expired"] },
    },
    {
      name: "partial money by expiry → expired (paidFraction keeps the amount)",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(40_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "expired", events: ["order.expired"] },
    },
    {
      name: "expiry is strict: now exactly at expires_at is still valid",
      order: order(),
      payments: [],
      now: EXPIRES,
      expected: { status: "pending", events: [] },
    },
    {
      name: "on-time payment still gathering confirmations keeps the order open past expiry",
      order: order({ status: "processing" }),
      payments: [seen(USDT_DUE, BEFORE)],
      now: AFTER,
      expected: { status: "processing", events: [] },
    },
    {
      name: "full payment confirmed after expiry but mined on time → paid",
      order: order({ status: "processing" }),
      payments: [confirmed(USDT_DUE, BEFORE)],
      now: AFTER,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "block time exactly at expires_at is on time → paid",
      order: order({ status: "processing" }),
      payments: [confirmed(USDT_DUE, EXPIRES)],
      now: AFTER,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "on-time block found after the expiry pass (watcher lag) → paid",
      order: order({ status: "expired" }),
      payments: [confirmed(USDT_DUE, EXPIRES - 1)],
      now: AFTER,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "mempool payment after expiry is late: does not hold the order open → expired",
      order: order({ status: "pending" }),
      payments: [seen(USDT_DUE, null)],
      now: AFTER,
      expected: { status: "expired", events: ["order.expired"] },
    },
    {
      name: "payment mined after expiry, not yet confirmed → stays expired",
      order: order({ status: "expired" }),
      payments: [seen(USDT_DUE, EXPIRES + 1)],
      now: AFTER,
      expected: { status: "expired", events: [] },
    },
    {
      name: "on-time partial that confirms after expiry → expired",
      order: order({ status: "processing" }),
      payments: [confirmed(40_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "expired", events: ["order.expired"] },
    },
  ]);
});

describe("reconcileOrder: late payments and terminal statuses", () => {
  check([
    {
      name: "block time one ms after expires_at completing the order → paid_late",
      order: order({ status: "expired" }),
      payments: [confirmed(USDT_DUE, EXPIRES + 1)],
      now: AFTER,
      expected: { status: "paid_late", events: ["order.paid_late"] },
    },
    {
      name: "expired with partial money → paid_late when a late payment completes it",
      order: order({ status: "expired" }),
      payments: [confirmed(40_000_000n, BEFORE), confirmed(60_000_000n, AFTER)],
      now: AFTER,
      expected: { status: "paid_late", events: ["order.paid_late"] },
    },
    {
      name: "late payment larger than due → paid_late (lateness decides, not the surplus)",
      order: order({ status: "expired" }),
      payments: [confirmed(USDT_DUE * 3n, AFTER)],
      now: AFTER,
      expected: { status: "paid_late", events: ["order.paid_late"] },
    },
    {
      name: "late partial → stays expired",
      order: order({ status: "expired" }),
      payments: [confirmed(40_000_000n, AFTER)],
      now: AFTER,
      expected: { status: "expired", events: [] },
    },
    {
      name: "paid, then a late payment on top → overpaid",
      order: order({ status: "paid" }),
      payments: [confirmed(USDT_DUE, BEFORE), confirmed(1n, AFTER)],
      now: AFTER,
      expected: { status: "overpaid", events: ["order.overpaid"] },
    },
    {
      name: "paid, then a late payment still unconfirmed → stays paid",
      order: order({ status: "paid" }),
      payments: [confirmed(USDT_DUE, BEFORE), seen(USDT_DUE, null)],
      now: AFTER,
      expected: { status: "paid", events: [] },
    },
    {
      name: "cancelled stays cancelled when a full payment arrives",
      order: order({ status: "cancelled" }),
      payments: [confirmed(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "cancelled", events: [] },
    },
    {
      name: "cancelled stays cancelled when a payment is seen",
      order: order({ status: "cancelled" }),
      payments: [seen(USDT_DUE, null)],
      now: BEFORE,
      expected: { status: "cancelled", events: [] },
    },
    {
      name: "cancelled stays cancelled after expiry",
      order: order({ status: "cancelled" }),
      payments: [],
      now: AFTER,
      expected: { status: "cancelled", events: [] },
    },
    {
      name: "accepted underpayment stays paid",
      order: order({ status: "paid", resolution: "accepted" }),
      payments: [confirmed(40_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "paid", events: [] },
    },
    {
      name: "accepted underpayment: a reorg that takes its money back unsettles it (expired, no money)",
      order: { ...order({ status: "paid", resolution: "accepted" }), accepted: ratio(40_000_000n, USDT_DUE) },
      payments: [reverted(40_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "expired", events: ["order.unsettled", "order.expired"] },
    },
    {
      name: "accepted underpayment: a reorg that takes part of it back unsettles it (partially_paid)",
      order: { ...order({ status: "paid", resolution: "accepted" }), accepted: ratio(40_000_000n, USDT_DUE) },
      payments: [confirmed(30_000_000n, BEFORE), reverted(10_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.unsettled", "order.partially_paid"] },
    },
    {
      name: "accepted underpayment: more money arriving keeps the accept",
      order: { ...order({ status: "paid", resolution: "accepted" }), accepted: ratio(40_000_000n, USDT_DUE) },
      payments: [confirmed(40_000_000n, BEFORE), confirmed(1_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "paid", events: [] },
    },
  ]);
});

describe("reconcileOrder: payments that never count", () => {
  check([
    {
      name: "unexpected-asset payment (flagged) → not counted",
      order: order(),
      payments: [{ ...confirmed(USDT_DUE, BEFORE), unexpectedAsset: true }],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "payment in an asset the order did not offer → not counted",
      order: order(),
      payments: [confirmed(10n ** 20n, BEFORE, "TRX")],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "unexpected asset seen in the mempool → not processing",
      order: order(),
      payments: [{ ...seen(USDT_DUE, null), unexpectedAsset: true }],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "unexpected asset next to a real partial → partially_paid",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(40_000_000n, BEFORE), { ...confirmed(USDT_DUE, BEFORE), unexpectedAsset: true }],
      now: BEFORE,
      expected: { status: "partially_paid", events: [] },
    },
    {
      name: "reverted payment → not counted",
      order: order(),
      payments: [reverted(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "reverted payment next to a confirmed partial → partially_paid",
      order: order({ status: "partially_paid" }),
      payments: [confirmed(40_000_000n, BEFORE), reverted(60_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: [] },
    },
  ]);
});

describe("reconcileOrder: reorgs take back counted payments", () => {
  check([
    {
      name: "paid → partially_paid: order.unsettled first, then the new status",
      order: order({ status: "paid" }),
      payments: [confirmed(40_000_000n, BEFORE), reverted(60_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.unsettled", "order.partially_paid"] },
    },
    {
      name: "paid → processing when the transaction drops back to the mempool",
      order: order({ status: "paid" }),
      payments: [seen(USDT_DUE, null)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.unsettled", "order.processing"] },
    },
    {
      name: "paid → processing when the transaction is re-mined in a newer block",
      order: order({ status: "paid" }),
      payments: [reverted(USDT_DUE, BEFORE), seen(USDT_DUE, BEFORE + MINUTE)],
      now: AFTER,
      expected: { status: "processing", events: ["order.unsettled", "order.processing"] },
    },
    {
      name: "paid → expired when the only payment is gone after expiry",
      order: order({ status: "paid" }),
      payments: [reverted(USDT_DUE, BEFORE)],
      now: AFTER,
      expected: { status: "expired", events: ["order.unsettled", "order.expired"] },
    },
    {
      name: "paid → expired with partial money left after expiry",
      order: order({ status: "paid" }),
      payments: [confirmed(40_000_000n, BEFORE), reverted(60_000_000n, BEFORE)],
      now: AFTER,
      expected: { status: "expired", events: ["order.unsettled", "order.expired"] },
    },
    {
      name: "paid → pending before expiry: order.unsettled only (there is no order.pending event)",
      order: order({ status: "paid" }),
      payments: [reverted(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "pending", events: ["order.unsettled"] },
    },
    {
      name: "overpaid → paid when the surplus payment is reverted: still settled, no unsettled",
      order: order({ status: "overpaid" }),
      payments: [confirmed(USDT_DUE, BEFORE), reverted(1n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "overpaid → partially_paid",
      order: order({ status: "overpaid" }),
      payments: [reverted(USDT_DUE * 2n, BEFORE), confirmed(1n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.unsettled", "order.partially_paid"] },
    },
    {
      name: "paid_late → expired when the late payment is reverted",
      order: order({ status: "paid_late" }),
      payments: [reverted(USDT_DUE, AFTER)],
      now: AFTER,
      expected: { status: "expired", events: ["order.unsettled", "order.expired"] },
    },
    {
      name: "partially_paid → pending: not settled before, so no unsettled and no event",
      order: order({ status: "partially_paid" }),
      payments: [reverted(40_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
  ]);
});

describe("reconcileOrder: tolerance edges (100 USDT due, currency USD at 2 decimals)", () => {
  const amount = 10_000n; // 100.00 USD
  const under = (text: string): Ratio => parseTolerance(text, amount, 2);
  check([
    {
      name: "default tolerances, one unit short → partially_paid",
      order: order(),
      payments: [confirmed(USDT_DUE - 1n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "default tolerances, exact → paid",
      order: order(),
      payments: [confirmed(USDT_DUE, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "default tolerances, one unit over → overpaid",
      order: order(),
      payments: [confirmed(USDT_DUE + 1n, BEFORE)],
      now: BEFORE,
      expected: { status: "overpaid", events: ["order.overpaid"] },
    },
    {
      name: "under tolerance 1.5 USD, exactly 98.5 USDT → paid",
      order: order({ under: under("1.5") }),
      payments: [confirmed(98_500_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "under tolerance 1.5 USD, one unit below the bound → partially_paid",
      order: order({ under: under("1.5") }),
      payments: [confirmed(98_499_999n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "under tolerance 0.5%, exactly 99.5 USDT → paid",
      order: order({ under: under("0.5%") }),
      payments: [confirmed(99_500_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "under tolerance 0.5%, one unit below the bound → partially_paid",
      order: order({ under: under("0.5%") }),
      payments: [confirmed(99_499_999n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "under tolerance 1% on ETH, bound 33000000000000000.66 wei: the next whole wei → paid",
      order: order({ under: under("1%"), options: twoOptions }),
      payments: [confirmed(33_000_000_000_000_001n, BEFORE, "ETH")],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "under tolerance 1% on ETH, one wei below → partially_paid",
      order: order({ under: under("1%"), options: twoOptions }),
      payments: [confirmed(33_000_000_000_000_000n, BEFORE, "ETH")],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "under tolerance: on-time payment at the bound, confirmed after expiry → paid",
      order: order({ status: "processing", under: under("1.5") }),
      payments: [confirmed(98_500_000n, EXPIRES)],
      now: AFTER,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "under tolerance: late payment at the bound → paid_late",
      order: order({ status: "expired", under: under("1.5") }),
      payments: [confirmed(98_500_000n, AFTER)],
      now: AFTER,
      expected: { status: "paid_late", events: ["order.paid_late"] },
    },
    {
      name: "over tolerance 1%, exactly 101 USDT → paid",
      order: order({ over: ratio(1n, 100n) }),
      payments: [confirmed(101_000_000n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "over tolerance 1%, one unit above the bound → overpaid",
      order: order({ over: ratio(1n, 100n) }),
      payments: [confirmed(101_000_001n, BEFORE)],
      now: BEFORE,
      expected: { status: "overpaid", events: ["order.overpaid"] },
    },
    {
      name: "over tolerance 1%: paid plus a late payment still inside the bound → stays paid",
      order: order({ status: "paid", over: ratio(1n, 100n) }),
      payments: [confirmed(USDT_DUE, BEFORE), confirmed(1_000_000n, AFTER)],
      now: AFTER,
      expected: { status: "paid", events: [] },
    },
    {
      name: "tolerance 100%: no payment at all is still pending, not paid",
      order: order({ under: under("100%") }),
      payments: [],
      now: BEFORE,
      expected: { status: "pending", events: [] },
    },
    {
      name: "tolerance 100%: a payment still in the mempool → processing, not paid",
      order: order({ under: under("100%") }),
      payments: [seen(1n, null)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.processing"] },
    },
    {
      name: 'tolerance of the whole amount (absolute "100"): nothing paid by expiry → expired',
      order: order({ under: under("100") }),
      payments: [],
      now: AFTER,
      expected: { status: "expired", events: ["order.expired"] },
    },
    {
      name: "tolerance 100%: any confirmed money → paid",
      order: order({ under: under("100%") }),
      payments: [confirmed(1n, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
  ]);
});

describe("reconcileOrder: mixed assets on a two-option order (ETH or USDT)", () => {
  const halfEth = ETH_DUE / 2n; // ETH_DUE is even: exactly half
  const halfUsdt = USDT_DUE / 2n;
  check([
    {
      name: "half in ETH and half in USDT → paid",
      order: order({ options: twoOptions }),
      payments: [confirmed(halfEth, BEFORE, "ETH"), confirmed(halfUsdt, BEFORE)],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "half in ETH and half in USDT less one unit → partially_paid",
      order: order({ options: twoOptions }),
      payments: [confirmed(halfEth, BEFORE, "ETH"), confirmed(halfUsdt - 1n, BEFORE)],
      now: BEFORE,
      expected: { status: "partially_paid", events: ["order.partially_paid"] },
    },
    {
      name: "half in ETH and half in USDT plus one wei → overpaid",
      order: order({ options: twoOptions }),
      payments: [confirmed(halfEth + 1n, BEFORE, "ETH"), confirmed(halfUsdt, BEFORE)],
      now: BEFORE,
      expected: { status: "overpaid", events: ["order.overpaid"] },
    },
    {
      name: "half confirmed in ETH, half in USDT still unconfirmed → processing",
      order: order({ status: "partially_paid", options: twoOptions }),
      payments: [confirmed(halfEth, BEFORE, "ETH"), seen(halfUsdt, null)],
      now: BEFORE,
      expected: { status: "processing", events: ["order.processing"] },
    },
    {
      name: "full amount in either asset alone → paid",
      order: order({ options: twoOptions }),
      payments: [confirmed(ETH_DUE, BEFORE, "ETH")],
      now: BEFORE,
      expected: { status: "paid", events: ["order.paid"] },
    },
    {
      name: "half on time in ETH, half late in USDT → paid_late",
      order: order({ status: "expired", options: twoOptions }),
      payments: [confirmed(halfEth, BEFORE, "ETH"), confirmed(halfUsdt, AFTER)],
      now: AFTER,
      expected: { status: "paid_late", events: ["order.paid_late"] },
    },
  ]);
});

describe("reconcileOrder: paid and pending fractions", () => {
  const rows: {
    name: string;
    payments: ReconcilePayment[];
    paid: [bigint, bigint];
    pending: [bigint, bigint];
  }[] = [
    { name: "nothing", payments: [], paid: [0n, 1n], pending: [0n, 1n] },
    {
      name: "40% confirmed, 60% seen",
      payments: [confirmed(40_000_000n, BEFORE), seen(60_000_000n, null)],
      paid: [2n, 5n],
      pending: [3n, 5n],
    },
    {
      name: "late money counts in paidFraction",
      payments: [confirmed(40_000_000n, BEFORE), confirmed(40_000_000n, AFTER)],
      paid: [4n, 5n],
      pending: [0n, 1n],
    },
    {
      name: "half in each asset sums to exactly one",
      payments: [confirmed(ETH_DUE / 2n, BEFORE, "ETH"), confirmed(USDT_DUE / 2n, BEFORE)],
      paid: [1n, 1n],
      pending: [0n, 1n],
    },
    {
      name: "reverted and unexpected payments are in neither",
      payments: [
        reverted(USDT_DUE, BEFORE),
        { ...confirmed(USDT_DUE, BEFORE), unexpectedAsset: true },
        { ...seen(USDT_DUE, null), unexpectedAsset: true },
        confirmed(USDT_DUE, BEFORE, "TRX"),
      ],
      paid: [0n, 1n],
      pending: [0n, 1n],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const result = reconcileOrder(order({ options: twoOptions }), row.payments, AFTER);
      expect(compareRatio(result.paidFraction, ratio(...row.paid))).toBe(0);
      expect(compareRatio(result.pendingFraction, ratio(...row.pending))).toBe(0);
    });
  }
});

describe("reconcileOrder: properties", () => {
  const payment = fc.record({
    asset: fc.constantFrom("ETH", "USDT", "TRX"),
    amount: fc.bigInt({ min: 0n, max: 2n * ETH_DUE }),
    status: fc.constantFrom("seen" as const, "confirmed" as const, "reverted" as const),
    blockTime: fc.option(fc.integer({ min: CREATED, max: AFTER }), { nil: null }),
    unexpectedAsset: fc.boolean(),
  });
  const status = fc.constantFrom<OrderStatus>("pending", "processing", "partially_paid", "paid", "expired");

  it("does not depend on the order payments are listed in", () => {
    fc.assert(
      fc.property(
        fc.array(payment, { maxLength: 6 }),
        status,
        fc.integer({ min: CREATED, max: AFTER }),
        (ps, s, now) => {
          const o = order({ status: s, options: twoOptions });
          const forward = reconcileOrder(o, ps, now);
          const backward = reconcileOrder(o, [...ps].reverse(), now);
          expect(backward.status).toBe(forward.status);
          expect(backward.events).toEqual(forward.events);
        },
      ),
      { seed: 20261122, numRuns: 300 },
    );
  });

  it("emits exactly one order event for the new status when it changes, none otherwise", () => {
    fc.assert(
      fc.property(
        fc.array(payment, { maxLength: 6 }),
        status,
        fc.integer({ min: CREATED, max: AFTER }),
        (ps, s, now) => {
          const result = reconcileOrder(order({ status: s, options: twoOptions }), ps, now);
          const statusEvents = result.events.filter((e) => e !== "order.unsettled");
          if (result.status === s || result.status === "pending") expect(statusEvents).toEqual([]);
          else expect(statusEvents).toEqual([`order.${result.status}`]);
        },
      ),
      { seed: 20261122, numRuns: 300 },
    );
  });
});

describe("parseTolerance", () => {
  const amount = 10_000n; // 100.00 in a 2-decimal currency
  const accepted: { text: string; expected: [bigint, bigint] }[] = [
    { text: "0", expected: [0n, 1n] },
    { text: "1.5", expected: [150n, 10_000n] },
    { text: "0.01", expected: [1n, 10_000n] },
    { text: "100", expected: [1n, 1n] }, // the whole amount: allowed, not more
    { text: "0%", expected: [0n, 1n] },
    { text: "0.5%", expected: [1n, 200n] },
    { text: "0.000001%", expected: [1n, 100_000_000n] },
    { text: "100%", expected: [1n, 1n] },
  ];
  for (const row of accepted) {
    it(`"${row.text}" → ${row.expected.join("/")} of the order`, () => {
      expect(compareRatio(parseTolerance(row.text, amount, 2), ratio(...row.expected))).toBe(0);
    });
  }

  const rejected: { name: string; text: string; amount?: bigint; message?: string }[] = [
    { name: "more than 100%", text: "101%", message: "≤ 100%" },
    { name: "just over 100%", text: "100.000001%", message: "≤ 100%" },
    { name: "more decimals than the currency", text: "1.005", message: "at most 2 allowed" },
    { name: "more than the order amount", text: "100.01", message: "must not exceed" },
    { name: "percentage with 7 decimals", text: "0.0000001%" },
    { name: "empty", text: "" },
    { name: "bare percent sign", text: "%" },
    { name: "negative", text: "-1" },
    { name: "negative percentage", text: "-1%" },
    { name: "double percent sign", text: "1%%" },
    { name: "space before percent sign", text: "0.5 %" },
    { name: "exponent", text: "1e1" },
    { name: "absolute tolerance on a zero amount", text: "0", amount: 0n, message: "must be > 0" },
  ];
  for (const row of rejected) {
    it(`rejects ${row.name}: ${JSON.stringify(row.text)}`, () => {
      const parse = (): Ratio => parseTolerance(row.text, row.amount ?? amount, 2);
      expect(parse).toThrow(AmountError);
      if (row.message) expect(parse).toThrow(row.message);
    });
  }
});
