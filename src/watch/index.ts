// One watcher per chain: read heads, check the tip for reorgs, scan a batch from the cursor,
// then write everything found in ONE ledger transaction. Chain-independent: it only talks to a
// ChainAdapter. RPC trouble never skips a block: the pass is retried with backoff.
import type { Common } from "../common.js";
import type { ChainConfig } from "../config/schema.js";
import { reorgDepthOf } from "../chains/kinds.js";
import type { BlockRef, ChainAdapter, Heads, QuorumStatus, ScanResult, WatchedSet } from "../chains/types.js";
import { LeaseLostError } from "../db/lease.js";
import { NonRetryableError, RetryableError } from "../errors.js";
import type { Ledger } from "../ledger/index.js";
import { backoffDelay, sleep } from "../rpc/retry.js";
import { AddressSet } from "./address-set.js";
import type { ChainStore } from "./store.js";

export interface WatcherStatus {
  chain: string;
  head: number | null;
  /** last block fully scanned */
  scanned: number | null;
  lagBlocks: number | null;
  lastOkAt: number | null;
  lastError: string | null;
  /** the watcher stopped for good (deep reorg, wrong chain): needs an operator */
  fatal: string | null;
  watched: number;
  /** RPC URLs never used because they serve another chain */
  quarantined: { url: string; reason: string }[];
  /** optional work (the mempool) that failed since start; block scanning went on */
  mempoolFailures: number;
  /** rpc_quorum ≥ 2: which URLs dissented; null with quorum 1 */
  quorum: QuorumStatus | null;
}

export interface PassResult {
  from: number;
  to: number;
  head: number;
  payments: number;
  events: number;
  reorg: { ancestor: number } | null;
  caughtUp: boolean;
}

export interface Watcher {
  start(): void;
  /** finish the current batch, then stop */
  stop(): Promise<void>;
  runOnce(): Promise<PassResult | null>;
  status(): WatcherStatus;
}

export interface WatcherArgs {
  chain: ChainConfig;
  adapter: ChainAdapter;
  ledger: Ledger;
  common: Common;
  /** called after a pass wrote events (wakes the delivery worker) */
  onEvents?: () => void;
  /** the stored genesis and oldest block (absent: kept in memory only) */
  store?: ChainStore;
}

/** batches fetched ahead while catching up (fetching overlaps the synchronous writes) */
const PREFETCH_DEPTH = 1;
/** how long a catch-up may go on with the heads it last asked for (currentHeads) */
const HEADS_REUSE_MS = 1_000;

/** a watcher further behind than this logs its catch-up progress */
export const CATCH_UP_BLOCKS = 1000;
const PROGRESS_MS = 10_000;

export class DeepReorgError extends NonRetryableError {
  override name = "DeepReorgError";
}

/** A watched set that grows as pools derive more addresses; reloads only what is new. */
export function createWatchedSet(ledger: Ledger, chain: string): WatchedSet & { refresh(): void } {
  const set = new AddressSet();
  const add = (text: string, start: number, end: number) => set.addSlice(text, start, end);
  let lastId = 0;
  return {
    has: (a) => set.has(a),
    get size() {
      return set.size;
    },
    refresh() {
      // pool rows are only ever added (ids grow), so only read what is new
      lastId = ledger.loadWatched(chain, lastId, add);
    },
  };
}

