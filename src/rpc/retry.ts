// Retry policy (pure, tested as a table) apart from the retry mechanism (as viem's
// shouldRetry / withRetry).

export interface HttpFailure {
  /** HTTP status, when a response arrived */
  status?: number;
  /** a Node/undici error code (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, …) */
  code?: string;
  /** the answer could not be parsed or had the wrong shape */
  malformed?: boolean;
}

/** Should this failure be tried again (on the next URL, after a backoff)? */
export function shouldRetry(f: HttpFailure): boolean {
  if (f.malformed) return true;
  if (f.status !== undefined) {
    if (f.status === 408 || f.status === 425 || f.status === 429) return true;
    if (f.status >= 500) return true;
    // 4xx other than the above: the request itself is wrong; another try will not help,
    // but another URL might be a different provider, so the caller rotates once.
    return false;
  }
  return true; // network errors, timeouts, resets
}

/** Exponential backoff with ±20% jitter, capped. attempt starts at 0. `random` in [0,1). */
export function backoffDelay(attempt: number, baseMs = 250, capMs = 30_000, random = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20));
  const jitter = exp * 0.2 * (2 * random() - 1);
  return Math.max(0, Math.round(exp + jitter));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
