// Tron through the java-tron HTTP API: blocks 100 at a time (getblockbylimitnext) for TRX and
// block identity, one gettransactioninfobyblocknum per block with contract calls for TRC-20 logs.
// Nothing here depends on how many addresses are watched: matching is local.
import type { Logger } from "pino";
import type { AssetConfig, ChainConfig } from "../../config/schema.js";
import { mapLimit } from "../../rpc/map-limit.js";
import { type Transport, UnusableUrlError, createTransport, limitsOf } from "../../rpc/transport.js";
import {
  type BlockRef,
  type ChainAdapter,
  type Heads,
  type ScanResult,
  type Transfer,
  type WatchedSet,
} from "../types.js";
import { NonRetryableError, RetryableError } from "../../errors.js";
import { createTronAddressCodec, tronBase58ToHex } from "./address.js";
import {
  type TronBlock,
  type TronTxInfo,
  findTrc20Transfers,
  findTrxTransfers,
  parseBlockList,
  parseTransactionInfos,
  parseTronBlock,
  runsContract,
} from "./parse.js";

/** getblockbylimitnext serves at most 100 blocks per call */
export const TRON_BLOCKS_PER_REQUEST = 100;
const BLOCK_REQUESTS_IN_FLIGHT = 4;
const INFO_REQUESTS_IN_FLIGHT = 8;

export interface TronAdapterArgs {
  chain: Extract<ChainConfig, { kind: "tron" }>;
  assets: AssetConfig[];
  apiKey?: string;
  /** base URLs serving /walletsolidity/* when not chain.rpc (a self-hosted java-tron serves them
   *  on its solidity port, 8091 by default; TronGrid serves both on one host) */
  solidityRpc?: string[];
  logger?: Logger;
  onRequest?: (url: string, ok: boolean, ms: number) => void;
}

