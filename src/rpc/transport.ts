// One HTTP transport per chain: JSON in and out, timeouts, URL rotation (failover), a bounded
// number of tries with backoff. Callers above (the watcher loop) retry forever; this layer only
// decides when one request has failed.
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { RetryableError } from "../chains/types.js";
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

  async function once(method: "GET" | "POST", path: string, body: unknown, json: boolean): Promise<unknown> {
    const base = opts.urls[index % opts.urls.length]!;
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
      try {
        return await once(method, path, body, json);
      } catch (e) {
        last = e as HttpError;
        const from = redactUrl(opts.urls[index % opts.urls.length]!);
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
    close: () => agent.close(),
  };
}
