// The one JSON-RPC 2.0 client (EVM nodes, Bitcoin Core, the dev node), over the transport, with
// batches: a catch-up of 10,000 blocks is a few hundred HTTP requests, not tens of thousands.
// Answers are checked for shape before anyone trusts them.
import { NonRetryableError, RetryableError } from "../errors.js";
import { parseJsonKeepingNumbers } from "./json.js";
import { chunks, mapLimit } from "./map-limit.js";
import { type Transport, type TransportOptions, createTransport } from "./transport.js";

export interface RpcCall {
  method: string;
  params: unknown[];
}

/** One call's answer inside a batch: a node error for one call does not fail its neighbours. */
export type RpcOutcome =
  { ok: true; result: unknown } | { ok: false; code: number | undefined; message: string };

export class RpcError extends RetryableError {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface JsonRpcOptions {
  /** calls per batch request: `batch` splits longer lists (default: all calls in one request) */
  batchSize?: number;
  /** batch requests in flight at once (default 4) */
  inFlight?: number;
  /** "text": every JSON number arrives as its exact decimal text (Bitcoin amounts in BTC) */
  numbers?: "number" | "text";
  /**
   * Single calls go out as a batch of one: Bitcoin Core answers batches with HTTP 200 even for
   * errors, while old versions answer a failed single call with HTTP 500.
   */
  callAsBatch?: boolean;
  /**
   * `batch` calls made in the same tick share batch requests (filled up to `batchSize`), so a scan's
   * small lists (receipts, logs) go out as one HTTP request instead of one each. Each `batch` call
   * still throws on its own calls' node errors only.
   */
  coalesce?: boolean;
}

export interface JsonRpcClient {
  /** One call; a node error throws RpcError with its code. */
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Many calls as batch requests of `batchSize`, `inFlight` at a time; results in call order; a node error throws. */
  batch<T = unknown>(calls: RpcCall[]): Promise<T[]>;
  /** `calls` as ONE batch request; outcomes in call order (a node error is an outcome, not a throw). */
  outcomes(calls: RpcCall[]): Promise<RpcOutcome[]>;
  readonly transport: Transport;
  /** the URL in use (without credentials) */
  readonly current: string;
  /** URLs quarantined by `identify` */
  quarantined(): { url: string; reason: string }[];
  close(): Promise<void>;
}

export interface JsonRpcTransportOptions
  extends Omit<TransportOptions, "parse" | "identify">, JsonRpcOptions {
  /** chain identity of one URL, asked through a client over that URL only (see TransportOptions.identify) */
  identify?: (probe: JsonRpcClient, primary: boolean) => Promise<void>;
}

/** A transport and a client over it: the parse follows `numbers`, `identify` gets a client. */
export function createJsonRpc(opts: JsonRpcTransportOptions): JsonRpcClient {
  const { identify, batchSize, inFlight, numbers, callAsBatch, coalesce, ...transportOpts } = opts;
  const clientOpts: JsonRpcOptions = { batchSize, inFlight, numbers, callAsBatch, coalesce };
  if (opts.urls.length === 0) throw new NonRetryableError(`chain ${opts.chain}: no RPC URL`);
  const transport = createTransport({
    ...transportOpts,
    parse: numbers === "text" ? parseJsonKeepingNumbers : undefined,
    identify: identify && ((probe, primary) => identify(createJsonRpcClient(probe, clientOpts), primary)),
  });
  return createJsonRpcClient(transport, clientOpts);
}

const failure = (method: string, o: { code: number | undefined; message: string }) =>
  new RpcError(`${method}: ${o.message} (${o.code ?? "?"})`, o.code);

export function createJsonRpcClient(transport: Transport, opts: JsonRpcOptions = {}): JsonRpcClient {
  let nextId = 1;
  const inFlight = opts.inFlight ?? 4;
  const textNumbers = opts.numbers === "text";
  /** an answer's id as the map key; with numbers as text, ids come back as text too */
  const idKey = (id: unknown) =>
    typeof id === "number" || (textNumbers && typeof id === "string") ? String(id) : undefined;
  const codeOf = (code: unknown) => (code === undefined ? undefined : Number(code));

  function outcome(answer: unknown, method: string): RpcOutcome {
    if (typeof answer !== "object" || answer === null)
      throw new RpcError(`${method}: answer is not an object`);
    const a = answer as { result?: unknown; error?: { code?: unknown; message?: unknown } | null };
    if (a.error)
      return { ok: false, code: codeOf(a.error.code), message: String(a.error.message ?? "error") };
    if (!("result" in a)) throw new RpcError(`${method}: answer has neither result nor error`);
    return { ok: true, result: a.result };
  }
  const unwrap = (o: RpcOutcome, method: string) => {
    if (!o.ok) throw failure(method, o);
    return o.result;
  };

  async function outcomes(calls: RpcCall[]): Promise<RpcOutcome[]> {
    if (calls.length === 0) return [];
    const first = nextId;
    nextId += calls.length;
    const body = calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params }));
    const answer = await transport.post("", body);
    if (!Array.isArray(answer)) {
      // Some nodes answer a whole batch with one error object (e.g. batch too large).
      const whole = typeof answer === "object" && answer !== null ? outcome(answer, "batch") : undefined;
      if (whole && !whole.ok) throw failure("batch", whole);
      throw new RpcError("batch: answer is not an array");
    }
    const byId = new Map<string, unknown>();
    for (const item of answer as unknown[]) {
      const key = idKey((item as { id?: unknown } | null)?.id);
      if (key !== undefined) byId.set(key, item);
    }
    return calls.map((c, i) => {
      const item = byId.get(String(first + i));
      if (item === undefined) throw new RpcError(`${c.method}: missing from batch answer`);
      return outcome(item, c.method);
    });
  }

  /** batch() calls waiting for this tick's flush (coalesce) */
  let queued: { calls: RpcCall[]; resolve: (o: RpcOutcome[]) => void; reject: (e: unknown) => void }[] = [];

  /** Sends what this tick queued as full batch requests and hands each caller its own outcomes. */
  function flush(): void {
    const waiting = queued;
    queued = [];
    const all = waiting.flatMap((w) => w.calls);
    const size = opts.batchSize ?? Math.max(1, all.length);
    const parts = chunks(all, size);
    const done: (RpcOutcome[] | undefined)[] = parts.map(() => undefined);
    const failed: (unknown | undefined)[] = parts.map(() => undefined);
    // the chunks each waiter's calls fall in
    let at = 0;
    const spans = waiting.map((w) => {
      const first = Math.floor(at / size);
      at += w.calls.length;
      return { first, last: Math.floor((at - 1) / size), start: at - w.calls.length };
    });
    const settled = waiting.map(() => false);
    // after each request: every caller whose requests have all answered gets its outcomes
    const settle = () => {
      waiting.forEach((w, k) => {
        if (settled[k]) return;
        const { first, last, start } = spans[k]!;
        for (let c = first; c <= last; c++)
          if (failed[c] !== undefined) {
            settled[k] = true;
            return w.reject(failed[c]);
          }
        for (let c = first; c <= last; c++) if (done[c] === undefined) return; // not yet
        settled[k] = true;
        const flat = done.slice(first, last + 1).flat() as RpcOutcome[];
        const offset = start - first * size;
        w.resolve(flat.slice(offset, offset + w.calls.length));
      });
    };
    void mapLimit(parts, inFlight, async (part, c) => {
      try {
        done[c] = await outcomes(part);
      } catch (e) {
        failed[c] = e ?? new RpcError("batch failed");
      }
      settle();
    });
  }

  function coalesced(calls: RpcCall[]): Promise<RpcOutcome[]> {
    return new Promise((resolve, reject) => {
      if (queued.length === 0) queueMicrotask(flush);
      queued.push({ calls, resolve, reject });
    });
  }

  return {
    transport,
    outcomes,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      if (opts.callAsBatch) {
        const [o] = await outcomes([{ method, params }]);
        return unwrap(o!, method) as T;
      }
      const id = nextId++;
      const answer = await transport.post("", { jsonrpc: "2.0", id, method, params });
      const a = answer as { id?: unknown; error?: unknown } | null;
      if (idKey(a?.id) !== String(id) && !a?.error) throw new RpcError(`${method}: answer id does not match`);
      return unwrap(outcome(answer, method), method) as T;
    },
    async batch<T>(calls: RpcCall[]): Promise<T[]> {
      if (calls.length === 0) return [];
      const size = opts.batchSize ?? Math.max(1, calls.length);
      const answers = opts.coalesce
        ? await coalesced(calls)
        : (await mapLimit(chunks(calls, size), inFlight, outcomes)).flat();
      return answers.map((o, i) => unwrap(o, calls[i]!.method)) as T[];
    },
    get current() {
      return transport.current;
    },
    quarantined: () => transport.quarantined(),
    close: () => transport.close(),
  };
}
