// Cancel and accept as decisions on an order's status, one row per status.
import { describe, expect, it } from "vitest";
import { ORDER_STATUSES, type OrderStatus } from "../../src/core/reconcile.js";
import { decideAccept, decideCancel } from "../../src/core/resolution.js";

describe("decideCancel", () => {
  const expected: Record<OrderStatus, "resolve" | "unchanged" | "refused"> = {
    pending: "resolve",
    processing: "resolve",
    partially_paid: "resolve",
    expired: "resolve",
    paid: "refused",
    overpaid: "refused",
    paid_late: "refused",
    cancelled: "unchanged",
  };
  it.each(ORDER_STATUSES.map((s) => [s, expected[s]] as const))("behavior: %s → %s", (status, kind) => {
    const d = decideCancel(status);
    expect(d.kind).toBe(kind);
    if (d.kind === "resolve")
      expect(d).toEqual({ kind, resolution: null, status: "cancelled", event: "order.cancelled" });
    if (d.kind === "refused") expect(d.detail).toBe(`order is ${status}; a paid order cannot be cancelled`);
  });
});

describe("decideAccept", () => {
  const rows: [OrderStatus, bigint, "resolve" | "refused"][] = [
    ["partially_paid", 1n, "resolve"],
    ["expired", 1n, "resolve"],
    ["expired", 0n, "refused"],
    ["pending", 0n, "refused"],
    ["processing", 0n, "refused"],
    ["paid", 100n, "refused"],
    ["overpaid", 100n, "refused"],
    ["paid_late", 100n, "refused"],
    ["cancelled", 1n, "refused"],
  ];
  it.each(rows)("behavior: %s with %s paid → %s", (status, paid, kind) => {
    const d = decideAccept(status, paid);
    expect(d.kind).toBe(kind);
    if (d.kind === "resolve")
      expect(d).toEqual({ kind, resolution: "accepted", status: "paid", event: "order.paid" });
    if (d.kind === "refused") expect(d.detail).toMatch(new RegExp(`\\(order is ${status}\\)$`));
  });
});
