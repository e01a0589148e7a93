// Bitcoin Core JSON-RPC that keeps the answer's numbers as text (amounts are BTC decimals), over
// the shared transport (timeouts, URL rotation, bounded tries with backoff).
import type { Logger } from "pino";
import { RpcError } from "../../rpc/jsonrpc.js";
import { type Transport, createTransport } from "../../rpc/transport.js";
import { parseJsonKeepingNumbers } from "./json.js";
import { NonRetryableError } from "../../errors.js";

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
  /** URLs quarantined by `identify` */
  quarantined(): { url: string; reason: string }[];
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
  maxRps?: number;
  maxInFlight?: number;
  maxResponseBytes?: number;
  /** chain identity of one URL, asked through `rpc` (see TransportOptions.identify) */
  identify?: (rpc: BitcoinRpc) => Promise<void>;
}

export function createBitcoinRpc(opts: BitcoinRpcOptions): BitcoinRpc {
  if (opts.urls.length === 0) throw new NonRetryableError(`chain ${opts.chain}: no RPC URL`);
  const { identify } = opts;
  const transport = createTransport({
    ...opts,
    parse: parseJsonKeepingNumbers,
    identify: identify && ((probe) => identify(rpcOver(probe))),
  });
  return rpcOver(transport);
}

function rpcOver(transport: Transport): BitcoinRpc {
  let nextId = 1;

  async function batch(calls: BitcoinRpcCall[]): Promise<BitcoinRpcOutcome[]> {
    if (calls.length === 0) return [];
    const first = nextId;
    nextId += calls.length;
    const answer = await transport.post(
      "",
      calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params })),
    );
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
      return transport.current;
    },
    quarantined: () => transport.quarantined(),
    close: () => transport.close(),
  };
}
