// Bitcoin Core (or Knots) JSON-RPC backend: block hashes for a range in one batch, then
// `getblock <hash> 2` in batches; outputs matched locally against the watched set.
import type { BlockRef, ChainAdapter, Heads, ScanResult, Transfer, WatchedSet } from "../types.js";
import { RetryableError } from "../../errors.js";
import { type JsonRpcClient, RpcError, createJsonRpc } from "../../rpc/jsonrpc.js";
import { chunks, mapLimit } from "../../rpc/map-limit.js";
import { intFromText, satsFromBtcText } from "./json.js";
import { UnusableUrlError, limitsOf } from "../../rpc/transport.js";
import {
  type BitcoinAdapterArgs,
  COINBASE_MATURITY,
  GENESIS_HASHES,
  GENESIS_PARENT,
  canonicalAddress,
  startGenesis,
  nativeAssetOf,
  range,
} from "./shared.js";

/** getblockchaininfo.chain for each configured network. */
const CORE_CHAIN_NAMES: Record<BitcoinAdapterArgs["chain"]["network"], string[]> = {
  mainnet: ["main"],
  testnet: ["test", "testnet4"],
  regtest: ["regtest"],
};

// Verbose blocks are large (a mainnet block is several MB of JSON): fewer per request and in
// flight than the configured batch size, which is sized for small calls like getblockhash.
const MAX_BLOCKS_PER_REQUEST = 10;
const BLOCK_REQUESTS_IN_FLIGHT = 2;
const SMALL_REQUESTS_IN_FLIGHT = 4;

/** Bitcoin Core 22.0: the first with scriptPubKey.address (older ones answer addresses[], which
 *  this adapter does not read: refused at init rather than every output skipped silently). */
export const MIN_CORE_VERSION = 220000;

const RPC_INVALID_PARAMETER = -8; // getblockhash: "Block height out of range"
const RPC_INVALID_ADDRESS_OR_KEY = -5; // getrawtransaction: not in the mempool (any more)

interface CoreVout {
  value: unknown;
  n: unknown;
  scriptPubKey?: { address?: unknown };
}
interface CoreTx {
  txid: unknown;
  vin?: { coinbase?: unknown }[];
  vout?: CoreVout[];
}
interface CoreBlock {
  hash: unknown;
  height: unknown;
  previousblockhash?: unknown;
  time: unknown;
  tx?: unknown;
}

function hashText(value: unknown, what: string): string {
  if (typeof value !== "string" || !/^[0-9a-f]{64}$/.test(value))
    throw new RpcError(`${what} is not a block/tx hash`);
  return value;
}

/** Outputs of one decoded transaction that pay a watched address. */
function outputsToWatched(
  tx: CoreTx,
  watched: WatchedSet,
  asset: string,
  block: Transfer["block"],
  out: Transfer[],
): void {
  const txid = hashText(tx.txid, "txid");
  if (!Array.isArray(tx.vout)) throw new RpcError(`tx ${txid}: no vout`);
  const coinbase = Array.isArray(tx.vin) && tx.vin.length > 0 && typeof tx.vin[0]?.coinbase === "string";
  for (const vout of tx.vout) {
    const raw = vout.scriptPubKey?.address;
    if (typeof raw !== "string") continue; // OP_RETURN, bare multisig, non-standard: nobody's deposit address
    const address = canonicalAddress(raw);
    if (!watched.has(address)) continue;
    out.push({
      txid,
      index: intFromText(vout.n, `tx ${txid} vout n`),
      via: "output",
      asset,
      address,
      amount: satsFromBtcText(vout.value),
      block,
      ...(coinbase ? { minConfirmations: COINBASE_MATURITY } : {}),
    });
  }
}

/** One `getblock <hash> 2` answer (numbers kept as text) → its identity and the payments in it. */
export function parseCoreBlock(
  answer: unknown,
  watched: WatchedSet,
  asset: string,
): { block: BlockRef; transfers: Transfer[] } {
  if (typeof answer !== "object" || answer === null) throw new RpcError("getblock: answer is not an object");
  const b = answer as CoreBlock;
  const hash = hashText(b.hash, "block hash");
  const number = intFromText(b.height, `block ${hash} height`);
  const block: BlockRef = {
    number,
    hash,
    parentHash:
      number === 0 ? GENESIS_PARENT : hashText(b.previousblockhash, `block ${hash} previousblockhash`),
    timestamp: intFromText(b.time, `block ${hash} time`) * 1000,
  };
  if (!Array.isArray(b.tx)) throw new RpcError(`block ${hash}: tx is not a list (verbosity 2 needed)`);
  const transfers: Transfer[] = [];
  const where = { number, hash, timestamp: block.timestamp };
  for (const tx of b.tx as unknown[]) {
    if (typeof tx !== "object" || tx === null) throw new RpcError(`block ${hash}: a tx is not an object`);
    outputsToWatched(tx as CoreTx, watched, asset, where, transfers);
  }
  return { block, transfers };
}

