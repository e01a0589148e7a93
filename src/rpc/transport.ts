// One HTTP transport per chain: JSON in and out, timeouts, URL rotation (failover), a bounded
// number of tries with backoff. Callers above (the watcher loop) retry forever; this layer only
// decides when one request has failed.
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { NonRetryableError, RetryableError } from "../errors.js";
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
  /** called after every request (metrics, the console): `status` is the HTTP status, null when none came */
  onRequest?: (url: string, ok: boolean, ms: number, status?: number | null) => void;
  signal?: AbortSignal;
  /**
   * Checks that one URL serves the configured chain before it serves anything else: at start and
   * again at every failover to it. `probe` talks to that URL only; `primary`: it is the first
   * configured URL (the one a chain's genesis is learned from at first start). Throwing
   * UnusableUrlError quarantines the URL for good (until restart); any other error fails the attempt.
   */
  identify?: (probe: Transport, primary: boolean) => Promise<void>;
  /** request budget per URL: HTTP requests per second (a batch is one), default DEFAULT_RPC_MAX_RPS */
  maxRps?: number;
  /** requests in flight per URL at most, default DEFAULT_RPC_MAX_IN_FLIGHT */
  maxInFlight?: number;
  /** larger answers are cut off and fail the attempt, default DEFAULT_RPC_MAX_RESPONSE_BYTES */
  maxResponseBytes?: number;
}

/** suited to free tiers (Infura, QuickNode, Ankr and public endpoints allow 10–50 requests/s) */
export const DEFAULT_RPC_MAX_RPS = 20;
export const DEFAULT_RPC_MAX_IN_FLIGHT = 4;
/** 128 MiB: a batch of 100 full mainnet EVM blocks is ~20–40 MB of JSON, 10 verbose Bitcoin blocks ~50–100 MB */
export const DEFAULT_RPC_MAX_RESPONSE_BYTES = 128 * 1024 * 1024;
/** a Retry-After longer than this is capped (the watcher reports the lag meanwhile) */
export const MAX_RETRY_AFTER_MS = 300_000;

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

/** A chain config's per-URL limits, as transport options. */
export function limitsOf(c: {
  rpc_max_rps?: number;
  rpc_max_in_flight?: number;
  rpc_max_response_bytes?: number;
}): Pick<TransportOptions, "maxRps" | "maxInFlight" | "maxResponseBytes"> {
  return {
    maxRps: c.rpc_max_rps,
    maxInFlight: c.rpc_max_in_flight,
    maxResponseBytes: c.rpc_max_response_bytes,
  };
}

/** A path segment that is a provider key: /v2/<KEY> (Alchemy), /v3/<KEY> (Infura), a 32–64 hex
 *  token (QuickNode, Ankr, GetBlock, Chainstack), any long letters-and-digits run. */
function secretSegment(seg: string, prev: string | undefined): boolean {
  if (seg === "") return false;
  if (prev !== undefined && /^v\d+$/i.test(prev) && seg.length >= 8) return true;
  return seg.length >= 16 && /\d/.test(seg) && /[a-z]/i.test(seg) && /^[\w.~%-]+$/.test(seg);
}

/** The pieces of a URL that are secrets: user:password, key-like path segments, every query value. */
export function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [u.password, decodeURIComponent(u.password)];
    const segs = u.pathname.split("/");
    segs.forEach((seg, i) => {
      if (secretSegment(seg, segs[i - 1])) out.push(seg, decodeURIComponent(seg));
    });
    for (const v of u.searchParams.values()) out.push(v, encodeURIComponent(v));
    return [...new Set(out)].filter((x) => x.length >= 4);
  } catch {
    return [];
  }
}

/** The URL safe for logs, metrics labels and /healthz: no user:password, keys in the path and
 *  every query value replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    const segs = u.pathname.split("/");
    u.pathname = segs.map((seg, i) => (secretSegment(seg, segs[i - 1]) ? "***" : seg)).join("/");
    for (const k of [...new Set(u.searchParams.keys())]) u.searchParams.set(k, "***");
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(invalid url)";
  }
}

/** Retry-After (seconds or an HTTP date) in ms from now; undefined when absent or unreadable */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.min(MAX_RETRY_AFTER_MS, Math.round(Number(v) * 1000));
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

