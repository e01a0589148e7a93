// EVM chains (Ethereum, BSC, anvil, …): native coin from full blocks + receipts, ERC-20 from
// eth_getLogs over the configured token contracts. Every call goes out in JSON-RPC batches and
// none depends on how many addresses are watched: matching is local.
import type { Logger } from "pino";
import type { AssetConfig, ChainConfig } from "../../config/schema.js";
import { createJsonRpcClient } from "../../rpc/jsonrpc.js";
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
import { bloomBits, bloomMayHave } from "./bloom.js";
import {
  type FetchedBlock,
  type NativeTx,
  type TxTrace,
  createEvmActions,
  isMissingMethod,
  isRangeLimit,
} from "./actions.js";
import { TRANSFER_TOPIC, logTransfer, tracedTransfers } from "./transfers.js";

export { TRANSFER_TOPIC };

export type EvmChainConfig = Extract<ChainConfig, { kind: "evm" }>;

/** widest eth_getLogs range per call; many providers cap ranges at a few thousand blocks */
export const LOG_RANGE = 2000;
const IN_FLIGHT = 4;

export interface EvmAdapterArgs {
  chain: EvmChainConfig;
  assets: AssetConfig[];
  logger?: Logger;
  onRequest?: (url: string, ok: boolean, ms: number) => void;
}

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

  const rpc = createEvmActions(chain.id, client, () => counters.incompleteAnswers++);
  const { smallInt, object } = rpc;
  // typed out: a call narrows the types after it only through a declared `never`
  const bad: (what: string) => never = rpc.bad;
  const incomplete: (what: string) => never = rpc.incomplete;
  const warn = (fields: object, msg: string) => logger?.warn({ chain: chain.id, ...fields }, msg);

  /** Chain identity of one URL: eth_chainId and the genesis block's hash, in one request. */
  async function identify(probe: Transport, primary: boolean): Promise<void> {
    const actions = createEvmActions(chain.id, createJsonRpcClient(probe, { batchSize: 2, inFlight: 1 }));
    const { chainId: got, genesis: genesisOf } = await actions.identity();
    if (got !== chain.chain_id)
      throw new UnusableUrlError(
        `chain ${chain.id}: node ${probe.current} reports chain id ${got}, config says chain_id ${chain.chain_id}`,
      );
    const hash0 = genesisOf();
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
    // native_internal: trace needs debug_traceBlockByNumber on every URL; one without it is never used.
    const trace = traceInternal ? await actions.hasTraceMethod() : ({ ok: true } as const);
    if (!trace.ok)
      throw new UnusableUrlError(
        `chain ${chain.id}: native_internal: trace needs debug_traceBlockByNumber (callTracer), and node ${probe.current} does not serve it: ${trace.error.message}`,
      );
  }

  async function fetchLogs(from: number, to: number): Promise<unknown[]> {
    for (;;) {
      const span = logSpan;
      const ranges: [number, number][] = [];
      for (let a = from; a <= to; a += span) ranges.push([a, Math.min(to, a + span - 1)]);
      try {
        return await rpc.eth_getLogs(ranges, tokenList, TRANSFER_TOPIC);
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

  /** Receipts of the given blocks, each block's complete (null: eth_getBlockReceipts is missing). */
  async function blockReceipts(blocks: FetchedBlock[]): Promise<Record<string, unknown>[][] | null> {
    if (perTxReceipts) return null;
    try {
      return await rpc.eth_getBlockReceipts(blocks);
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
      for (const r of await rpc.eth_getTransactionReceipt(pairs)) record(r);
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
      const flat = await rpc.eth_getTransactionReceipt(pairs);
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
    const traces: TxTrace[][] = await rpc.debug_traceBlockByNumber(busy);
    return traces.flatMap((txs, k) =>
      txs.flatMap(({ txid, root }) => tracedTransfers(rpc, root, txid, busy[k]!, watched, native!.id)),
    );
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
      if (chain.finality === "latest") return { head: await rpc.eth_blockNumber() };
      const head = await rpc.blockNumberOf(chain.finality);
      return chain.finality === "finalized" ? { head, solid: head } : { head };
    },

    async block(number: number): Promise<BlockRef | null> {
      return rpc.eth_getBlockByNumber(number);
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
          const blocks = await rpc.getBlocks(a, b, full);
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
        const t = logTransfer(rpc, l, { from, blocks, watched, tokens, warn });
        if (t) transfers.push(t);
      }
      // Stable: within a block traced and top-level natives come before token logs (log order).
      transfers.sort((a, b) => a.block!.number - b.block!.number);
      return { blocks: blocks.map((b) => b.ref), transfers };
    }
  }
}
