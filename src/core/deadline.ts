// Outage-aware time (SPEC §4 as README "How it decides" words it): an order's deadlines
// (expires_at, late_until) pass when the wall clock has passed them AND every chain involved has
// been scanned to a block whose time is past them. A daemon or node that was down for hours must
// not expire an order whose on-time payment is simply not scanned yet.

/**
 * The time deadlines are judged by: the wall clock, held back to the newest scanned block time of
 * the slowest involved chain. A chain nothing was scanned on yet holds every deadline.
 */
export function deadlineClock(now: number, scannedTimes: readonly (number | null)[]): number {
  let t = now;
  for (const s of scannedTimes) t = Math.min(t, s ?? -Infinity);
  return t;
}

/** Strictly past, as a payment in a block stamped exactly at the deadline is still on time. */
export function deadlinePassed(
  deadline: number,
  now: number,
  scannedTimes: readonly (number | null)[],
): boolean {
  return deadlineClock(now, scannedTimes) > deadline;
}
