// What one delivery attempt's answer means: delivered, retry at a time, dead, or released (the
// worker stopped mid-send). Pure, so the retry policy is a table in test/notify/attempt.test.ts.

export type Outcome = "delivered" | "retry" | "dead" | "released";

export interface AttemptFacts {
  /** the receiver's HTTP status; null when no answer came (network error, timeout, refused target) */
  status: number | null;
  /** the worker aborted the send because it is stopping */
  stopped: boolean;
  /** this attempt's number (1-based, counted over the event's life) */
  attempt: number;
  /** attempts made before the last redelivery: the schedule starts over after one */
  retryBase: number;
  finishedAt: number;
}

/** Delay before the next attempt after failed attempt `attempt` (1-based), ±20 % jitter; null = no more tries. */
export function retryDelayMs(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  return Math.round(base * 1000 * (0.8 + 0.4 * random()));
}

/** The outcome of an attempt and when the event is due next (finishedAt unless it is retried). */
export function classifyAttempt(
  a: AttemptFacts,
  scheduleS: readonly number[],
  random: () => number = Math.random,
): { outcome: Outcome; nextAttemptAt: number } {
  if (a.status !== null && a.status >= 200 && a.status < 300)
    return { outcome: "delivered", nextAttemptAt: a.finishedAt };
  if (a.stopped) return { outcome: "released", nextAttemptAt: a.finishedAt };
  const delay = retryDelayMs(scheduleS, a.attempt - a.retryBase, random);
  return delay === null
    ? { outcome: "dead", nextAttemptAt: a.finishedAt }
    : { outcome: "retry", nextAttemptAt: a.finishedAt + delay };
}
