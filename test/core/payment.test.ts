// What a found payment means, one row per rule: attribution (with the binding clock grace),
// lateness, confirmations, and the events each change produces.
import { describe, expect, it } from "vitest";
import {
  BINDING_CLOCK_GRACE_MS,
  type ConfirmationRule,
  assignedPayment,
  belongsToBinding,
  isConfirmed,
  isLate,
  movedPayment,
  newPayment,
} from "../../src/core/payment.js";
import type { PaymentStatus } from "../../src/core/reconcile.js";

const BOUND = 10_000_000_000;
const EXPIRES = BOUND + 30 * 60_000;

describe("belongsToBinding", () => {
  const rows: [string, number | null, boolean][] = [
    ["behavior: mined after the binding began", BOUND + 1, true],
    ["behavior: mined at the binding", BOUND, true],
    ["behavior: block clock behind by up to 2 hours still counts", BOUND - BINDING_CLOCK_GRACE_MS, true],
    [
      "behavior: mined more than 2 hours before the binding: someone else's",
      BOUND - BINDING_CLOCK_GRACE_MS - 1,
      false,
    ],
    ["behavior: in the mempool (no block time) belongs to the live binding", null, true],
  ];
  it.each(rows)("%s", (_n, blockTime, expected) => expect(belongsToBinding(BOUND, blockTime)).toBe(expected));
  it("default: the grace is 2 hours", () => expect(BINDING_CLOCK_GRACE_MS).toBe(7_200_000));
});

describe("isLate", () => {
  const rows: [string, number | null, number, boolean][] = [
    ["behavior: block at expiry is on time", EXPIRES, EXPIRES + 5, false],
    ["behavior: block after expiry is late", EXPIRES + 1, EXPIRES + 5, true],
    ["behavior: in the mempool, judged by now", null, EXPIRES, false],
    ["behavior: in the mempool after expiry", null, EXPIRES + 1, true],
  ];
  it.each(rows)("%s", (_n, blockTime, now, expected) =>
    expect(isLate(blockTime, EXPIRES, now)).toBe(expected),
  );
});

describe("isConfirmed", () => {
  const rows: [string, number | null, number, ConfirmationRule, { head: number; solid?: number }, boolean][] =
    [
      ["behavior: 1 confirmation at the head", 100, 0, 1, { head: 100 }, true],
      ["behavior: above the head is not confirmed", 101, 0, 1, { head: 100 }, false],
      ["behavior: 3 needed, depth 2", 99, 0, 3, { head: 100 }, false],
      ["behavior: 3 needed, depth 3", 98, 0, 3, { head: 100 }, true],
      ["behavior: unmined never counts", null, 0, 1, { head: 100 }, false],
      ["behavior: a coinbase needs its 100 even when the asset needs 1", 50, 100, 1, { head: 100 }, false],
      ["behavior: a coinbase at depth 100", 1, 100, 1, { head: 100 }, true],
      ["behavior: solidified: at the solid head", 90, 0, "solidified", { head: 100, solid: 90 }, true],
      ["behavior: solidified: above the solid head", 91, 0, "solidified", { head: 100, solid: 90 }, false],
      ["behavior: solidified: no solid head known", 10, 0, "solidified", { head: 100 }, false],
    ];
  it.each(rows)("%s", (_n, block, min, need, heads, expected) =>
    expect(isConfirmed(block, min, need, heads)).toBe(expected),
  );
});

describe("newPayment", () => {
  const order = { expiresAt: EXPIRES, assets: ["ETH", "USDT"] };
  const rows: [
    string,
    Parameters<typeof newPayment>[0],
    typeof order | undefined,
    ReturnType<typeof newPayment>,
  ][] = [
    [
      "behavior: seen on time for an offered asset",
      { asset: "ETH", blockTime: BOUND, confirmed: false },
      order,
      { status: "seen", late: false, unexpectedAsset: false, events: ["payment.seen"] },
    ],
    [
      "behavior: found already deep enough: seen and confirmed at once",
      { asset: "ETH", blockTime: BOUND, confirmed: true },
      order,
      {
        status: "confirmed",
        late: false,
        unexpectedAsset: false,
        events: ["payment.seen", "payment.confirmed"],
      },
    ],
    [
      "behavior: an asset the order did not offer",
      { asset: "BTC", blockTime: BOUND, confirmed: false },
      order,
      { status: "seen", late: false, unexpectedAsset: true, events: ["payment.seen"] },
    ],
    [
      "behavior: mined after expiry is late",
      { asset: "USDT", blockTime: EXPIRES + 1, confirmed: true },
      order,
      {
        status: "confirmed",
        late: true,
        unexpectedAsset: false,
        events: ["payment.seen", "payment.confirmed"],
      },
    ],
    [
      "behavior: no order: unattributed, neither late nor unexpected",
      { asset: "ETH", blockTime: EXPIRES + 1, confirmed: true },
      undefined,
      { status: "confirmed", late: false, unexpectedAsset: false, events: ["payment.unattributed"] },
    ],
  ];
  it.each(rows)("%s", (_n, t, o, expected) => expect(newPayment(t, o, BOUND)).toEqual(expected));
});

describe("movedPayment", () => {
  const rows: [string, PaymentStatus, boolean, ReturnType<typeof movedPayment>][] = [
    [
      "behavior: re-found after a revert, not yet deep",
      "reverted",
      false,
      { status: "seen", events: ["payment.seen"] },
    ],
    [
      "behavior: re-found after a revert, deep enough",
      "reverted",
      true,
      { status: "confirmed", events: ["payment.seen", "payment.confirmed"] },
    ],
    [
      "behavior: moved while seen, now deep enough",
      "seen",
      true,
      { status: "confirmed", events: ["payment.confirmed"] },
    ],
    ["behavior: moved while seen, still shallow", "seen", false, { status: "seen", events: [] }],
    ["behavior: stays confirmed: not reported again", "confirmed", true, { status: "confirmed", events: [] }],
    [
      "behavior: confirmed, moved to a shallow block: back to seen, silently",
      "confirmed",
      false,
      { status: "seen", events: [] },
    ],
  ];
  it.each(rows)("%s", (_n, before, confirmed, expected) =>
    expect(movedPayment(before, confirmed)).toEqual(expected),
  );
});

describe("assignedPayment", () => {
  const order = { expiresAt: EXPIRES, assets: ["ETH"] };
  const rows: [string, Parameters<typeof assignedPayment>[0], number, ReturnType<typeof assignedPayment>][] =
    [
      [
        "behavior: a confirmed payment is reported confirmed",
        { asset: "ETH", status: "confirmed", blockTime: BOUND },
        BOUND,
        { late: false, unexpectedAsset: false, events: ["payment.confirmed"] },
      ],
      [
        "behavior: a seen payment of another asset, after expiry",
        { asset: "BTC", status: "seen", blockTime: EXPIRES + 1 },
        BOUND,
        { late: true, unexpectedAsset: true, events: ["payment.seen"] },
      ],
      [
        "behavior: unmined, assigned after expiry: late by now",
        { asset: "ETH", status: "seen", blockTime: null },
        EXPIRES + 1,
        { late: true, unexpectedAsset: false, events: ["payment.seen"] },
      ],
      [
        "error: a reverted payment is refused (no event)",
        { asset: "ETH", status: "reverted", blockTime: BOUND },
        BOUND,
        { refused: "payment is reverted; only seen or confirmed payments can be assigned" },
      ],
    ];
  it.each(rows)("%s", (_n, p, now, expected) => expect(assignedPayment(p, order, now)).toEqual(expected));
});
