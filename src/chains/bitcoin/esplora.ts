// Esplora REST backend (Blockstream esplora / mempool.space API): per block its hash, its header
// and its transactions 25 per page; outputs matched locally against the watched set. Requests per
// block grow with the block's transaction count, never with the number of watched addresses.
import type { BlockRef, ChainAdapter, Heads, ScanResult, Transfer, WatchedSet } from "../types.js";
import { RetryableError } from "../../errors.js";
import { parseUnits } from "../../core/amount.js";
import {
  HttpError,
  type Transport,
  UnusableUrlError,
  createTransport,
  limitsOf,
} from "../../rpc/transport.js";
import { RpcError } from "../../rpc/jsonrpc.js";
import { mapLimit } from "../../rpc/map-limit.js";
import { intFromText } from "./json.js";
import { parseJsonKeepingNumbers } from "../../rpc/json.js";
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

/** Esplora's fixed page size for /block/:hash/txs/:start. */
export const ESPLORA_TXS_PER_PAGE = 25;
const REQUESTS_IN_FLIGHT = 8;

interface EsploraHeader {
  id: string;
  height: number;
  previousblockhash: string | null;
  timestamp: number;
  tx_count: number;
}

function hashText(value: unknown, what: string): string {
  const text = typeof value === "string" ? value.trim() : value;
  if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text))
    throw new RpcError(`${what} is not a block/tx hash`);
  return text;
}

function isNotFound(e: unknown): boolean {
  return e instanceof HttpError && e.failure.status === 404;
}

