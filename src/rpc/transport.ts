// One HTTP transport per chain: JSON in and out, timeouts, URL rotation (failover), a bounded
// number of tries with backoff. Callers above (the watcher loop) retry forever; this layer only
// decides when one request has failed.
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { NonRetryableError, RetryableError } from "../chains/types.js";
import { type HttpFailure, backoffDelay, shouldRetry, sleep } from "./retry.js";

export interface TransportOptions {
  chain: string;
  urls: string[];
  timeoutMs: number;
  headers?: Record<string, string>;
  /** "user:password" sent as Basic auth to URLs that carry no credentials of their own */
  auth?: string;
  /** how an answer's text becomes a value (default JSON.parse; Bitcoin keeps numbers as text) */
  parse?: (text: string) => unknown;
  logger?: Logger;
  /** tries per request across URLs before giving up with RetryableError (default 4) */
  tries?: number;
  /** called after every request (metrics) */
  onRequest?: (url: string, ok: boolean, ms: number) => void;
  signal?: AbortSignal;
  /**
   * Checks that one URL serves the configured chain before it serves anything else: at start and
   * again at every failover to it. `probe` talks to that URL only; `primary`: it is the first
   * configured URL (the one a chain's genesis is learned from at first start). Throwing
   * UnusableUrlError quarantines the URL for good (until restart); any other error fails the attempt.
   */
  identify?: (probe: Transport, primary: boolean) => Promise<void>;
}

/** The URL serves another chain (or a node that cannot be used): never ask it anything again. */
export class UnusableUrlError extends NonRetryableError {
  override name = "UnusableUrlError";
}

export interface Transport {
  /** POST a JSON body to base URL + path, parse the JSON answer. */
  post(path: string, body: unknown): Promise<unknown>;
  /** GET base URL + path; JSON-parsed when `json`, else the text. */
  get(path: string, json?: boolean): Promise<unknown>;
  /** the URL currently in use (without credentials) */
  readonly current: string;
  /** the answer of the current URL was wrong: use the next one from now on */
  rotate(): void;
  /** URLs (redacted) never used again, with why */
  quarantined(): { url: string; reason: string }[];
  close(): Promise<void>;
}

export class HttpError extends RetryableError {
  constructor(
    message: string,
    readonly failure: HttpFailure,
  ) {
    super(message);
  }
}