export function createTronAdapter(args: TronAdapterArgs): ChainAdapter {
  const { chain, logger } = args;
  const codec = createTronAddressCodec();
  const mine = args.assets.filter((a) => a.chain === chain.id);
  const nativeAsset = mine.find((a) => a.contract === undefined)?.id;
  const tokens = new Map<string, string>(); // 20-byte contract hex (as in logs) → asset id
  for (const a of mine) {
    if (a.contract === undefined) continue;
    let canonical: string;
    try {
      canonical = codec.parse(a.contract).canonical;
    } catch (e) {
      throw new NonRetryableError(
        `asset ${a.id}: contract ${a.contract} is not a Tron address: ${(e as Error).message}`,
      );
    }
    tokens.set(tronBase58ToHex(canonical).slice(2), a.id);
  }

  /** block 0's blockID every URL must have: pinned, stored at first start, or the first URL's */
  let genesis = chain.genesis?.toLowerCase().replace(/^0x/, "");
  /** Chain identity of one URL: its genesis block (a Nile or Shasta URL has another). */
  const identifyVia =
    (prefix: "/wallet" | "/walletsolidity") => async (probe: Transport, primary: boolean) => {
      const path = `${prefix}/getblockbynum`;
      const block0 = parseTronBlock(await probe.post(path, { num: 0 }), `${path} 0`);
      if (!block0) throw new RetryableError(`${path} 0 answered {} at ${probe.current}`);
      const id = block0.ref.hash.toLowerCase();
      // at first start the genesis is learned from the first full-node URL only, never a failover
      if (genesis === undefined && !(primary && prefix === "/wallet"))
        throw new RetryableError(
          `${chain.id}: genesis not known yet; ${probe.current} waits for the first RPC URL`,
        );
      if (genesis === undefined) genesis = id;
      else if (id !== genesis)
        throw new UnusableUrlError(
          `chain ${chain.id}: the node at ${probe.current} has genesis block ${id}, expected ${genesis} (another Tron network?)`,
        );
    };
  const transportFor = (urls: string[], prefix: "/wallet" | "/walletsolidity") =>
    createTransport({
      chain: chain.id,
      urls,
      timeoutMs: chain.request_timeout_ms,
      headers: args.apiKey ? { "TRON-PRO-API-KEY": args.apiKey } : undefined,
      logger,
      onRequest: args.onRequest,
      identify: identifyVia(prefix),
      ...limitsOf(chain),
    });
  const transport = transportFor(chain.rpc, "/wallet");
  const solidity = args.solidityRpc?.length ? transportFor(args.solidityRpc, "/walletsolidity") : transport;

  async function nowBlock(path: "/wallet/getnowblock" | "/walletsolidity/getnowblock"): Promise<TronBlock> {
    const via = path.startsWith("/walletsolidity/") ? solidity : transport;
    const block = parseTronBlock(await via.post(path, {}), path);
    if (!block) throw new RetryableError(`${path} answered {} (node has no blocks yet?)`);
    return block;
  }

  async function blockRange(start: number, end: number): Promise<TronBlock[]> {
    const path = "/wallet/getblockbylimitnext";
    return parseBlockList(
      await transport.post(path, { startNum: start, endNum: end }),
      `${path} ${start}..${end - 1}`,
    );
  }

  async function infosOf(block: TronBlock) {
    const path = "/wallet/gettransactioninfobyblocknum";
    const where = `${path} ${block.ref.number}`;
    return parseTransactionInfos(await transport.post(path, { num: block.ref.number }), where);
  }

  return {
    kind: "tron",
    chain: chain.id,

    async init(known) {
      const stored = known?.genesis?.toLowerCase().replace(/^0x/, "");
      if (genesis !== undefined && stored !== undefined && stored !== genesis)
        throw new NonRetryableError(
          `chain ${chain.id}: config pins genesis ${genesis}, but this database was built on genesis ${stored}`,
        );
      genesis ??= stored;
      // each URL is identified before it answers
      const head = await nowBlock("/wallet/getnowblock");
      if (solidity !== transport) await nowBlock("/walletsolidity/getnowblock");
      const ageS = Math.round((Date.now() - head.ref.timestamp) / 1000);
      // a node far behind still works (we only read), but the operator should know
      if (ageS > 600)
        logger?.warn(
          { chain: chain.id, head: head.ref.number, ageS },
          "tron node head is old: still syncing?",
        );
      logger?.info(
        { chain: chain.id, head: head.ref.number, native: nativeAsset ?? null, tokens: [...tokens.values()] },
        "tron node ok",
      );
      return { genesis: genesis! };
    },
    quarantined: () => [
      ...transport.quarantined(),
      ...(solidity === transport ? [] : solidity.quarantined()),
    ],

    async heads(): Promise<Heads> {
      const [head, solid] = await Promise.all([
        nowBlock("/wallet/getnowblock"),
        nowBlock("/walletsolidity/getnowblock"),
      ]);
      // a solidity node ahead of the full node is a lagging full node: never report solid > head
      return { head: head.ref.number, solid: Math.min(solid.ref.number, head.ref.number) };
    },

    async block(number): Promise<BlockRef | null> {
      const path = "/wallet/getblockbynum";
      const block = parseTronBlock(await transport.post(path, { num: number }), `${path} ${number}`);
      if (!block) return null;
      if (block.ref.number !== number)
        throw new RetryableError(`${path} ${number} answered block ${block.ref.number}`);
      return block.ref;
    },

    async scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult> {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from) {
        throw new NonRetryableError(`scan: bad block range ${from}..${to}`);
      }
      const chunks: Array<[number, number]> = [];
      for (let s = from; s <= to; s += TRON_BLOCKS_PER_REQUEST)
        chunks.push([s, Math.min(s + TRON_BLOCKS_PER_REQUEST, to + 1)]);
      const blocks = (await mapLimit(chunks, BLOCK_REQUESTS_IN_FLIGHT, ([s, e]) => blockRange(s, e)))
        .flat()
        .sort((a, b) => a.ref.number - b.ref.number);

      // never skip a block: every number in range exactly once, each the parent of the next
      if (blocks.length !== to - from + 1) {
        const have = new Set(blocks.map((b) => b.ref.number));
        const missing = [];
        for (let n = from; n <= to && missing.length < 5; n++) if (!have.has(n)) missing.push(n);
        throw new RetryableError(
          `getblockbylimitnext ${from}..${to}: got ${blocks.length} of ${to - from + 1} blocks` +
            (missing.length
              ? ` (missing ${missing.join(", ")}${missing.length === 5 ? ", …" : ""})`
              : " (duplicates)"),
        );
      }
      blocks.forEach((b, i) => {
        if (b.ref.number !== from + i)
          throw new RetryableError(`getblockbylimitnext ${from}..${to}: block ${from + i} missing`);
        const prev = blocks[i - 1];
        if (prev && b.ref.parentHash !== prev.ref.hash) {
          throw new RetryableError(
            `getblockbylimitnext: block ${b.ref.number} does not follow ${prev.ref.hash} (reorg mid-scan?)`,
          );
        }
      });

      const infos = new Map<number, TronTxInfo[]>();
      if (tokens.size > 0) {
        const withCalls = blocks.filter((b) => b.txs.some(runsContract));
        const lists = await mapLimit(withCalls, INFO_REQUESTS_IN_FLIGHT, infosOf);
        withCalls.forEach((b, i) => infos.set(b.ref.number, lists[i]!));
      }
      const transfers: Transfer[] = [];
      for (const b of blocks) {
        const found = nativeAsset === undefined ? [] : findTrxTransfers(b, watched, nativeAsset);
        const list = infos.get(b.ref.number);
        if (list) found.push(...findTrc20Transfers(b, list, tokens, watched));
        // chain order: by position of the transaction in its block, then log index
        const position = new Map(b.txs.map((t, i) => [t.txID, i]));
        found.sort((x, y) => position.get(x.txid)! - position.get(y.txid)! || x.index - y.index);
        transfers.push(...found);
      }
      logger?.debug({ chain: chain.id, from, to, transfers: transfers.length }, "tron range scanned");
      return { blocks: blocks.map((b) => b.ref), transfers };
    },

    async close() {
      await transport.close();
      if (solidity !== transport) await solidity.close();
    },
  };
}
