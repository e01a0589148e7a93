// The one bounded-concurrency map of the RPC layer, and the slicing that feeds it: batches, pages
// and blocks fetched a few at a time, results in input order.

/** `items` in slices of `size` (the last one shorter): batches of calls, pages of blocks. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `fn` over `items`, at most `limit` at a time, results in input order. After the first failure
 * no new item is started (the caller retries the whole thing); that failure is what rejects.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

/**
 * Work weighed before it starts (bytes or transactions it will hold), at most `limit` of it at once
 * across every caller; one piece always runs, however heavy. Bounds memory, not just a count.
 */
export function createWeightGate(limit: number) {
  let held = 0;
  let waiting: (() => void)[] = [];
  return async function run<R>(weight: number, fn: () => Promise<R>): Promise<R> {
    const w = Math.min(Math.max(0, weight), limit);
    while (held > 0 && held + w > limit) await new Promise<void>((r) => waiting.push(r));
    held += w;
    try {
      return await fn();
    } finally {
      held -= w;
      const wake = waiting;
      waiting = [];
      for (const r of wake) r();
    }
  };
}
