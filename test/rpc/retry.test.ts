// The retry policy as tables: which failures are tried again, and how long to wait.
import { describe, expect, it } from "vitest";
import { type HttpFailure, backoffDelay, shouldRetry } from "../../src/rpc/retry.js";

describe("shouldRetry", () => {
  const table: [string, HttpFailure, boolean][] = [
    ["malformed answer", { malformed: true }, true],
    ["connection refused", { code: "ECONNREFUSED" }, true],
    ["timeout", { code: "UND_ERR_HEADERS_TIMEOUT" }, true],
    ["reset", { code: "ECONNRESET" }, true],
    ["no status, no code (aborted)", {}, true],
    ["408 request timeout", { status: 408 }, true],
    ["425 too early", { status: 425 }, true],
    ["429 rate limited", { status: 429 }, true],
    ["500", { status: 500 }, true],
    ["502", { status: 502 }, true],
    ["503", { status: 503 }, true],
    ["400 bad request", { status: 400 }, false],
    ["401 unauthorized", { status: 401 }, false],
    ["403 forbidden", { status: 403 }, false],
    ["404 not found", { status: 404 }, false],
    ["413 too large", { status: 413 }, false],
  ];
  it.each(table)("%s → %s", (_name, failure, retry) => {
    expect(shouldRetry(failure)).toBe(retry);
  });
});

describe("backoffDelay", () => {
  const table: [number, number, number, number, number][] = [
    // attempt, base, cap, random, expected ms
    [0, 250, 30_000, 0.5, 250], // no jitter at random = 0.5
    [1, 250, 30_000, 0.5, 500],
    [2, 250, 30_000, 0.5, 1000],
    [0, 250, 30_000, 0, 200], // -20%
    [0, 250, 30_000, 0.999999, 300], // +20%
    [10, 250, 30_000, 0.5, 30_000], // capped
    [1_000, 250, 30_000, 0.5, 30_000], // huge attempts do not overflow
    [3, 100, 5_000, 0.5, 800],
  ];
  it.each(table)("attempt %i, base %i, cap %i, random %f → %i ms", (attempt, base, cap, r, ms) => {
    expect(backoffDelay(attempt, base, cap, () => r)).toBe(ms);
  });
  it("never negative, never above cap + 20%", () => {
    for (let a = 0; a < 30; a++)
      for (const r of [0, 0.25, 0.5, 0.75, 0.9999]) {
        const d = backoffDelay(a, 250, 30_000, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(36_000);
      }
  });
});
