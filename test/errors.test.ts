import { describe, expect, it } from "vitest";
import { DepositdError, NonRetryableError, PROBLEMS, ProblemError, RetryableError } from "../src/errors.js";
import { satsFromBtcText } from "../src/chains/bitcoin/json.js";

describe("errors", () => {
  it("default: every error keeps its cause and details, and is a DepositdError", () => {
    const cause = new Error("ECONNRESET");
    const e = new RetryableError("node answered garbage", { cause, details: { chain: "btc", block: 7 } });
    expect(e).toBeInstanceOf(DepositdError);
    expect(e.cause).toBe(cause);
    expect(e.details).toEqual({ chain: "btc", block: 7 });
    expect(e.name).toBe("RetryableError");
    expect(new NonRetryableError("wrong network")).not.toBeInstanceOf(RetryableError);
    expect("cause" in new NonRetryableError("no cause")).toBe(false);
  });

  it("behavior: a problem renders as RFC 9457 with its table entry's status and title", () => {
    const p = new ProblemError("validation", "the order is not valid", [{ path: "amount", message: "bad" }]);
    expect(p.status).toBe(400);
    expect(p.toJSON()).toEqual({
      type: "urn:depositd:problem:validation",
      title: PROBLEMS.validation.title,
      status: 400,
      detail: "the order is not valid",
      errors: [{ path: "amount", message: "bad" }],
    });
    for (const [code, row] of Object.entries(PROBLEMS)) {
      expect(row.status, code).toBeGreaterThanOrEqual(400);
      expect(row.when.length, code).toBeGreaterThan(0);
    }
  });

  it("error: a malformed node answer is a typed, retryable error, not a built-in one", () => {
    expect(() => satsFromBtcText(0.5)).toThrow(RetryableError);
  });
});
