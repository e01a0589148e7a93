// The merchant's hand on an order (SPEC §2.4): cancel and accept, as decisions on its status.
import type { OrderStatus } from "./reconcile.js";
import { SETTLED } from "./reconcile.js";

export type Resolution =
  | { kind: "unchanged" }
  | {
      kind: "resolve";
      resolution: "accepted" | null;
      status: OrderStatus;
      event: "order.cancelled" | "order.paid";
    }
  | { kind: "refused"; detail: string };

/** Cancel is refused once paid; cancelling twice changes nothing. */
export function decideCancel(status: OrderStatus): Resolution {
  if (status === "cancelled") return { kind: "unchanged" };
  if (SETTLED.has(status))
    return { kind: "refused", detail: `order is ${status}; a paid order cannot be cancelled` };
  return { kind: "resolve", resolution: null, status: "cancelled", event: "order.cancelled" };
}

/** Accept settles an underpayment by hand: partially_paid, or expired with money received. */
export function decideAccept(status: OrderStatus, paidAmount: bigint): Resolution {
  if (status === "partially_paid" || (status === "expired" && paidAmount > 0n))
    return { kind: "resolve", resolution: "accepted", status: "paid", event: "order.paid" };
  return {
    kind: "refused",
    detail: `only a partially_paid order, or an expired one with money received, can be accepted (order is ${status})`,
  };
}
