// The order state machine (SPEC §2.2): one pure function from an order, its payments and the
// time to its status. Like BTCPay's InvoiceWatcher.UpdateInvoice it changes nothing and does no
// I/O; callers store the result and its events in the same transaction.
import { type Ratio, AmountError, addRatio, compareRatio, parseAmount, ratio } from "./amount.js";

export const ORDER_STATUSES = [
  "pending",
  "processing",
  "partially_paid",
  "paid",
  "overpaid",
  "expired",
  "paid_late",
  "cancelled",
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const SETTLED: ReadonlySet<OrderStatus> = new Set(["paid", "overpaid", "paid_late"]);
export const TERMINAL: ReadonlySet<OrderStatus> = new Set([
  "paid",
  "overpaid",
  "expired",
  "paid_late",
  "cancelled",
]);

/** still waiting for money: the timer expires these */
export const OPEN: ReadonlySet<OrderStatus> = new Set(ORDER_STATUSES.filter((s) => !TERMINAL.has(s)));

export const PAYMENT_STATUSES = ["seen", "confirmed", "reverted"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface ReconcileOption {
  asset: string;
  /** asset base units due for the whole order */
  amountDue: bigint;
}

export interface ReconcilePayment {
  asset: string;
  amount: bigint;
  status: PaymentStatus;
  /** block time in ms; null while unconfirmed in a mempool (treated as "now") */
  blockTime: number | null;
  unexpectedAsset: boolean;
}

export interface ReconcileOrder {
  status: OrderStatus;
  /** set when the merchant accepted an underpayment by hand */
  resolution: "accepted" | null;
  /** what the accept settled, as a fraction of the order: it stands while confirmed money covers it */
  accepted?: Ratio;
  expiresAt: number;
  /** fraction of the order that may be missing and still count as paid */
  underTolerance: Ratio;
  /** fraction of the order that may be paid on top and still count as paid (not overpaid) */
  overTolerance: Ratio;
  options: readonly ReconcileOption[];
}

export interface Reconciliation {
  status: OrderStatus;
  /** confirmed, counted payments as a fraction of the order (1/1 = exactly the amount due) */
  paidFraction: Ratio;
  /** seen, not yet confirmed, as a fraction of the order */
  pendingFraction: Ratio;
  /** order events to append, in order: a status change, and `order.unsettled` when a reorg undid a settled order */
  events: OrderEventType[];
  /** null when an accept no longer stands (a reorg took the money it accepted) */
  resolution: "accepted" | null;
}

export type OrderEventType = `order.${OrderStatus}` | "order.unsettled";

const ZERO: Ratio = { num: 0n, den: 1n };
const ONE: Ratio = { num: 1n, den: 1n };

export function reconcileOrder(
  order: ReconcileOrder,
  payments: readonly ReconcilePayment[],
  now: number,
): Reconciliation {
  const due = new Map(order.options.map((o) => [o.asset, o.amountDue]));
  let onTime = ZERO;
  let all = ZERO;
  let pending = ZERO;
  let pendingOnTime = false;
  for (const p of payments) {
    if (p.status === "reverted" || p.unexpectedAsset) continue;
    const d = due.get(p.asset);
    if (d === undefined || d <= 0n) continue;
    const part = ratio(p.amount, d);
    if (p.status === "confirmed") {
      all = addRatio(all, part);
      if (p.blockTime !== null && p.blockTime <= order.expiresAt) onTime = addRatio(onTime, part);
    } else {
      pending = addRatio(pending, part);
      if ((p.blockTime ?? now) <= order.expiresAt) pendingOnTime = true;
    }
  }

  const lower = addRatio(ONE, ratio(-order.underTolerance.num, order.underTolerance.den));
  const upper = addRatio(ONE, order.overTolerance);
  // A hand accept settles the money that was there: when a reorg takes part of it away, the
  // accept no longer stands and the order is what its payments make it.
  const acceptStands =
    order.resolution === "accepted" && compareRatio(all, order.accepted ?? ZERO) >= 0 && all.num > 0n;
  const status = nextStatus();
  const events: OrderEventType[] = [];
  if (status !== order.status) {
    if (SETTLED.has(order.status) && !SETTLED.has(status)) events.push("order.unsettled");
    if (status !== "pending") events.push(`order.${status}`);
  }
  return {
    status,
    paidFraction: all,
    pendingFraction: pending,
    events,
    resolution: acceptStands ? "accepted" : null,
  };

  function nextStatus(): OrderStatus {
    // The merchant's decisions stand: payments on a cancelled or hand-accepted order are
    // recorded and reported, but do not move its status.
    if (order.status === "cancelled") return "cancelled";
    if (acceptStands) return "paid";
    // Settling needs money that arrived: a 100% tolerance must not mark an unpaid order paid.
    if (onTime.num > 0n && compareRatio(onTime, lower) >= 0) {
      return compareRatio(all, upper) > 0 ? "overpaid" : "paid";
    }
    if (all.num > 0n && compareRatio(all, lower) >= 0) return "paid_late";
    const expired = now > order.expiresAt;
    // An on-time payment still gathering confirmations keeps the order open past expiry.
    if (expired && !pendingOnTime) return "expired";
    if (pending.num > 0n) return "processing";
    if (all.num > 0n) return "partially_paid";
    return expired ? "expired" : "pending";
  }
}

/**
 * "0" / "1.5" (in the order's currency) or "0.5%" → the tolerated fraction of the order amount.
 * Throws AmountError with a message naming what is wrong.
 */
export function parseTolerance(text: string, amount: bigint, currencyDecimals: number): Ratio {
  if (text.endsWith("%")) {
    const pct = text.slice(0, -1);
    const units = parseAmount(pct, 6);
    if (units > 100n * 10n ** 6n) throw new AmountError("a percentage tolerance must be ≤ 100%");
    return ratio(units, 100n * 10n ** 6n);
  }
  const units = parseAmount(text, currencyDecimals);
  if (amount <= 0n) throw new AmountError("order amount must be > 0");
  if (units > amount) throw new AmountError("tolerance must not exceed the order amount");
  return ratio(units, amount);
}
