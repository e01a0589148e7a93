// One function per JSON-RPC method the EVM adapter asks (as ponder's rpc/actions.ts), each with
// the checks of its answer beside it: nothing a node says is trusted before it has the right
// shape and is consistent with what was asked.
import { type JsonRpcClient, type RpcCall, RpcError } from "../../rpc/jsonrpc.js";
import type { BlockRef } from "../types.js";
import { RetryableError } from "../../errors.js";
import { parseBloom } from "./bloom.js";

/** native_internal: trace — the tracer asked for, per block */
const TRACE_OPTIONS = { tracer: "callTracer" };
/** a block number no node has: the start-up probe that the trace method exists costs no tracing */
const NO_SUCH_BLOCK = "0x1fffffffffffff";

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
export const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
export const WORD = /^0x[0-9a-fA-F]{64}$/;

export interface NativeTx {
  hash: string;
  to: string | null;
  value: bigint;
}

export interface FetchedBlock {
  ref: BlockRef;
  /** full transactions; empty when only tokens are configured (blocks fetched without them) */
  txs: NativeTx[];
  /** every transaction hash of the block, in block order (what its receipts must match) */
  txHashes: string[];
  logsBloom: Buffer;
}

/** One transaction's call tree from debug_traceBlockByNumber (callTracer). */
export interface TxTrace {
  txid: string;
  root: Record<string, unknown>;
}

export const hex = (n: number) => "0x" + n.toString(16);

export function isRangeLimit(e: unknown): boolean {
  if (!(e instanceof RpcError) || e.code === undefined) return false;
  // -32005 also means "rate limited" at some providers: narrowing would only add calls then.
  if (/rate|requests per|too many requests/i.test(e.message)) return false;
  return /range|results|response size|too large|more than|limit|exceed/i.test(e.message);
}

export function isMissingMethod(e: unknown): boolean {
  if (!(e instanceof RpcError)) return false;
  return (
    e.code === -32601 ||
    /method not found|does not exist|unsupported method|method .*not supported/i.test(e.message)
  );
}

export type EvmActions = ReturnType<typeof createEvmActions>;

/**
 * The actions over `client` for chain `chain` (its id, for messages). `onIncomplete` counts the
 * answers that were well-formed but could not be the whole truth.
 */