export function createCoreAdapter(args: BitcoinAdapterArgs): ChainAdapter {
  const { chain, logger } = args;
  const asset = nativeAssetOf(chain, args.assets);
  let genesis = chain.genesis?.toLowerCase().replace(/^0x/, "");
  const rpc = createJsonRpc({
    chain: chain.id,
    urls: chain.rpc,
    auth: args.auth,
    timeoutMs: chain.request_timeout_ms,
    logger,
    onRequest: args.onRequest,
    identify,
    numbers: "text",
    callAsBatch: true,
    ...limitsOf(chain),
  });

  /** Chain identity and version of one URL: network, genesis hash, Bitcoin Core ≥ 22.0. */
  async function identify(probe: JsonRpcClient): Promise<void> {
    const [info, hash0, net] = await probe.outcomes([
      { method: "getblockchaininfo", params: [] },
      { method: "getblockhash", params: [0] },
      { method: "getnetworkinfo", params: [] },
    ]);
    for (const o of [info!, hash0!, net!]) if (!o.ok) throw new RpcError(`identify: ${o.message}`, o.code);
    const c = (info as { result: { chain?: unknown } }).result.chain;
    const expected = CORE_CHAIN_NAMES[chain.network];
    if (typeof c !== "string" || !expected.includes(c))
      throw new UnusableUrlError(
        `chain "${chain.id}": the node at ${probe.current} is on "${String(c)}", config says network ${chain.network} (${expected.join(" or ")})`,
      );
    const g = hashText((hash0 as { result: unknown }).result, "getblockhash 0");
    if (!GENESIS_HASHES[chain.network].includes(g) || (genesis !== undefined && g !== genesis))
      throw new UnusableUrlError(
        `chain "${chain.id}": the node at ${probe.current} has genesis ${g}, expected ${genesis ?? GENESIS_HASHES[chain.network].join(" or ")}`,
      );
    genesis ??= g;
    const { version, subversion } = (net as { result: { version?: unknown; subversion?: unknown } }).result;
    const v = Number(version);
    if (!Number.isInteger(v) || v < MIN_CORE_VERSION)
      throw new UnusableUrlError(
        `chain "${chain.id}": the node at ${probe.current} runs ${String(subversion ?? version)} (version ${String(version)}); ` +
          `depositd needs Bitcoin Core 22.0 or newer (older versions answer scriptPubKey.addresses[], which would hide every deposit)`,
      );
  }
  const batchSize = chain.batch_size;
  const blocksPerRequest = Math.min(batchSize, MAX_BLOCKS_PER_REQUEST);
  // Mempool txids already looked at → their outputs to watched addresses (mostly none). Only
  // new txids are fetched on each pass; entries leave with their transaction.
  const mempoolSeen = new Map<string, Transfer[]>();
  const NONE: Transfer[] = [];

  async function blockHashes(heights: number[]): Promise<string[]> {
    const perChunk = await mapLimit(chunks(heights, batchSize), SMALL_REQUESTS_IN_FLIGHT, async (part) => {
      const outcomes = await rpc.outcomes(part.map((h) => ({ method: "getblockhash", params: [h] })));
      return outcomes.map((o, i) => {
        if (!o.ok) {
          if (o.code === RPC_INVALID_PARAMETER)
            throw new RetryableError(`block ${part[i]} is beyond the node's tip`);
          throw new RpcError(`getblockhash ${part[i]}: ${o.message}`, o.code);
        }
        return hashText(o.result, `getblockhash ${part[i]}`);
      });
    });
    return perChunk.flat();
  }

  async function mempoolPass(watched: WatchedSet): Promise<Transfer[]> {
    const txids = await rpc.call<unknown>("getrawmempool", [false]);
    if (!Array.isArray(txids)) throw new RpcError("getrawmempool: answer is not a list");
    const current = new Set(txids.map((t) => hashText(t, "mempool txid")));
    for (const txid of mempoolSeen.keys()) if (!current.has(txid)) mempoolSeen.delete(txid);
    const fresh = [...current].filter((t) => !mempoolSeen.has(t));
    await mapLimit(chunks(fresh, batchSize), SMALL_REQUESTS_IN_FLIGHT, async (part) => {
      const outcomes = await rpc.outcomes(
        part.map((txid) => ({ method: "getrawtransaction", params: [txid, 1] })),
      );
      outcomes.forEach((o, i) => {
        const txid = part[i]!;
        if (!o.ok) {
          // Mined or replaced between the two calls: the next pass no longer lists it.
          if (o.code === RPC_INVALID_ADDRESS_OR_KEY) return;
          throw new RpcError(`getrawtransaction ${txid}: ${o.message}`, o.code);
        }
        const found: Transfer[] = [];
        outputsToWatched(o.result as CoreTx, watched, asset, null, found);
        mempoolSeen.set(txid, found.length > 0 ? found : NONE);
      });
    });
    const transfers: Transfer[] = [];
    for (const found of mempoolSeen.values()) {
      for (const t of found) if (watched.has(t.address)) transfers.push({ ...t });
    }
    return transfers;
  }

  const adapter: ChainAdapter = {
    kind: "bitcoin",
    chain: chain.id,

    async init(known) {
      genesis = startGenesis(chain, genesis, known);
      // the first URL is identified (network, genesis, version) before it answers this
      const info = await rpc.call<{
        pruned?: unknown;
        initialblockdownload?: unknown;
        blocks?: unknown;
      }>("getblockchaininfo");
      if (info.initialblockdownload === true) {
        logger?.warn(
          { chain: chain.id, blocks: info.blocks },
          "bitcoin node is still in initial block download",
        );
      }
      if (info.pruned === true) {
        logger?.warn(
          { chain: chain.id },
          "bitcoin node is pruned: blocks below its prune height cannot be scanned",
        );
      }
      return { genesis: genesis! };
    },
    quarantined: () => rpc.quarantined(),

    async heads(): Promise<Heads> {
      return { head: intFromText(await rpc.call("getblockcount"), "getblockcount") };
    },

    async block(number: number): Promise<BlockRef | null> {
      const [outcome] = await rpc.outcomes([{ method: "getblockhash", params: [number] }]);
      if (!outcome!.ok) {
        if (outcome!.code === RPC_INVALID_PARAMETER) return null;
        throw new RpcError(`getblockhash ${number}: ${outcome!.message}`, outcome!.code);
      }
      const hash = hashText(outcome!.result, `getblockhash ${number}`);
      const header = await rpc.call<{
        hash?: unknown;
        height?: unknown;
        previousblockhash?: unknown;
        time?: unknown;
      }>("getblockheader", [hash, true]);
      if (header.hash !== hash) throw new RpcError(`getblockheader ${hash}: answer is for another block`);
      return {
        number: intFromText(header.height, `block ${hash} height`),
        hash,
        parentHash:
          number === 0
            ? GENESIS_PARENT
            : hashText(header.previousblockhash, `block ${hash} previousblockhash`),
        timestamp: intFromText(header.time, `block ${hash} time`) * 1000,
      };
    },

    async scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult> {
      const heights = range(from, to);
      if (heights.length === 0) return { blocks: [], transfers: [] };
      const hashes = await blockHashes(heights);
      const parts = await mapLimit(
        chunks(hashes, blocksPerRequest),
        BLOCK_REQUESTS_IN_FLIGHT,
        async (part) => {
          const outcomes = await rpc.outcomes(
            part.map((hash) => ({ method: "getblock", params: [hash, 2] })),
          );
          // Reduce each answer to what is kept right away: verbose blocks are big.
          return outcomes.map((o, i) => {
            if (!o.ok) throw new RpcError(`getblock ${part[i]}: ${o.message}`, o.code);
            const parsed = parseCoreBlock(o.result, watched, asset);
            if (parsed.block.hash !== part[i])
              throw new RpcError(`getblock ${part[i]}: answer is for another block`);
            return parsed;
          });
        },
      );
      const blocks: BlockRef[] = [];
      const transfers: Transfer[] = [];
      for (const { block, transfers: found } of parts.flat()) {
        const expectedNumber = from + blocks.length;
        if (block.number !== expectedNumber)
          throw new RpcError(`getblock: got height ${block.number}, expected ${expectedNumber}`);
        const previous = blocks[blocks.length - 1];
        if (previous && block.parentHash !== previous.hash) {
          throw new RetryableError(
            `chain "${chain.id}" changed during the scan at block ${block.number}; scanning again`,
          );
        }
        blocks.push(block);
        transfers.push(...found);
      }
      return { blocks, transfers };
    },

    close: () => rpc.close(),
  };
  if (chain.mempool) adapter.mempool = mempoolPass;
  return adapter;
}
