// What one delivery attempt's answer means, one row per rule: the answer, the attempt number, and
// the outcome with the time the event is due next.
import { describe, expect, it } from "vitest";
import { type AttemptFacts, classifyAttempt } from "../../src/notify/attempt.js";

const AT = 5_000_000;
const SCHEDULE = [10, 60, 300];
const noJitter = () => 0.5; // 0.8 + 0.4 × 0.5 = exactly the scheduled delay

const rows: [string, Partial<AttemptFacts>, { outcome: string; nextAttemptAt: number }][] = [
  ["behavior: 200 is delivered", { status: 200 }, { outcome: "delivered", nextAttemptAt: AT }],
  ["behavior: 204 is delivered", { status: 204 }, { outcome: "delivered", nextAttemptAt: AT }],
  ["behavior: 299 is delivered", { status: 299 }, { outcome: "delivered", nextAttemptAt: AT }],
  [
    "behavior: a 2xx that arrived while stopping still counts",
    { status: 200, stopped: true },
    { outcome: "delivered", nextAttemptAt: AT },
  ],
  [
    "behavior: 199 is not a success: retry",
    { status: 199 },
    { outcome: "retry", nextAttemptAt: AT + 10_000 },
  ],
  ["behavior: 300 is not followed: retry", { status: 300 }, { outcome: "retry", nextAttemptAt: AT + 10_000 }],
  [
    "behavior: 500 after the first attempt: retry after the first delay",
    { status: 500 },
    { outcome: "retry", nextAttemptAt: AT + 10_000 },
  ],
  [
    "behavior: no answer (network error, timeout): retry",
    { status: null },
    { outcome: "retry", nextAttemptAt: AT + 10_000 },
  ],
  [
    "behavior: the second failure waits the second delay",
    { status: 410, attempt: 2 },
    { outcome: "retry", nextAttemptAt: AT + 60_000 },
  ],
  [
    "behavior: the last scheduled retry",
    { status: 500, attempt: 3 },
    { outcome: "retry", nextAttemptAt: AT + 300_000 },
  ],
  [
    "behavior: after the last scheduled retry: dead",
    { status: 500, attempt: 4 },
    { outcome: "dead", nextAttemptAt: AT },
  ],
  [
    "behavior: after a redelivery the schedule starts over",
    { status: 500, attempt: 5, retryBase: 4 },
    { outcome: "retry", nextAttemptAt: AT + 10_000 },
  ],
  [
    "behavior: … and ends again",
    { status: 500, attempt: 8, retryBase: 4 },
    { outcome: "dead", nextAttemptAt: AT },
  ],
  [
    "behavior: aborted because the worker stops: released, due again at once",
    { status: null, stopped: true },
    { outcome: "released", nextAttemptAt: AT },
  ],
  [
    "behavior: released even on the last attempt (it was not the receiver's answer)",
    { status: null, stopped: true, attempt: 4 },
    { outcome: "released", nextAttemptAt: AT },
  ],
];

describe("classifyAttempt", () => {
  it.each(rows)("%s", (_name, facts, expected) => {
    const a: AttemptFacts = {
      status: null,
      stopped: false,
      attempt: 1,
      retryBase: 0,
      finishedAt: AT,
      ...facts,
    };
    expect(classifyAttempt(a, SCHEDULE, noJitter)).toEqual(expected);
  });

  it("behavior: the retry time carries ±20 % jitter", () => {
    const a: AttemptFacts = { status: 500, stopped: false, attempt: 1, retryBase: 0, finishedAt: AT };
    expect(classifyAttempt(a, SCHEDULE, () => 0).nextAttemptAt).toBe(AT + 8_000);
    expect(classifyAttempt(a, SCHEDULE, () => 0.9999999).nextAttemptAt).toBe(AT + 12_000);
  });
});
