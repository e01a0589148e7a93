// The deposit-account rules and the shared paging cursors, table-tested.
import { describe, expect, it } from "vitest";
import {
  accountChains,
  decideAccountCreate,
  decideClose,
  depositEvents,
  newDeposit,
} from "../../src/core/account.js";
import { decodeCursor, encodeCursor } from "../../src/core/paging.js";

describe("deposit account rules", () => {
  it.each([
    [undefined, "h1", "create"],
    [{ requestHash: "h1" }, "h1", "existing"],
    [{ requestHash: "h1" }, "h2", "conflict"],
  ] as const)("create with existing %o and hash %s → %s", (existing, hash, want) => {
    expect(decideAccountCreate(existing, hash)).toBe(want);
  });

  const configured = [
    { id: "eth", purpose: "both" },
    { id: "tron", purpose: "accounts" },
    { id: "btc", purpose: "orders" },
  ] as const;
  it.each([
    [undefined, { ok: true, chains: ["eth", "tron"] }],
    [["tron"], { ok: true, chains: ["tron"] }],
    [["btc"], { ok: false, path: "chains[0]", message: "the pool of chain btc serves orders only" }],
    [["eth", "sol"], { ok: false, path: "chains[1]", message: "unknown chain sol" }],
    [["eth", "eth"], { ok: false, path: "chains[1]", message: "chain eth is listed twice" }],
  ] as const)("chains %o → %o", (requested, want) => {
    expect(accountChains(requested, configured)).toEqual(want);
  });
  it("behavior: no pool for accounts at all is a clear error", () => {
    expect(accountChains(undefined, [{ id: "btc", purpose: "orders" }])).toEqual({
      ok: false,
      path: "chains",
      message: "no configured chain has a pool for accounts",
    });
  });

  it.each([
    ["open", "close"],
    ["closed", "unchanged"],
  ] as const)("close %s → %s", (status, want) => expect(decideClose(status)).toBe(want));

  it.each([
    [["payment.seen"], ["deposit.seen"]],
    [
      ["payment.seen", "payment.confirmed"],
      ["deposit.seen", "deposit.confirmed"],
    ],
    [["payment.reverted"], ["deposit.reverted"]],
    [["payment.unattributed"], []],
    [[], []],
  ] as const)("payment events %o → deposit events %o", (types, want) => {
    expect(depositEvents(types)).toEqual(want);
  });

  it.each([
    [false, { status: "seen", events: ["deposit.seen"] }],
    [true, { status: "confirmed", events: ["deposit.seen", "deposit.confirmed"] }],
  ] as const)("new deposit confirmed=%s → %o", (confirmed, want) => {
    expect(newDeposit(confirmed)).toEqual(want);
  });
});

describe("paging cursors", () => {
  it.each([[[1700000000000, "acc_01"]], [["x"]], [[0, 1, "z"]]] as const)("round trip %o", (key) => {
    expect(decodeCursor(encodeCursor(key), key.length)).toEqual(key);
  });
  it.each([
    ["garbage!", 2],
    [encodeCursor([1, "a"]), 3],
    [Buffer.from("{}").toString("base64url"), 1],
    [Buffer.from("not json").toString("base64url"), 1],
    [encodeCursor([1.5]), 1],
    [Buffer.from("[null]").toString("base64url"), 1],
  ] as const)("refused: %s (arity %d)", (cursor, arity) => {
    expect(decodeCursor(cursor, arity)).toBeNull();
  });
});