export function createEvmActions(chain: string, client: JsonRpcClient, onIncomplete?: () => void) {
  function bad(what: string): never {
    throw new RetryableError(`${chain}: malformed answer from ${client.current}: ${what}`);
  }
  /**
   * An answer that is well-formed but cannot be the whole truth (a lagging log index, receipts
   * missing or of other transactions): ask the next URL on the retry, never use it.
   */
  function incomplete(what: string): never {
    onIncomplete?.();
    const from = client.current;
    client.transport.rotate();
    throw new RetryableError(`${chain}: incomplete answer from ${from}: ${what}`);
  }
  function quantity(v: unknown, what: string): bigint {
    if (typeof v !== "string" || !QUANTITY.test(v)) bad(`${what} is not a hex quantity`);
    return BigInt(v);
  }
  function smallInt(v: unknown, what: string): number {
    const n = quantity(v, what);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what} is out of range`);
    return Number(n);
  }
  function hash(v: unknown, what: string): string {
    if (typeof v !== "string" || !HASH.test(v)) bad(`${what} is not a 32-byte hash`);
    return v.toLowerCase();
  }
  function object(v: unknown, what: string): Record<string, unknown> {
    if (typeof v !== "object" || v === null || Array.isArray(v)) bad(`${what} is not an object`);
    return v as Record<string, unknown>;
  }

  function parseBlock(raw: unknown, n: number, full: boolean): FetchedBlock | null {
    if (raw === null) return null;
    const b = object(raw, `block ${n}`);
    const number = smallInt(b.number, `block ${n} number`);
    if (number !== n) bad(`asked for block ${n}, got ${number}`);
    const ref: BlockRef = {
      number,
      hash: hash(b.hash, `block ${n} hash`),
      parentHash: hash(b.parentHash, `block ${n} parentHash`),
      timestamp: smallInt(b.timestamp, `block ${n} timestamp`) * 1000,
    };
    if (!Array.isArray(b.transactions)) bad(`block ${n} transactions is not an array`);
    const logsBloom = parseBloom(b.logsBloom) ?? bad(`block ${n} logsBloom is not 256 bytes of hex`);
    const txs: NativeTx[] = [];
    if (!full) {
      const txHashes = b.transactions.map((t) => hash(t, `block ${n} transaction hash`));
      return { ref, txs, txHashes, logsBloom };
    }
    for (const item of b.transactions) {
      const t = object(item, `block ${n} transaction`);
      const to = t.to === null || t.to === undefined ? null : t.to;
      if (to !== null && (typeof to !== "string" || !ADDRESS.test(to))) bad(`block ${n} transaction to`);
      if (
        t.blockHash !== undefined &&
        t.blockHash !== null &&
        hash(t.blockHash, "tx blockHash") !== ref.hash
      ) {
        bad(`block ${n} holds a transaction of another block`);
      }
      txs.push({
        hash: hash(t.hash, `block ${n} transaction hash`),
        to: to === null ? null : to.toLowerCase(),
        value: quantity(t.value, `block ${n} transaction value`),
      });
    }
    return { ref, txs, txHashes: txs.map((t) => t.hash), logsBloom };
  }

  /** A block's receipts, checked complete: one per transaction, in block order, of that block. */
  function checkReceipts(b: FetchedBlock, receipts: unknown): Record<string, unknown>[] {
    const n = b.ref.number;
    if (receipts === null) throw new RetryableError(`${chain}: receipts of block ${n} unavailable (reorg?)`);
    if (!Array.isArray(receipts)) bad(`receipts of block ${n} are not an array`);
    if (receipts.length !== b.txHashes.length)
      incomplete(`block ${n} has ${b.txHashes.length} transactions but ${receipts.length} receipts`);
    return receipts.map((raw, i) => {
      const r = object(raw, `receipt in block ${n}`);
      if (hash(r.transactionHash, `receipt in block ${n} transactionHash`) !== b.txHashes[i])
        incomplete(`receipt ${i} of block ${n} is not of the block's transaction ${i}`);
      if (hash(r.blockHash, `receipt in block ${n} blockHash`) !== b.ref.hash)
        throw new RetryableError(
          `${chain}: receipt in block ${n} is from another block (reorg during fetch)`,
        );
      return r;
    });
  }

  return {
    bad,
    incomplete,
    quantity,
    smallInt,
    hash,
    object,

    async eth_blockNumber(): Promise<number> {
      return smallInt(await client.call("eth_blockNumber"), "eth_blockNumber");
    },

    /** The number of the block a tag ("safe", "finalized") names. */
    async blockNumberOf(tag: string): Promise<number> {
      const raw = await client.call("eth_getBlockByNumber", [tag, false]);
      if (raw === null) throw new RetryableError(`${chain}: node has no ${tag} block`);
      return smallInt(object(raw, `${tag} block`).number, `${tag} block number`);
    },

    /** One block's header (null: the node has no such block yet). */
    async eth_getBlockByNumber(number: number): Promise<BlockRef | null> {
      const raw = await client.call("eth_getBlockByNumber", [hex(number), false]);
      return parseBlock(raw, number, false)?.ref ?? null;
    },

    /** Blocks from..to in one batch (≤ batch_size, so one HTTP request); linking is checked by the caller. */
    async getBlocks(from: number, to: number, full: boolean): Promise<FetchedBlock[]> {
      const calls: RpcCall[] = [];
      for (let n = from; n <= to; n++) calls.push({ method: "eth_getBlockByNumber", params: [hex(n), full] });
      const raw = await client.batch<unknown>(calls);
      return raw.map((r, i) => {
        const b = parseBlock(r, from + i, full);
        if (!b)
          throw new RetryableError(`${chain}: block ${from + i} not available yet from ${client.current}`);
        return b;
      });
    },

    /** Chain identity: eth_chainId and the genesis block (its hash checked when asked), in one request. */
    async identity(): Promise<{ chainId: number; genesis: () => string }> {
      const [id, g] = await client.batch<unknown>([
        { method: "eth_chainId", params: [] },
        { method: "eth_getBlockByNumber", params: ["0x0", false] },
      ]);
      return {
        chainId: Number(quantity(id, "eth_chainId")),
        genesis: () => hash(object(g, "genesis block").hash, "genesis block hash"),
      };
    },

    /** Does the node serve debug_traceBlockByNumber? Any other error ("block not found") means it does. */
    async hasTraceMethod(): Promise<{ ok: true } | { ok: false; error: Error }> {
      try {
        await client.call("debug_traceBlockByNumber", [NO_SUCH_BLOCK, TRACE_OPTIONS]);
      } catch (e) {
        if (isMissingMethod(e)) return { ok: false, error: e as Error };
      }
      return { ok: true };
    },

    /** ERC-20 Transfer logs of `addresses` over each range, one batch; the logs of all ranges in order. */
    async eth_getLogs(ranges: [number, number][], addresses: string[], topic0: string): Promise<unknown[]> {
      const results = await client.batch<unknown>(
        ranges.map(([a, b]) => ({
          method: "eth_getLogs",
          params: [{ fromBlock: hex(a), toBlock: hex(b), address: addresses, topics: [topic0] }],
        })),
      );
      return results.flatMap((r) =>
        Array.isArray(r) ? (r as unknown[]) : bad("eth_getLogs result is not an array"),
      );
    },

    /** Each block's receipts, checked complete (throws what isMissingMethod recognises when the node lacks it). */
    async eth_getBlockReceipts(blocks: FetchedBlock[]): Promise<Record<string, unknown>[][]> {
      const raw = await client.batch<unknown>(
        blocks.map((b) => ({ method: "eth_getBlockReceipts", params: [b.ref.hash] })),
      );
      return raw.map((receipts, i) => checkReceipts(blocks[i]!, receipts));
    },

    /** The receipt of each transaction, checked against the transaction and block asked for. */
    async eth_getTransactionReceipt(pairs: [string, FetchedBlock][]): Promise<Record<string, unknown>[]> {
      const raw = await client.batch<unknown>(
        pairs.map(([h]) => ({ method: "eth_getTransactionReceipt", params: [h] })),
      );
      return raw.map((item, i) => {
        const [h, b] = pairs[i]!;
        if (item === null) throw new RetryableError(`${chain}: receipt of ${h} unavailable (reorg?)`);
        const r = object(item, `receipt of ${h}`);
        if (hash(r.transactionHash, `receipt of ${h} transactionHash`) !== h)
          incomplete(`asked for the receipt of ${h}, got another transaction's`);
        if (hash(r.blockHash, `receipt of ${h} blockHash`) !== b.ref.hash)
          throw new RetryableError(`${chain}: receipt of ${h} is from another block (reorg during fetch)`);
        return r;
      });
    },

    /** Each block's call trees, one per transaction in block order, checked to be of that block. */
    async debug_traceBlockByNumber(blocks: FetchedBlock[]): Promise<TxTrace[][]> {
      const raw = await client.batch<unknown>(
        blocks.map((b) => ({
          method: "debug_traceBlockByNumber",
          params: [hex(b.ref.number), TRACE_OPTIONS],
        })),
      );
      return raw.map((answer, k) => {
        const b = blocks[k]!;
        const n = b.ref.number;
        if (!Array.isArray(answer)) bad(`trace of block ${n} is not an array`);
        if (answer.length !== b.txHashes.length)
          incomplete(`block ${n} has ${b.txHashes.length} transactions but its trace ${answer.length}`);
        return answer.map((item, i) => {
          const entry = object(item, `trace ${i} of block ${n}`);
          const txid = b.txHashes[i]!;
          // geth ≥ 1.11 and anvil name the transaction: a trace of another block's transactions is a reorg
          if (entry.txHash !== undefined && hash(entry.txHash, `trace ${i} of block ${n} txHash`) !== txid)
            throw new RetryableError(`${chain}: trace ${i} of block ${n} is of another transaction (reorg?)`);
          if (entry.result === undefined || entry.result === null)
            throw new RetryableError(
              `${chain}: tracing transaction ${txid} failed at ${client.current}: ${String(entry.error)}`,
            );
          return { txid, root: object(entry.result, `trace of ${txid}`) };
        });
      });
    },
  };
}
