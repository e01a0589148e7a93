// JSON-RPC 2.0 over the transport, with batches: a catch-up of 10,000 blocks is a few hundred
// HTTP requests, not tens of thousands. Answers are checked for shape before anyone trusts them.
import { RetryableError } from "../errors.js";
import { mapLimit } from "./map-limit.js";
import type { Transport } from "./transport.js";

export interface RpcCall {
  method: string;
  params: unknown[];
}

export class RpcError extends RetryableError {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface JsonRpcClient {
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Many calls as batch requests of `batchSize`, `inFlight` at a time; results in call order. */
  batch<T = unknown>(calls: RpcCall[]): Promise<T[]>;
  readonly transport: Transport;
}

export function createJsonRpcClient(
  transport: Transport,
  opts: { batchSize: number; inFlight?: number },
): JsonRpcClient {
  let nextId = 1;
  const inFlight = opts.inFlight ?? 4;

  function unwrap(answer: unknown, method: string): unknown {
    if (typeof answer !== "object" || answer === null)
      throw new RpcError(`${method}: answer is not an object`);
    const a = answer as { result?: unknown; error?: { code?: number; message?: string } };
    if (a.error)
      throw new RpcError(`${method}: ${a.error.message ?? "error"} (${a.error.code ?? "?"})`, a.error.code);
    if (!("result" in a)) throw new RpcError(`${method}: answer has neither result nor error`);
    return a.result;
  }

  async function chunk(calls: RpcCall[]): Promise<unknown[]> {
    const first = nextId;
    nextId += calls.length;
    const body = calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params }));
    const answer = await transport.post("", body);
    if (!Array.isArray(answer)) {
      // Some nodes answer a whole batch with one error object (e.g. batch too large).
      unwrap(answer, "batch");
      throw new RpcError("batch answer is not an array");
    }
    const byId = new Map<number, unknown>();
    for (const item of answer) {
      const id = (item as { id?: unknown } | null)?.id;
      if (typeof id === "number") byId.set(id, item);
    }
    return calls.map((c, i) => {
      const item = byId.get(first + i);
      if (item === undefined) throw new RpcError(`${c.method}: missing from batch answer`);
      return unwrap(item, c.method);
    });
  }

  return {
    transport,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      const id = nextId++;
      const answer = await transport.post("", { jsonrpc: "2.0", id, method, params });
      if ((answer as { id?: unknown } | null)?.id !== id && !(answer as { error?: unknown } | null)?.error) {
        throw new RpcError(`${method}: answer id does not match`);
      }
      return unwrap(answer, method) as T;
    },
    async batch<T>(calls: RpcCall[]): Promise<T[]> {
      const chunks: RpcCall[][] = [];
      for (let i = 0; i < calls.length; i += opts.batchSize) chunks.push(calls.slice(i, i + opts.batchSize));
      return (await mapLimit(chunks, inFlight, chunk)).flat() as T[];
    },
  };
}