export function createWatcher({ chain, adapter, ledger, common, onEvents, store }: WatcherArgs): Watcher {
  const log = common.logger.child({ chain: chain.id });
  const reorgDepth = reorgDepthOf(chain);
  const watched = createWatchedSet(ledger, chain.id);
  const state: WatcherStatus = {
    chain: chain.id,
    head: null,
    scanned: null,
    lagBlocks: null,
    lastOkAt: null,
    lastError: null,
    fatal: null,
    watched: 0,
    quarantined: [],
    mempoolFailures: 0,
    quorum: null,
  };
  let initialized = false;
  let genesis: string | undefined;
  let running = false;
  let loop: Promise<void> | null = null;
  const stopper = new AbortController();
  let lastHeads: Heads | null = null;
  let lastHeadsAt = -Infinity;
  /** a pass started and did not finish (it failed): the next one asks the heads again */
  let passOpen = false;
  /** the next batches, fetched while the current one is written (catch-up); checked like any scan */
  let prefetched: { from: number; to: number; result: Promise<ScanResult> }[] = [];

  function scanRange(from: number, to: number): Promise<ScanResult> {
    const p = prefetched.shift();
    if (p && p.from === from && p.to === to) return p.result;
    prefetched = []; // the plan changed (reorg, restart): drop what was fetched ahead
    return adapter.scan(from, to, watched);
  }

  /** keep PREFETCH_DEPTH batches after `last` in flight, up to the head */
  function prefetchAfter(last: number, head: number): void {
    let next = prefetched.at(-1)?.to ?? last;
    if (next < last) {
      prefetched = [];
      next = last;
    }
    while (prefetched.length < PREFETCH_DEPTH && next < head) {
      const from = next + 1;
      const to = Math.min(head, next + chain.blocks_per_scan);
      const result = adapter.scan(from, to, watched);
      result.catch(() => undefined); // a failed prefetch is simply fetched again
      prefetched.push({ from, to, result });
      next = to;
    }
  }

  async function findAncestor(below: number, stored: Map<number, string>): Promise<number> {
    const oldest = Math.min(...stored.keys());
    for (let n = below; n >= oldest; n--) {
      const known = stored.get(n);
      if (known === undefined) continue;
      const b = await adapter.block(n);
      if (b && b.hash === known) return n;
    }
    // Everything we ever scanned was replaced, but nothing was pruned yet: the first scanned
    // block's parent (below start_block) is the ancestor, and no stored payment lies below it —
    // but only if the node's block there still has that parent. Otherwise it is another chain
    // (or a reorg below where we started): never an ancestor, a stop.
    if (stored.size < reorgDepth) {
      if (!store) return oldest - 1;
      const first = store.oldestBlock(chain.id);
      const node = await adapter.block(oldest);
      if (!node) throw new RetryableError(`node does not have block ${oldest} it had before (lagging node?)`);
      if (first?.number === oldest && node.parentHash === first.parentHash) return oldest - 1;
      throw new DeepReorgError(
        `the node's chain does not hold the oldest block this watcher stored (${oldest}) nor its parent: another ` +
          `chain, or a reorg below the first block scanned on ${chain.id}. Stopping this watcher; check the RPC URLs.`,
      );
    }
    throw new DeepReorgError(
      `reorg deeper than reorg_depth (${reorgDepth}) on ${chain.id}: no stored block from ${oldest} to ${below} is ` +
        `still on the node's chain. Stopping this watcher; check the node, then raise reorg_depth or restore.`,
    );
  }

  async function runOnce(): Promise<PassResult | null> {
    if (state.fatal) return null;
    if (!initialized) {
      // every URL must serve the genesis stored at first start (or the config's pin)
      const known = store?.genesis(chain.id) ?? genesis;
      genesis = (await adapter.init(known === undefined ? {} : { genesis: known })).genesis;
      if (store && known === undefined) store.saveGenesis(chain.id, genesis, common.now());
      initialized = true;
    }
    if (passOpen) lastHeadsAt = -Infinity;
    passOpen = true;
    watched.refresh();
    state.watched = watched.size;
    // The mempool is read BEFORE the head: a transaction that leaves it by being mined is then
    // in the blocks this pass scans, and is never mistaken for a dropped one.
    // an adapter has mempool() only where it is supported and enabled (Bitcoin Core, mempool: true)
    const mempool = await readMempool();
    const heads = await currentHeads();
    state.head = heads.head;
    // lag grows with the head even while scans fail, so /healthz sees a stuck watcher
    if (state.scanned !== null) state.lagBlocks = Math.max(0, heads.head - state.scanned);
    const now = common.now();

    let cursor = ledger.cursor(chain.id);
    if (!cursor) {
      const start = chain.start_block === "latest" ? heads.head : chain.start_block;
      ledger.initCursor(chain.id, start, now);
      cursor = ledger.cursor(chain.id)!;
      log.info({ start }, "watcher starts from its configured start block");
    }
    const stored = ledger.recentBlocks(chain.id);
    let from = cursor.next_block;
    let rollbackTo: number | undefined;

    // A reorg at or below the tip we scanned: the node's block at our last height has another hash.
    // With blocks to scan, the scan's first block's parent is that check (below), in the same answer;
    // at the head, nothing new is fetched, so the tip is asked for.
    const tipNumber = from - 1;
    const tipHash = stored.get(tipNumber);
    if (tipHash !== undefined && from > heads.head) {
      const tip = await adapter.block(tipNumber);
      if (!tip)
        throw new RetryableError(`node does not have block ${tipNumber} it had before (lagging node?)`);
      if (tip.hash !== tipHash) {
        rollbackTo = await findAncestor(tipNumber - 1, stored);
        from = rollbackTo + 1;
      }
    }

    if (from > heads.head) {
      const same = lastHeads && lastHeads.head === heads.head && lastHeads.solid === heads.solid;
      lastHeads = heads;
      let events = mempool ? ledger.recordMempool(chain.id, mempool, now, true).events : 0;
      if (rollbackTo === undefined && same) return done(from, from - 1, heads, 0, events, undefined);
      // Heads moved (confirmations may complete) or a reorg shortened the chain: write that.
      events += ledger.recordScan(
        { chain: chain.id, heads, blocks: [], transfers: [], rollbackTo, keepBlocks: reorgDepth },
        now,
      ).events;
      return done(from, from - 1, heads, 0, events, rollbackTo);
    }
    lastHeads = heads;

    const to = Math.min(heads.head, from + chain.blocks_per_scan - 1);
    let scan = await scanRange(from, to);
    checkContiguous(scan.blocks, from, to);
    const parentKnown = rollbackTo !== undefined ? stored.get(rollbackTo) : stored.get(from - 1);
    if (parentKnown !== undefined && scan.blocks[0]!.parentHash !== parentKnown) {
      // The chain changed between the tip check and the scan: find the ancestor and rescan.
      rollbackTo = await findAncestor(from - 2, stored);
      from = rollbackTo + 1;
      const to2 = Math.min(heads.head, from + chain.blocks_per_scan - 1);
      scan = await adapter.scan(from, to2, watched);
      checkContiguous(scan.blocks, from, to2);
      const ancestorHash = stored.get(rollbackTo); // undefined: below the first block ever scanned
      if (ancestorHash !== undefined && ancestorHash !== scan.blocks[0]!.parentHash)
        throw new RetryableError("chain still moving; retrying");
    }
    if (rollbackTo !== undefined)
      log.warn({ ancestor: rollbackTo, depth: tipNumber - rollbackTo }, "reorg detected");

    const last = scan.blocks.at(-1)!.number;
    // Catching up: fetch the next batch while this one is written. Its first block's parent is
    // checked against this batch's last hash on the next pass, like every scan.
    if (last < heads.head) prefetchAfter(last, heads.head);
    const r = ledger.recordScan(
      {
        chain: chain.id,
        heads,
        blocks: scan.blocks,
        transfers: scan.transfers,
        rollbackTo,
        keepBlocks: reorgDepth,
      },
      common.now(),
    );
    let events = r.events;
    // Only a pass that reached the head may conclude a transaction left the mempool unmined.
    if (mempool) events += ledger.recordMempool(chain.id, mempool, common.now(), last >= heads.head).events;
    return done(from, last, heads, scan.transfers.length, events, rollbackTo);
  }

  /**
   * The heads, asked for again unless a whole batch still lies below the last answer and it is
   * younger than HEADS_REUSE_MS: a catch-up does not ask the head before every batch. A reused head
   * is never ahead of the node (heads only grow between reorgs, which the scan's parent check sees),
   * so it can only delay a confirmation, and a pass on a reused head never reaches it (no mempool
   * conclusion, no "caught up").
   */
  async function currentHeads(): Promise<Heads> {
    const from = ledger.cursor(chain.id)?.next_block;
    if (
      lastHeads &&
      from !== undefined &&
      lastHeads.head > from + chain.blocks_per_scan - 1 &&
      performance.now() - lastHeadsAt < HEADS_REUSE_MS
    )
      return lastHeads;
    const heads = await adapter.heads();
    lastHeadsAt = performance.now();
    return heads;
  }

  /** Optional never blocks required: a failing mempool read is logged, counted and skipped. */
  async function readMempool() {
    if (!adapter.mempool) return null;
    try {
      return await adapter.mempool(watched);
    } catch (e) {
      if (e instanceof NonRetryableError) throw e;
      state.mempoolFailures++;
      log.warn(
        { err: (e as Error).message, failures: state.mempoolFailures },
        "mempool read failed; skipped this pass, blocks are scanned as usual",
      );
      return null;
    }
  }

  function checkContiguous(blocks: BlockRef[], from: number, to: number): void {
    if (blocks.length !== to - from + 1 || blocks[0]?.number !== from || blocks.at(-1)?.number !== to) {
      throw new RetryableError(`scan of ${from}..${to} returned ${blocks.length} blocks`);
    }
    for (let i = 1; i < blocks.length; i++) {
      if (blocks[i]!.parentHash !== blocks[i - 1]!.hash)
        throw new RetryableError(`block ${blocks[i]!.number} does not extend its parent`);
    }
  }

  // Catch-up progress: logged every PROGRESS_MS while far behind, with speed and an ETA.
  let progress: { at: number; scanned: number } | null = null;
  function logProgress(to: number, head: number): void {
    const lag = head - to;
    const t = Date.now();
    if (lag < CATCH_UP_BLOCKS) {
      if (progress) log.info({ scanned: to, head }, "caught up");
      progress = null;
      return;
    }
    if (!progress) {
      progress = { at: t, scanned: to };
      log.info({ scanned: to, head, behind: lag }, "catching up");
      return;
    }
    if (t - progress.at < PROGRESS_MS) return;
    const rate = ((to - progress.scanned) * 1000) / (t - progress.at);
    log.info(
      {
        scanned: to,
        head,
        behind: lag,
        blocks_per_s: Math.round(rate),
        eta_s: rate > 0 ? Math.round(lag / rate) : null,
      },
      "catch-up progress",
    );
    progress = { at: t, scanned: to };
  }

  function done(
    from: number,
    to: number,
    heads: Heads,
    payments: number,
    events: number,
    rollbackTo: number | undefined,
  ): PassResult {
    passOpen = false;
    logProgress(to, heads.head);
    state.scanned = to;
    state.lagBlocks = Math.max(0, heads.head - to);
    state.lastOkAt = common.now();
    state.lastError = null;
    if (events > 0) onEvents?.();
    return {
      from,
      to,
      head: heads.head,
      payments,
      events,
      reorg: rollbackTo === undefined ? null : { ancestor: rollbackTo },
      caughtUp: to >= heads.head,
    };
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      try {
        const r = await runOnce();
        failures = 0;
        if (!r) break;
        if (r.caughtUp) await sleep(chain.poll_interval_ms, stopper.signal);
      } catch (e) {
        const err = e as Error;
        if (e instanceof LeaseLostError) {
          // another instance has this chain now: stop here; nothing of this pass was written
          log.warn({ err: err.message }, "watcher stopped: lease lost");
          break;
        }
        state.lastError = err.message;
        if (e instanceof NonRetryableError) {
          state.fatal = err.message;
          log.fatal({ err: err.message }, "watcher stopped: needs an operator");
          break;
        }
        failures++;
        const delay = backoffDelay(failures - 1, 500, 10_000);
        log.warn({ err: err.message, failures, retryInMs: delay }, "watcher pass failed; retrying");
        await sleep(delay, stopper.signal);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      stopper.abort();
      await loop;
      await adapter.close?.();
    },
    runOnce,
    status: () => ({
      ...state,
      quarantined: adapter.quarantined?.() ?? [],
      quorum: adapter.quorum?.() ?? null,
    }),
  };
}
