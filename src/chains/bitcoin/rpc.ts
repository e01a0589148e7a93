// Bitcoin Core JSON-RPC that keeps the answer's numbers as text (amounts are BTC decimals).
// The shared transport (src/rpc/transport.ts) only hands back parsed JSON, so this is the same
// policy — timeouts, URL rotation, bounded tries with backoff — with a raw-text body.
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { RetryableError } from "../types.js";
import { RpcError } from "../../rpc/jsonrpc.js";
import { backoffDelay, shouldRetry, sleep } from "../../rpc/retry.js";
import { HttpError, redactUrl } from "../../rpc/transport.js";
import { parseJsonKeepingNumbers } from "./json.js";

export interface BitcoinRpcCall {
  method: string;
  params: unknown[];
}

/** One call's answer inside a batch: a node error for one call does not fail its neighbours. */
export type BitcoinRpcOutcome =
  { ok: true; result: unknown } | { ok: false; code: number | undefined; message: string };

export interface BitcoinRpc {
  /** `calls` as ONE JSON-RPC batch request; outcomes in call order, numbers kept as text. */
  batch(calls: BitcoinRpcCall[]): Promise<BitcoinRpcOutcome[]>;
  /** One call; a node error throws RpcError with its code. */
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** the URL in use (without credentials) */
  readonly current: string;
  close(): Promise<void>;
}

export interface BitcoinRpcOptions {
  chain: string;
  urls: string[];
  /** "user:password" for URLs that carry none (rpc_auth, or a cookie file's content) */
  auth?: string;
  timeoutMs: number;
  /** tries per request across URLs before giving up with RetryableError (default 4) */
  tries?: number;
  logger?: Logger;
  onRequest?: (url: string, ok: boolean, ms: number) => void;
}

export function createBitcoinRpc(opts: BitcoinRpcOptions): BitcoinRpc {
  if (opts.urls.length === 0) throw new Error(`chain ${opts.chain}: no RPC URL`);
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16, pipelining: 1 });
  const tries = opts.tries ?? 4;
  let index = 0;
  let nextId = 1;

  async function once(body: string): Promise<unknown> {
    const base = opts.urls[index % opts.urls.length]!;
    const u = new URL(base);
    let credentials = opts.auth;
    if (u.username || u.password)
      credentials = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
    u.username = "";
    u.password = "";
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/json",
    };
    if (credentials !== undefined)
      headers.authorization = "Basic " + Buffer.from(credentials).toString("base64");
    const started = performance.now();
    let ok = false;
    try {
      const res = await request(u.toString(), {
        method: "POST",
        headers,
        body,
        dispatcher: agent,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode >= 300) {
        const hint = res.statusCode === 401 ? " (wrong RPC user/password?)" : "";
        throw new HttpError(`HTTP ${res.statusCode}${hint} from ${redactUrl(base)}: ${text.slice(0, 200)}`, {
          status: res.statusCode,
        });
      }
      try {
        const parsed = parseJsonKeepingNumbers(text);
        ok = true;
        return parsed;
      } catch {
        throw new HttpError(`malformed JSON from ${redactUrl(base)}: ${text.slice(0, 80)}`, {
          malformed: true,
        });
      }
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const err = e as NodeJS.ErrnoException & { cause?: { code?: string } };
      const code = err.code ?? err.cause?.code ?? err.name;
      throw new HttpError(`${code} from ${redactUrl(base)}: ${err.message}`, { code });
    } finally {
      opts.onRequest?.(redactUrl(base), ok, performance.now() - started);
    }
  }

  async function post(body: string): Promise<unknown> {
    let last: HttpError | undefined;
    for (let attempt = 0; attempt < tries; attempt++) {
      try {
        return await once(body);
      } catch (e) {
        last = e as HttpError;
        const from = redactUrl(opts.urls[index % opts.urls.length]!);
        index++; // failover: the next try goes to the next URL
        opts.logger?.warn({ chain: opts.chain, url: from, attempt, err: last.message }, "rpc request failed");
        if (!shouldRetry(last.failure) && attempt >= Math.min(1, opts.urls.length - 1)) break;
        await sleep(backoffDelay(attempt, 100, 5_000));
      }
    }
    throw last ?? new RetryableError("request failed");
  }

  async function batch(calls: BitcoinRpcCall[]): Promise<BitcoinRpcOutcome[]> {
    if (calls.length === 0) return [];
    const first = nextId;
    nextId += calls.length;
    const body = JSON.stringify(
      calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params })),
    );
    const answer = await post(body);
    if (!Array.isArray(answer)) {
      const error = (answer as { error?: { message?: unknown } } | null)?.error;
      throw new RpcError(`batch: ${error ? String(error.message) : "answer is not an array"}`);
    }
    // Ids come back as text (numbers are kept as text), so they are matched as strings.
    const byId = new Map<
      string,
      { result?: unknown; error?: { code?: unknown; message?: unknown } | null }
    >();
    for (const item of answer as unknown[]) {
      if (typeof item !== "object" || item === null) continue;
      const id = (item as { id?: unknown }).id;
      if (typeof id === "string" || typeof id === "number") byId.set(String(id), item as never);
    }
    return calls.map((c, i) => {
      const item = byId.get(String(first + i));
      if (item === undefined) throw new RpcError(`${c.method}: missing from batch answer`);
      if (item.error) {
        const code = item.error.code === undefined ? undefined : Number(item.error.code);
        return { ok: false, code, message: String(item.error.message ?? "error") };
      }
      if (!("result" in item)) throw new RpcError(`${c.method}: answer has neither result nor error`);
      return { ok: true, result: item.result };
    });
  }

  return {
    batch,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      // Always a batch of one: Bitcoin Core answers batches with HTTP 200 even for errors,
      // while old versions answer a failed single call with HTTP 500.
      const [outcome] = await batch([{ method, params }]);
      if (!outcome!.ok)
        throw new RpcError(`${method}: ${outcome!.message} (${outcome!.code ?? "?"})`, outcome!.code);
      return outcome!.result as T;
    },
    get current() {
      return redactUrl(opts.urls[index % opts.urls.length]!);
    },
    close: () => agent.close(),
  };
}
