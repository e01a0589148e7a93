// What a payment found on chain means (SPEC §2.3): which order it belongs to, whether it counts
// yet, and which events its change produces. Pure; the ledger loads the rows and writes the answer.
import type { FoundVia } from "../chains/types.js";
import type { PaymentStatus } from "./reconcile.js";

export type PaymentEventType =
  "payment.seen" | "payment.confirmed" | "payment.reverted" | "payment.unattributed";

/** block clocks may run behind ours (Bitcoin allows hours of skew): grace before "mined before the order" */
export const BINDING_CLOCK_GRACE_MS = 2 * 3600_000;

/**
 * A transfer mined well before its address was bound to the order was meant for someone else (a
 * watcher catching up after an outage reaches it only now): it is not the bound order's.
 */
export function belongsToBinding(boundAt: number, blockTime: number | null): boolean {
  return blockTime === null || blockTime >= boundAt - BINDING_CLOCK_GRACE_MS;
}

/** Late when its block time (now, while in a mempool) is past the order's expiry. */
export function isLate(blockTime: number | null, expiresAt: number, now: number): boolean {
  return (blockTime ?? now) > expiresAt;
}

export interface ChainHeads {
  head: number;
  solid?: number;
}

/** How many confirmations the asset needs; "solidified" = at or below the chain's irreversible head. */
export type ConfirmationRule = number | "solidified";

/** Deep enough to count: `head − block + 1` ≥ the asset's rule and the output's own minimum (coinbase). */
export function isConfirmed(
  blockNumber: number | null,
  minConfirmations: number,
  need: ConfirmationRule,
  heads: ChainHeads,
): boolean {
  if (blockNumber === null) return false;
  const depth = heads.head - blockNumber + 1;
  if (depth < minConfirmations) return false; // e.g. an immature coinbase output
  if (need === "solidified") return heads.solid !== undefined && blockNumber <= heads.solid;
  return depth >= need;
}

export interface NewPayment {
  status: PaymentStatus;
  late: boolean;
  unexpectedAsset: boolean;
  events: PaymentEventType[];
}

/**
 * A transfer stored for the first time. `order` is the order it is attributed to (undefined:
 * unattributed); found already deep enough (catch-up), it is stored confirmed and reported seen
 * and confirmed at once.
 */
export function newPayment(
  t: { asset: string; blockTime: number | null; confirmed: boolean },
  order: { expiresAt: number; assets: readonly string[] } | undefined,
  now: number,
): NewPayment {
  const status = t.confirmed ? "confirmed" : "seen";
  if (!order) return { status, late: false, unexpectedAsset: false, events: ["payment.unattributed"] };
  return {
    status,
    late: isLate(t.blockTime, order.expiresAt, now),
    unexpectedAsset: !order.assets.includes(t.asset),
    events: t.confirmed ? ["payment.seen", "payment.confirmed"] : ["payment.seen"],
  };
}

/**
 * A stored payment found in another block (a reorg moved it), or again after it was reverted:
 * confirmations count from the new block; a payment that stays confirmed is not reported again.
 */
export function movedPayment(
  before: PaymentStatus,
  confirmed: boolean,
): { status: PaymentStatus; events: PaymentEventType[] } {
  const status = confirmed ? "confirmed" : "seen";
  if (before === "reverted")
    return { status, events: confirmed ? ["payment.seen", "payment.confirmed"] : ["payment.seen"] };
  if (before === "seen" && confirmed) return { status, events: ["payment.confirmed"] };
  return { status, events: [] };
}

/** An unattributed payment assigned to an order by hand is reported as what it is now. */
export function assignedPayment(
  p: { asset: string; status: PaymentStatus; blockTime: number | null },
  order: { expiresAt: number; assets: readonly string[] },
  now: number,
): { late: boolean; unexpectedAsset: boolean; events: PaymentEventType[] } | { refused: string } {
  // a reverted payment is money that is not there: it must not turn an order paid, nor say "seen"
  if (p.status === "reverted")
    return { refused: "payment is reverted; only seen or confirmed payments can be assigned" };
  return {
    late: isLate(p.blockTime, order.expiresAt, now),
    unexpectedAsset: !order.assets.includes(p.asset),
    events: p.status === "confirmed" ? ["payment.confirmed"] : ["payment.seen"],
  };
}

/** How a payment stored before the via column (migration 0009) was found: exact, since every
 *  payment then was a Bitcoin output, a token log, or a top-level native transaction. */
export function paymentVia(kind: "evm" | "tron" | "bitcoin" | undefined, token: boolean): FoundVia {
  return kind === "bitcoin" ? "output" : token ? "log" : "transaction";
}