/** The URL without user:password, safe for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(invalid url)";
  }
}

export function createTransport(opts: TransportOptions): Transport {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16, pipelining: 1 });
  const tries = opts.tries ?? 4;
  let index = 0;
  const quarantine = new Map<number, string>();
  /** the URL identified as the one in use; another one is identified before it is used */
  let verified = -1;
  let verifying: { i: number; done: Promise<void> } | null = null;

  /** the URL to use: the current one, or the next one not quarantined */
  function pick(): number {
    for (let k = 0; k < opts.urls.length; k++) {
      const i = (index + k) % opts.urls.length;
      if (!quarantine.has(i)) return (index = i);
    }
    throw new NonRetryableError(
      `chain ${opts.chain}: every RPC URL is quarantined: ` +
        [...quarantine].map(([i, why]) => `${redactUrl(opts.urls[i]!)}: ${why}`).join("; "),
    );
  }

  function probeFor(i: number): Transport {
    return {
      post: (path, body) => once(i, "POST", path, body, true),
      get: (path, json = true) => once(i, "GET", path, undefined, json),
      current: redactUrl(opts.urls[i]!),
      rotate() {},
      quarantined: () => [],
      close: async () => {},
    };
  }

  /** identify URL i (once per switch to it; concurrent requests share the check) */
  async function ready(i: number): Promise<void> {
    if (!opts.identify || verified === i) return;
    if (verifying?.i !== i) {
      const done = opts.identify(probeFor(i), i === 0).then(
        () => {
          verified = i;
        },
        (e: unknown) => {
          if (e instanceof UnusableUrlError) {
            quarantine.set(i, e.message);
            opts.logger?.error(
              { chain: opts.chain, url: redactUrl(opts.urls[i]!), reason: e.message },
              "RPC URL QUARANTINED: it is not the configured chain; it will not be used again until restart",
            );
          }
          throw e;
        },
      );
      verifying = { i, done };
      done.catch(() => undefined).finally(() => verifying?.done === done && (verifying = null));
    }
    await verifying!.done;
  }

  async function once(
    i: number,
    method: "GET" | "POST",
    path: string,
    body: unknown,
    json: boolean,
  ): Promise<unknown> {
    const base = opts.urls[i]!;
    const u = new URL(base);
    const headers: Record<string, string> = { accept: "application/json", ...opts.headers };
    const credentials =
      u.username || u.password
        ? `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`
        : opts.auth;
    if (credentials !== undefined)
      headers.authorization = "Basic " + Buffer.from(credentials).toString("base64");
    u.username = "";
    u.password = "";
    const target = u.toString().replace(/\/$/, "") + path;
    const started = performance.now();
    let ok = false;
    try {
      const res = await request(target, {
        method,
        headers: method === "POST" ? { ...headers, "content-type": "application/json" } : headers,
        body: method === "POST" ? JSON.stringify(body) : undefined,
        dispatcher: agent,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const hint = res.statusCode === 401 ? " (wrong RPC user/password?)" : "";
        throw new HttpError(
          `HTTP ${res.statusCode}${hint} from ${redactUrl(base)}${path}: ${text.slice(0, 200)}`,
          {
            status: res.statusCode,
          },
        );
      }
      if (!json) {
        ok = true;
        return text;
      }
      try {
        const parsed: unknown = (opts.parse ?? JSON.parse)(text);
        ok = true;
        return parsed;
      } catch {
        throw new HttpError(`malformed JSON from ${redactUrl(base)}${path}: ${text.slice(0, 80)}`, {
          malformed: true,
        });
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const err = e as NodeJS.ErrnoException & { cause?: { code?: string } };
      const code = err.code ?? err.cause?.code ?? err.name;
      throw new HttpError(`${code} from ${redactUrl(base)}${path}: ${err.message}`, { code });
    } finally {
      opts.onRequest?.(redactUrl(base), ok, performance.now() - started);
    }
  }

  async function withTries(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    json: boolean,
  ): Promise<unknown> {
    let last: HttpError | undefined;
    for (let attempt = 0; attempt < tries; attempt++) {
      if (opts.signal?.aborted) break;
      const i = pick();
      try {
        await ready(i);
        return await once(i, method, path, body, json);
      } catch (e) {
        if (e instanceof UnusableUrlError) {
          attempt--; // not a failed try: that URL is gone, the next one is asked at once
          index++;
          continue;
        }
        if (e instanceof NonRetryableError) throw e;
        last = e instanceof HttpError ? e : new HttpError((e as Error).message, { malformed: true });
        const from = redactUrl(opts.urls[i]!);
        // Rotate to the next URL on every failure (failover); a 4xx is retried once elsewhere.
        index++;
        opts.logger?.warn({ chain: opts.chain, url: from, attempt, err: last.message }, "rpc request failed");
        if (!shouldRetry(last.failure) && attempt >= Math.min(1, opts.urls.length - 1)) break;
        await sleep(backoffDelay(attempt, 100, 5_000), opts.signal);
      }
    }
    throw last ?? new RetryableError("request aborted");
  }

  return {
    post: (path, body) => withTries("POST", path, body, true),
    get: (path, json = true) => withTries("GET", path, undefined, json),
    get current() {
      return redactUrl(opts.urls[index % opts.urls.length]!);
    },
    rotate() {
      index++;
    },
    quarantined: () => [...quarantine].map(([i, reason]) => ({ url: redactUrl(opts.urls[i]!), reason })),
    close: () => agent.close(),
  };
}