export function createTransport(opts: TransportOptions): Transport {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16, pipelining: 1 });
  const tries = opts.tries ?? 4;
  const maxRps = opts.maxRps ?? DEFAULT_RPC_MAX_RPS;
  const maxInFlight = opts.maxInFlight ?? DEFAULT_RPC_MAX_IN_FLIGHT;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_RPC_MAX_RESPONSE_BYTES;
  // every secret of every URL, longest first, so an error text quoting one never leaks it
  const secrets = [...new Set(opts.urls.flatMap(urlSecrets))].sort((a, b) => b.length - a.length);
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join("***"), text);
  /** per URL: token bucket (burst = one second's budget), Retry-After, requests in flight */
  const budget = opts.urls.map(() => ({
    tokens: maxRps,
    at: performance.now(),
    notBefore: 0,
    inFlight: 0,
    waiting: [] as (() => void)[],
  }));

  /** wait for URL i's budget: a token, its Retry-After, a free in-flight slot */
  async function take(i: number): Promise<void> {
    const b = budget[i]!;
    const now = performance.now();
    b.tokens = Math.min(maxRps, b.tokens + ((now - b.at) * maxRps) / 1000);
    b.at = now;
    b.tokens -= 1; // negative: a debt, paid by waiting
    const wait = Math.max(b.tokens < 0 ? (-b.tokens * 1000) / maxRps : 0, b.notBefore - now);
    if (wait > 0) await sleep(wait, opts.signal);
    while (b.inFlight >= maxInFlight) await new Promise<void>((r) => b.waiting.push(r));
    b.inFlight++;
  }
  function give(i: number): void {
    const b = budget[i]!;
    b.inFlight--;
    b.waiting.shift()?.();
  }

  /** the body as text, cut off (and failed) past maxBytes */
  async function readCapped(
    body: AsyncIterable<Buffer> & { destroy(): void },
    declared: number,
    where: string,
  ) {
    const tooBig = () =>
      new HttpError(
        `answer from ${where} is larger than rpc_max_response_bytes (${maxBytes} bytes); cut off`,
        {
          malformed: true,
        },
      );
    if (declared > maxBytes) {
      body.destroy();
      throw tooBig();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      size += c.length;
      if (size > maxBytes) {
        body.destroy();
        throw tooBig();
      }
      chunks.push(c);
    }
    return Buffer.concat(chunks, size).toString("utf8");
  }

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
    const where = redactUrl(base) + path;
    await take(i);
    const started = performance.now();
    let ok = false;
    let status: number | null = null;
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
      status = res.statusCode;
      if (res.statusCode === 429 || res.statusCode === 503) {
        // the node says when to come back: nothing goes to this URL before then
        const after = retryAfterMs(res.headers["retry-after"]);
        if (after !== undefined) budget[i]!.notBefore = performance.now() + after;
      }
      const text = await readCapped(res.body, Number(res.headers["content-length"] ?? 0), where);
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const hint = res.statusCode === 401 ? " (wrong RPC user/password?)" : "";
        throw new HttpError(`HTTP ${res.statusCode}${hint} from ${where}: ${scrub(text.slice(0, 200))}`, {
          status: res.statusCode,
        });
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
        throw new HttpError(`malformed JSON from ${where}: ${scrub(text.slice(0, 80))}`, {
          malformed: true,
        });
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const err = e as NodeJS.ErrnoException & { cause?: { code?: string } };
      const code = err.code ?? err.cause?.code ?? err.name;
      throw new HttpError(`${code} from ${where}: ${scrub(err.message)}`, { code });
    } finally {
      give(i);
      opts.onRequest?.(redactUrl(base), ok, performance.now() - started, status);
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
