// EVM chains (Ethereum, BSC, anvil, …): native coin from full blocks + receipts, ERC-20 from
// eth_getLogs over the configured token contracts. Every call goes out in JSON-RPC batches and
// none depends on how many addresses are watched: matching is local.
import type { Logger } from "pino";
import type { AssetConfig, ChainConfig } from "../../config/schema.js";
import { type RpcCall, RpcError, createJsonRpcClient } from "../../rpc/jsonrpc.js";
import { mapLimit } from "../../rpc/map-limit.js";
import { type Transport, UnusableUrlError, createTransport, limitsOf } from "../../rpc/transport.js";
import {
  type Agreement,
  type BlockRef,
  type ChainAdapter,
  type Heads,
  type ScanResult,
  type Transfer,
  type WatchedSet,
} from "../types.js";
import { NonRetryableError, RetryableError } from "../../errors.js";
import { createEvmAddressCodec } from "./address.js";
import { bloomBits, bloomMayHave, parseBloom } from "./bloom.js";

export type EvmChainConfig = Extract<ChainConfig, { kind: "evm" }>;

/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
/** widest eth_getLogs range per call; many providers cap ranges at a few thousand blocks */
export const LOG_RANGE = 2000;
const IN_FLIGHT = 4;
/** native_internal: trace — the tracer asked for, per block */
const TRACE_OPTIONS = { tracer: "callTracer" };
/** frame types that move value to `to`; DELEGATECALL, STATICCALL and CALLCODE move none to another account */
const VALUE_FRAMES = new Set(["CALL", "CREATE", "CREATE2", "SELFDESTRUCT"]);
/** a block number no node has: the start-up probe that the trace method exists costs no tracing */
const NO_SUCH_BLOCK = "0x1fffffffffffff";

const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const WORD = /^0x[0-9a-fA-F]{64}$/;

export interface EvmAdapterArgs {
  chain: EvmChainConfig;
  assets: AssetConfig[];
  logger?: Logger;
  onRequest?: (url: string, ok: boolean, ms: number) => void;
}

interface NativeTx {
  hash: string;
  to: string | null;
  value: bigint;
}

interface FetchedBlock {
  ref: BlockRef;
  /** full transactions; empty when only tokens are configured (blocks fetched without them) */
  txs: NativeTx[];
  /** every transaction hash of the block, in block order (what its receipts must match) */
  txHashes: string[];
  logsBloom: Buffer;
}

const hex = (n: number) => "0x" + n.toString(16);
/** 0x-prefixed lower case, the form nodes answer */
const normalizeGenesis = (g: string | undefined) =>
  g === undefined ? undefined : "0x" + g.toLowerCase().replace(/^0x/, "");