export function createEsploraAdapter(args: BitcoinAdapterArgs): ChainAdapter {
  const { chain, logger } = args;
  const asset = nativeAssetOf(chain, args.assets);
  const headers: Record<string, string> = {};
  if (args.auth) headers.authorization = "Basic " + Buffer.from(args.auth).toString("base64");
  let genesis = chain.genesis?.toLowerCase().replace(/^0x/, "");
  const transport = createTransport({
    chain: chain.id,
    urls: chain.rpc,
    timeoutMs: chain.request_timeout_ms,
    headers,
    logger,
    onRequest: args.onRequest,
    identify,
    ...limitsOf(chain),
  });

  /** Chain identity of one URL: its block 0 is the network's genesis (and the stored one). */
  async function identify(probe: Transport): Promise<void> {
    const g = hashText(String(await probe.get("/block-height/0", false)), "block-height 0");
    const expected = GENESIS_HASHES[chain.network];
    if (!expected.includes(g) || (genesis !== undefined && g !== genesis))
      throw new UnusableUrlError(
        `chain "${chain.id}": the Esplora server at ${probe.current} serves a chain with genesis ${g}, not ${chain.network}` +
          (genesis === undefined ? "" : ` (expected ${genesis})`),
      );
    genesis ??= g;
  }

  const getText = async (path: string) => String(await transport.get(path, false));
  const getJson = async (path: string) => {
    const text = await getText(path);
    try {
      return parseJsonKeepingNumbers(text);
    } catch {
      throw new RpcError(`GET ${path}: malformed JSON`);
    }
  };

  /** null when the server has no block at that height (yet). */
  async function hashAt(height: number): Promise<string | null> {
    try {
      return hashText(await getText(`/block-height/${height}`), `block-height ${height}`);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async function header(hash: string): Promise<EsploraHeader> {
    const h = (await getJson(`/block/${hash}`)) as Record<string, unknown> | null;
    if (typeof h !== "object" || h === null) throw new RpcError(`GET /block/${hash}: not an object`);
    const id = hashText(h.id, `block ${hash} id`);
    if (id !== hash) throw new RpcError(`GET /block/${hash}: answer is for another block`);
    const height = intFromText(h.height, `block ${hash} height`);
    return {
      id,
      height,
      previousblockhash:
        height === 0 ? null : hashText(h.previousblockhash, `block ${hash} previousblockhash`),
      timestamp: intFromText(h.timestamp, `block ${hash} timestamp`),
      tx_count: intFromText(h.tx_count, `block ${hash} tx_count`),
    };
  }

  function refOf(h: EsploraHeader): BlockRef {
    return {
      number: h.height,
      hash: h.id,
      parentHash: h.previousblockhash ?? GENESIS_PARENT,
      timestamp: h.timestamp * 1000,
    };
  }

  /** One page of a block's transactions → its payments to watched addresses. */
  async function page(
    h: EsploraHeader,
    start: number,
    watched: WatchedSet,
  ): Promise<{ count: number; transfers: Transfer[] }> {
    const txs = await getJson(`/block/${h.id}/txs/${start}`);
    if (!Array.isArray(txs)) throw new RpcError(`GET /block/${h.id}/txs/${start}: not a list`);
    const where = { number: h.height, hash: h.id, timestamp: h.timestamp * 1000 };
    const transfers: Transfer[] = [];
    for (const tx of txs as Array<{ txid?: unknown; vout?: unknown; vin?: unknown }>) {
      const txid = hashText(tx?.txid, "txid");
      if (!Array.isArray(tx.vout)) throw new RpcError(`tx ${txid}: no vout`);
      const coinbase =
        Array.isArray(tx.vin) && (tx.vin[0] as { is_coinbase?: unknown } | undefined)?.is_coinbase === true;
      (tx.vout as Array<{ scriptpubkey_address?: unknown; value?: unknown }>).forEach((vout, index) => {
        const raw = vout?.scriptpubkey_address;
        if (typeof raw !== "string") return;
        const address = canonicalAddress(raw);
        if (!watched.has(address)) return;
        if (typeof vout.value !== "string")
          throw new RpcError(`tx ${txid} vout ${index}: value is not a number`);
        // Esplora gives satoshi as an integer (kept as its text by the parser).
        transfers.push({
          txid,
          index,
          via: "output",
          asset,
          address,
          amount: parseUnits(vout.value),
          block: where,
          ...(coinbase ? { minConfirmations: COINBASE_MATURITY } : {}),
        });
      });
    }
    return { count: txs.length, transfers };
  }

  return {
    kind: "bitcoin",
    chain: chain.id,

    async init(known) {
      genesis = startGenesis(chain, genesis, known);
      await hashAt(0); // the first URL is identified before it answers
      if (chain.mempool) {
        logger?.warn(
          { chain: chain.id },
          "mempool: true needs backend: core (Esplora has no way to list the mempool's outputs without one request per transaction); ignored",
        );
      }
      return { genesis: genesis! };
    },
    quarantined: () => transport.quarantined(),

    async heads(): Promise<Heads> {
      return { head: intFromText((await getText("/blocks/tip/height")).trim(), "tip height") };
    },

    async block(number: number): Promise<BlockRef | null> {
      const hash = await hashAt(number);
      if (hash === null) return null;
      const h = await header(hash);
      if (h.height !== number) throw new RpcError(`block ${hash}: height ${h.height}, expected ${number}`);
      return refOf(h);
    },

    async scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult> {
      const heights = range(from, to);
      if (heights.length === 0) return { blocks: [], transfers: [] };
      const hashes = await mapLimit(heights, REQUESTS_IN_FLIGHT, async (height) => {
        const hash = await hashAt(height);
        if (hash === null) throw new RetryableError(`block ${height} is beyond the Esplora server's tip`);
        return hash;
      });
      const blockHeaders = await mapLimit(hashes, REQUESTS_IN_FLIGHT, header);
      const pages = blockHeaders.flatMap((h, b) =>
        range(0, Math.ceil(h.tx_count / ESPLORA_TXS_PER_PAGE) - 1).map((p) => ({
          b,
          start: p * ESPLORA_TXS_PER_PAGE,
        })),
      );
      const results = await mapLimit(pages, REQUESTS_IN_FLIGHT, ({ b, start }) =>
        page(blockHeaders[b]!, start, watched),
      );

      const counted = new Array<number>(blockHeaders.length).fill(0);
      const transfers: Transfer[] = [];
      results.forEach((r, i) => {
        counted[pages[i]!.b]! += r.count;
        transfers.push(...r.transfers);
      });
      const blocks: BlockRef[] = [];
      blockHeaders.forEach((h, b) => {
        if (h.height !== from + b)
          throw new RpcError(`block ${h.id}: height ${h.height}, expected ${from + b}`);
        if (counted[b] !== h.tx_count)
          throw new RpcError(`block ${h.id}: ${counted[b]} transactions served, header says ${h.tx_count}`);
        const ref = refOf(h);
        const previous = blocks[blocks.length - 1];
        if (previous && ref.parentHash !== previous.hash) {
          throw new RetryableError(
            `chain "${chain.id}" changed during the scan at block ${ref.number}; scanning again`,
          );
        }
        blocks.push(ref);
      });
      return { blocks, transfers };
    },

    close: () => transport.close(),
  };
}