export function createEvmAdapter(args: EvmAdapterArgs): ChainAdapter {
  const { chain, logger } = args;
  const codec = createEvmAddressCodec();
  const mine = args.assets.filter((a) => a.chain === chain.id);
  const native = mine.find((a) => !a.contract);
  // contract (lower-case) → asset id
  const tokens = new Map<string, string>();
  for (const a of mine) if (a.contract) tokens.set(codec.parse(a.contract).canonical, a.id);
  const tokenList = [...tokens.keys()];
  const transferBits = bloomBits(TRANSFER_TOPIC);
  const tokenBits = tokenList.map(bloomBits);
  const counters = { incompleteAnswers: 0, bloomFalsePositives: 0 };
  const traceInternal = chain.native_internal === "trace" && native !== undefined;

  /** the genesis hash every URL must have: pinned, stored at first start, or the first URL's */
  let genesis = normalizeGenesis(chain.genesis);
  const transport = createTransport({
    chain: chain.id,
    urls: chain.rpc,
    timeoutMs: chain.request_timeout_ms,
    logger,
    onRequest: args.onRequest,
    identify,
    ...limitsOf(chain),
  });
  const client = createJsonRpcClient(transport, { batchSize: chain.batch_size, inFlight: IN_FLIGHT });
  // Sticky downgrades learned from the node: per-tx receipts, narrower log ranges.
  let perTxReceipts = chain.receipts === "transaction";
  let logSpan = LOG_RANGE;

  function bad(what: string): never {
    throw new RetryableError(`${chain.id}: malformed answer from ${transport.current}: ${what}`);
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
    {
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
    }
    return { ref, txs, txHashes: txs.map((t) => t.hash), logsBloom };
  }

  /** One batch of blocks (≤ batch_size, so one HTTP request); linking is checked by the caller. */
  async function fetchBlocks(from: number, to: number, full: boolean): Promise<FetchedBlock[]> {
    const calls: RpcCall[] = [];
    for (let n = from; n <= to; n++) calls.push({ method: "eth_getBlockByNumber", params: [hex(n), full] });
    const raw = await client.batch<unknown>(calls);
    return raw.map((r, i) => {
      const b = parseBlock(r, from + i, full);
      if (!b)
        throw new RetryableError(
          `${chain.id}: block ${from + i} not available yet from ${transport.current}`,
        );
      return b;
    });
  }

  /** Chain identity of one URL: eth_chainId and the genesis block's hash, in one request. */
  async function identify(probe: Transport, primary: boolean): Promise<void> {
    const [id, g] = await createJsonRpcClient(probe, { batchSize: 2, inFlight: 1 }).batch<unknown>([
      { method: "eth_chainId", params: [] },
      { method: "eth_getBlockByNumber", params: ["0x0", false] },
    ]);
    const got = Number(quantity(id, "eth_chainId"));
    if (got !== chain.chain_id)
      throw new UnusableUrlError(
        `chain ${chain.id}: node ${probe.current} reports chain id ${got}, config says chain_id ${chain.chain_id}`,
      );
    const hash0 = hash(object(g, "genesis block").hash, "genesis block hash");
    // at first start the genesis is learned from the first URL only, never from a failover
    if (genesis === undefined && !primary)
      throw new RetryableError(
        `${chain.id}: genesis not known yet; ${probe.current} waits for the first RPC URL`,
      );
    if (genesis === undefined) genesis = hash0;
    else if (hash0 !== genesis)
      throw new UnusableUrlError(
        `chain ${chain.id}: node ${probe.current} has genesis ${hash0}, expected ${genesis} (another chain with the same chain id)`,
      );
    if (traceInternal) await checkTraceMethod(probe);
  }

  /** native_internal: trace needs debug_traceBlockByNumber on every URL; one without it is never used. */
  async function checkTraceMethod(probe: Transport): Promise<void> {
    try {
      await createJsonRpcClient(probe, { batchSize: 1, inFlight: 1 }).call("debug_traceBlockByNumber", [
        NO_SUCH_BLOCK,
        TRACE_OPTIONS,
      ]);
    } catch (e) {
      // any other error ("block not found") means the method exists
      if (isMissingMethod(e))
        throw new UnusableUrlError(
          `chain ${chain.id}: native_internal: trace needs debug_traceBlockByNumber (callTracer), and node ${probe.current} does not serve it: ${(e as Error).message}`,
        );
    }
  }

  function isRangeLimit(e: unknown): boolean {
    if (!(e instanceof RpcError) || e.code === undefined) return false;
    // -32005 also means "rate limited" at some providers: narrowing would only add calls then.
    if (/rate|requests per|too many requests/i.test(e.message)) return false;
    return /range|results|response size|too large|more than|limit|exceed/i.test(e.message);
  }

  async function fetchLogs(from: number, to: number): Promise<unknown[]> {
    for (;;) {
      const span = logSpan;
      const calls: RpcCall[] = [];
      for (let a = from; a <= to; a += span) {
        const b = Math.min(to, a + span - 1);
        calls.push({
          method: "eth_getLogs",
          params: [{ fromBlock: hex(a), toBlock: hex(b), address: tokenList, topics: [TRANSFER_TOPIC] }],
        });
      }
      try {
        const results = await client.batch<unknown>(calls);
        return results.flatMap((r) =>
          Array.isArray(r) ? (r as unknown[]) : bad("eth_getLogs result is not an array"),
        );
      } catch (e) {
        // Providers cap ranges or result counts: narrow the range and remember it.
        if (span > 1 && isRangeLimit(e)) {
          logSpan = Math.max(1, Math.floor(span / 2));
          logger?.warn(
            { chain: chain.id, span: logSpan, err: (e as Error).message },
            "eth_getLogs range narrowed",
          );
          continue;
        }
        throw e;
      }
    }
  }

  function isMissingMethod(e: unknown): boolean {
    if (!(e instanceof RpcError)) return false;
    return (
      e.code === -32601 ||
      /method not found|does not exist|unsupported method|method .*not supported/i.test(e.message)
    );
  }

  /**
   * An answer that is well-formed but cannot be the whole truth (a lagging log index, receipts
   * missing or of other transactions): ask the next URL on the retry, never use it.
   */
  function incomplete(what: string): never {
    counters.incompleteAnswers++;
    const from = transport.current;
    transport.rotate();
    throw new RetryableError(`${chain.id}: incomplete answer from ${from}: ${what}`);
  }

  /** A block's receipts, checked complete: one per transaction, in block order, of that block. */
  function checkReceipts(b: FetchedBlock, receipts: unknown): Record<string, unknown>[] {
    const n = b.ref.number;
    if (receipts === null)
      throw new RetryableError(`${chain.id}: receipts of block ${n} unavailable (reorg?)`);
    if (!Array.isArray(receipts)) bad(`receipts of block ${n} are not an array`);
    if (receipts.length !== b.txHashes.length)
      incomplete(`block ${n} has ${b.txHashes.length} transactions but ${receipts.length} receipts`);
    return receipts.map((raw, i) => {
      const r = object(raw, `receipt in block ${n}`);
      if (hash(r.transactionHash, `receipt in block ${n} transactionHash`) !== b.txHashes[i])
        incomplete(`receipt ${i} of block ${n} is not of the block's transaction ${i}`);
      if (hash(r.blockHash, `receipt in block ${n} blockHash`) !== b.ref.hash)
        throw new RetryableError(
          `${chain.id}: receipt in block ${n} is from another block (reorg during fetch)`,
        );
      return r;
    });
  }

  /** Receipts of the given transactions of one block each (null: eth_getBlockReceipts is missing). */
  async function blockReceipts(blocks: FetchedBlock[]): Promise<Record<string, unknown>[][] | null> {
    if (perTxReceipts) return null;
    try {
      const raw = await client.batch<unknown>(
        blocks.map((b) => ({ method: "eth_getBlockReceipts", params: [b.ref.hash] })),
      );
      return raw.map((receipts, i) => checkReceipts(blocks[i]!, receipts));
    } catch (e) {
      if (!isMissingMethod(e)) throw e;
      perTxReceipts = true;
      logger?.warn(
        { chain: chain.id, err: (e as Error).message },
        "eth_getBlockReceipts unsupported; using per-transaction receipts",
      );
      return null;
    }
  }

  /** eth_getTransactionReceipt for each pair, checked against the transaction and block asked for. */
  async function txReceipts(pairs: [string, FetchedBlock][]): Promise<Record<string, unknown>[]> {
    const raw = await client.batch<unknown>(
      pairs.map(([h]) => ({ method: "eth_getTransactionReceipt", params: [h] })),
    );
    return raw.map((item, i) => {
      const [h, b] = pairs[i]!;
      if (item === null) throw new RetryableError(`${chain.id}: receipt of ${h} unavailable (reorg?)`);
      const r = object(item, `receipt of ${h}`);
      if (hash(r.transactionHash, `receipt of ${h} transactionHash`) !== h)
        incomplete(`asked for the receipt of ${h}, got another transaction's`);
      if (hash(r.blockHash, `receipt of ${h} blockHash`) !== b.ref.hash)
        throw new RetryableError(`${chain.id}: receipt of ${h} is from another block (reorg during fetch)`);
      return r;
    });
  }

  /** status of each candidate transaction: true = succeeded */
  async function fetchStatuses(candidates: Map<FetchedBlock, NativeTx[]>): Promise<Map<string, boolean>> {
    const statuses = new Map<string, boolean>();
    if (candidates.size === 0) return statuses;
    const wanted = new Set<string>();
    for (const txs of candidates.values()) for (const t of txs) wanted.add(t.hash);
    const record = (r: Record<string, unknown>) => {
      const txHash = r.transactionHash as string; // checked by checkReceipts / txReceipts
      if (!wanted.has(txHash.toLowerCase())) return;
      if (r.status !== "0x1" && r.status !== "0x0") bad(`receipt of ${txHash} status ${String(r.status)}`);
      statuses.set(txHash.toLowerCase(), r.status === "0x1");
    };
    const perBlock = await blockReceipts([...candidates.keys()]);
    if (perBlock) {
      for (const receipts of perBlock) for (const r of receipts) record(r);
    } else {
      const pairs: [string, FetchedBlock][] = [];
      for (const [b, txs] of candidates) for (const t of txs) pairs.push([t.hash, b]);
      for (const r of await txReceipts(pairs)) record(r);
    }
    for (const h of wanted) if (!statuses.has(h)) bad(`no receipt for transaction ${h}`);
    return statuses;
  }

  /**
   * Completeness of a logs answer (the bloom rule, README "How it decides"): a block whose bloom may
   * hold a configured token's Transfer but for which eth_getLogs gave nothing is judged by its
   * receipts, a second and independent answer. Receipts holding such a log prove the logs answer
   * incomplete (retry, next URL; the cursor stays). Complete receipts without one: a bloom false
   * positive, accepted, counted.
   */
  async function checkLogsComplete(blocks: FetchedBlock[], logs: unknown[]): Promise<void> {
    const logged = new Set<number>();
    for (const l of logs) logged.add(smallInt(object(l, "log").blockNumber, "log blockNumber"));
    const suspects = blocks.filter(
      (b) =>
        !logged.has(b.ref.number) &&
        bloomMayHave(b.logsBloom, transferBits) &&
        tokenBits.some((bits) => bloomMayHave(b.logsBloom, bits)),
    );
    if (suspects.length === 0) return;
    let receipts = await blockReceipts(suspects);
    if (!receipts) {
      const pairs = suspects.flatMap((b) => b.txHashes.map((h): [string, FetchedBlock] => [h, b]));
      const flat = await txReceipts(pairs);
      let at = 0;
      receipts = suspects.map((b) => flat.slice(at, (at += b.txHashes.length)));
    }
    suspects.forEach((b, i) => {
      for (const r of receipts[i]!) {
        if (!Array.isArray(r.logs)) bad(`receipt in block ${b.ref.number} has no logs array`);
        for (const item of r.logs) {
          const l = object(item, "receipt log");
          const topic0 = Array.isArray(l.topics) ? l.topics[0] : undefined;
          if (
            typeof l.address === "string" &&
            tokens.has(l.address.toLowerCase()) &&
            typeof topic0 === "string" &&
            topic0.toLowerCase() === TRANSFER_TOPIC
          ) {
            incomplete(
              `eth_getLogs gave no Transfer for block ${b.ref.number}, its receipts hold one (log index lagging?)`,
            );
          }
        }
      }
      counters.bloomFalsePositives++;
    });
  }

  /**
   * native_internal: trace. Native coin moved into watched addresses by call frames inside contract
   * execution: one debug_traceBlockByNumber per block that has transactions. A frame counts only
   * when it and every frame above it (the top-level call included) did not revert. Its index is the
   * frame's depth-first position in the transaction's call tree: stable for the same block, never 0
   * (frame 0 is the transaction itself, found by the block scan).
   */
  async function fetchInternal(blocks: FetchedBlock[], watched: WatchedSet): Promise<Transfer[]> {
    const busy = blocks.filter((b) => b.txHashes.length > 0);
    if (busy.length === 0) return [];
    const raw = await client.batch<unknown>(
      busy.map((b) => ({ method: "debug_traceBlockByNumber", params: [hex(b.ref.number), TRACE_OPTIONS] })),
    );
    const out: Transfer[] = [];
    raw.forEach((answer, k) => {
      const b = busy[k]!;
      const n = b.ref.number;
      if (!Array.isArray(answer)) bad(`trace of block ${n} is not an array`);
      if (answer.length !== b.txHashes.length)
        incomplete(`block ${n} has ${b.txHashes.length} transactions but its trace ${answer.length}`);
      answer.forEach((item, i) => {
        const entry = object(item, `trace ${i} of block ${n}`);
        const txid = b.txHashes[i]!;
        // geth ≥ 1.11 and anvil name the transaction: a trace of another block's transactions is a reorg
        if (entry.txHash !== undefined && hash(entry.txHash, `trace ${i} of block ${n} txHash`) !== txid)
          throw new RetryableError(
            `${chain.id}: trace ${i} of block ${n} is of another transaction (reorg?)`,
          );
        if (entry.result === undefined || entry.result === null)
          throw new RetryableError(
            `${chain.id}: tracing transaction ${txid} failed at ${transport.current}: ${String(entry.error)}`,
          );
        out.push(...framesInto(object(entry.result, `trace of ${txid}`), txid, b, watched));
      });
    });
    return out;
  }

  function framesInto(
    root: Record<string, unknown>,
    txid: string,
    b: FetchedBlock,
    watched: WatchedSet,
  ): Transfer[] {
    const out: Transfer[] = [];
    // depth-first, pre-order, without recursion (call trees go 1024 deep)
    const stack: { f: Record<string, unknown>; ok: boolean }[] = [{ f: root, ok: true }];
    for (let position = 0; stack.length; position++) {
      const { f, ok: above } = stack.pop()!;
      // a frame with an error reverted, and with it everything it called
      const ok = above && (f.error === undefined || f.error === null);
      const type = typeof f.type === "string" ? f.type.toUpperCase() : bad(`frame type in ${txid}`);
      if (position > 0 && ok && VALUE_FRAMES.has(type) && f.value !== undefined && f.value !== null) {
        const value = quantity(f.value, `frame value in ${txid}`);
        const to = f.to;
        if (typeof to !== "string" || !ADDRESS.test(to)) bad(`frame to in ${txid}`);
        const address = to.toLowerCase();
        if (value > 0n && watched.has(address))
          out.push({
            txid,
            index: position,
            via: "trace",
            asset: native!.id,
            address,
            amount: value,
            block: { number: b.ref.number, hash: b.ref.hash, timestamp: b.ref.timestamp },
          });
      }
      if (f.calls === undefined || f.calls === null) continue;
      if (!Array.isArray(f.calls)) bad(`frame calls in ${txid} is not an array`);
      for (let j = f.calls.length - 1; j >= 0; j--)
        stack.push({ f: object(f.calls[j], `frame in ${txid}`), ok });
    }
    return out;
  }

  function tokenTransfer(
    raw: unknown,
    from: number,
    blocks: FetchedBlock[],
    watched: WatchedSet,
  ): Transfer | null {
    const l = object(raw, "log");
    if (l.removed === true) return null;
    if (typeof l.address !== "string" || !ADDRESS.test(l.address)) bad("log address");
    const asset = tokens.get(l.address.toLowerCase());
    if (!asset) return null; // the node ignored the address filter: not ours
    if (!Array.isArray(l.topics) || !l.topics.every((t) => typeof t === "string" && WORD.test(t)))
      bad("log topics");
    const topics = l.topics as string[];
    // 3 topics = ERC-20 Transfer; ERC-721 has 4 and the same topic0.
    if (topics.length !== 3 || topics[0]!.toLowerCase() !== TRANSFER_TOPIC) return null;
    const blockNumber = smallInt(l.blockNumber, "log blockNumber");
    const block = blocks[blockNumber - from];
    if (!block || block.ref.number !== blockNumber)
      bad(`log of block ${blockNumber} outside the range asked for`);
    if (hash(l.blockHash, "log blockHash") !== block.ref.hash)
      incomplete(
        `a log of block ${blockNumber} names another block hash (reorg during fetch, or a stale index)`,
      );
    const txid = hash(l.transactionHash, "log transactionHash");
    const index = smallInt(l.logIndex, "log logIndex");
    const address = "0x" + topics[2]!.slice(26).toLowerCase();
    if (!watched.has(address)) return null;
    if (typeof l.data !== "string" || !WORD.test(l.data)) {
      // A token that does not follow ERC-20 here cannot be trusted for an amount.
      logger?.warn({ chain: chain.id, txid, index, asset }, "Transfer log without a 32-byte amount ignored");
      return null;
    }
    const amount = BigInt(l.data);
    if (amount === 0n) return null; // zero-value transfers pay nothing (address-poisoning spam)
    return {
      txid,
      index,
      via: "log",
      asset,
      address,
      amount,
      block: { number: block.ref.number, hash: block.ref.hash, timestamp: block.ref.timestamp },
    };
  }

  return {
    kind: "evm",
    chain: chain.id,

    async init(known) {
      const stored = normalizeGenesis(known?.genesis);
      if (genesis !== undefined && stored !== undefined && stored !== genesis)
        throw new NonRetryableError(
          `chain ${chain.id}: config pins genesis ${genesis}, but this database was built on genesis ${stored}`,
        );
      genesis ??= stored;
      await client.call("eth_chainId"); // the first URL is identified before it answers
      return { genesis: genesis! };
    },
    quarantined: () => transport.quarantined(),

    async heads(): Promise<Heads> {
      if (chain.finality === "latest") {
        return { head: smallInt(await client.call("eth_blockNumber"), "eth_blockNumber") };
      }
      const raw = await client.call("eth_getBlockByNumber", [chain.finality, false]);
      if (raw === null) throw new RetryableError(`${chain.id}: node has no ${chain.finality} block`);
      const head = smallInt(object(raw, `${chain.finality} block`).number, `${chain.finality} block number`);
      return chain.finality === "finalized" ? { head, solid: head } : { head };
    },

    async block(number: number): Promise<BlockRef | null> {
      const raw = await client.call("eth_getBlockByNumber", [hex(number), false]);
      return parseBlock(raw, number, false)?.ref ?? null;
    },

    scan: (from, to, watched) => collect(from, to, watched, true),

    // rpc_quorum's second opinion (docs/trust.md): the same blocks (headers only when no native
    // asset is configured), receipts of native hits only, the same eth_getLogs — without the bloom
    // check's receipts (the logs are compared with the first URL's instead) and without traces.
    async agreement(from, to, watched): Promise<Agreement> {
      const r = await collect(from, to, watched, false);
      return {
        blocks: r.blocks.map((b) => ({ number: b.number, hash: b.hash })),
        transfers: r.transfers,
        unchecked: traceInternal ? ["trace"] : [],
      };
    },

    stats: () => ({ ...counters }),
    close: () => transport.close(),
  };

  /** scan(), or with `whole` false the cheaper answer rpc_quorum compares (no bloom check, no traces) */
  async function collect(from: number, to: number, watched: WatchedSet, whole: boolean): Promise<ScanResult> {
    {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
        throw new NonRetryableError(`bad scan range ${from}..${to}`);
      }
      // Without a native asset the transaction bodies are not needed.
      const full = native !== undefined;
      const ranges: [number, number][] = [];
      for (let a = from; a <= to; a += chain.batch_size)
        ranges.push([a, Math.min(to, a + chain.batch_size - 1)]);
      // Each batch of blocks fetches at once the receipts it needs, so receipts overlap with the
      // other batches instead of waiting for the whole range.
      const [parts, logs] = await Promise.all([
        mapLimit(ranges, IN_FLIGHT, async ([a, b]) => {
          const blocks = await fetchBlocks(a, b, full);
          const candidates = new Map<FetchedBlock, NativeTx[]>();
          if (native) {
            for (const blk of blocks) {
              const hits = blk.txs.filter((t) => t.to !== null && t.value > 0n && watched.has(t.to));
              if (hits.length) candidates.set(blk, hits);
            }
          }
          const [statuses, internal] = await Promise.all([
            fetchStatuses(candidates),
            traceInternal && whole ? fetchInternal(blocks, watched) : Promise.resolve([]),
          ]);
          return { blocks, candidates, statuses, internal };
        }),
        tokenList.length ? fetchLogs(from, to) : Promise.resolve([] as unknown[]),
      ]);
      const blocks = parts.flatMap((p) => p.blocks);
      if (tokenList.length && whole) await checkLogsComplete(blocks, logs);
      for (let i = 1; i < blocks.length; i++) {
        if (blocks[i]!.ref.parentHash !== blocks[i - 1]!.ref.hash) {
          throw new RetryableError(`${chain.id}: reorg during fetch at block ${blocks[i]!.ref.number}`);
        }
      }

      const transfers: Transfer[] = [];
      for (const { candidates, statuses, internal } of parts) {
        for (const [b, txs] of candidates) {
          for (const t of txs) {
            if (!statuses.get(t.hash)) continue; // failed transactions move nothing
            transfers.push({
              txid: t.hash,
              index: 0,
              via: "transaction",
              asset: native!.id,
              address: t.to!,
              amount: t.value,
              block: { number: b.ref.number, hash: b.ref.hash, timestamp: b.ref.timestamp },
            });
          }
        }
        transfers.push(...internal);
      }
      for (const l of logs) {
        const t = tokenTransfer(l, from, blocks, watched);
        if (t) transfers.push(t);
      }
      // Stable: within a block traced and top-level natives come before token logs (log order).
      transfers.sort((a, b) => a.block!.number - b.block!.number);
      return { blocks: blocks.map((b) => b.ref), transfers };
    }
  }
}
