// A ledger + one chain watcher over a real SQLite database, for end-to-end watching tests of any
// chain kind (no HTTP API needed). The adapter is the real one for the configured chain.
import { adapterFor, addressCodecFor } from "../../src/chains/index.js";
import type { ChainAdapter } from "../../src/chains/types.js";
import { validateConfig } from "../../src/config/load.js";
import { openDatabase } from "../../src/db/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { type CreateOrderInput, createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { type Watcher, createWatcher } from "../../src/watch/index.js";
import { createScanProgress } from "../../src/watch/progress.js";
import { quorumAdapterFor } from "../../src/watch/quorum.js";
import { createChainStore } from "../../src/watch/store.js";
import { rawConfig, testCommon } from "./config.js";

export interface HarnessOptions {
  chain: Record<string, unknown>;
  assets: Record<string, unknown>[];
  /** pool file text for a static pool */
  poolText?: string;
  rates?: Record<string, Record<string, string>>;
  dbPath?: string;
  lateWindowMinutes?: number;
  /** the daemon's clock */
  now?: () => number;
  adapter?: (a: ChainAdapter) => ChainAdapter;
}

export function createWatchHarness(o: HarnessOptions) {
  const config = validateConfig(
    rawConfig({
      database: { path: o.dbPath ?? ":memory:", synchronous: "NORMAL" },
      orders: { valid_minutes: 30, late_window_minutes: o.lateWindowMinutes ?? 60, timer_interval_ms: 100 },
      rates: { static: o.rates ?? {} },
      // local nodes: no free-tier request budget to respect
      chains: [{ rpc_max_rps: 10_000, ...o.chain }],
      assets: o.assets,
    }),
    {},
  );
  const common = testCommon(config, o.now ?? Date.now);
  const db = openDatabase(config.database, { synchronous: "NORMAL" });
  const catalog = createCatalog(config);
  // as the daemon: deadlines pass once the watcher (after it reported) has scanned past them
  const made: { watcher?: Watcher } = {};
  const progress = createScanProgress(db, () => (made.watcher?.status().lastOkAt ?? null) !== null);
  const ledger = createLedger(db, common, catalog, { scannedTime: progress.scannedTime });
  const chain = config.chains[0]!;
  if (o.poolText) importPoolFile(db, chain.id, addressCodecFor(chain), o.poolText, common.now());
  const make = (c: typeof chain) =>
    adapterFor(c, catalog.assetsOfChain(chain.id), { secret: config.chainSecrets[chain.id] });
  // rpc_quorum ≥ 2: as the daemon, one adapter per URL behind the quorum adapter
  const real = (chain.rpc_quorum ?? 1) > 1 ? quorumAdapterFor(chain, make, { now: common.now }) : make(chain);
  const adapter = o.adapter ? o.adapter(real) : real;
  const theWatcher = (made.watcher = createWatcher({
    chain,
    adapter,
    ledger,
    common,
    store: createChainStore(db),
  }));

  /**
   * run passes until the watcher has scanned the node's head (retrying failed passes). Where the
   * chain reads the mempool, the last pass must also have read it: the watcher skips a failed
   * mempool read by design and scans on, and a test that just sent or replaced a transaction must
   * see a pass that read the mempool after it. `mempoolMayFail`: a test of exactly that skip.
   */
  async function sync(maxPasses = 200, opts: { mempoolMayFail?: boolean } = {}): Promise<void> {
    let lastError: unknown;
    for (let i = 0; i < maxPasses; i++) {
      try {
        const failures = theWatcher.status().mempoolFailures;
        const r = await theWatcher.runOnce();
        const mempoolRead = theWatcher.status().mempoolFailures === failures;
        if (r?.caughtUp && (mempoolRead || opts.mempoolMayFail)) return;
        if (r?.caughtUp) throw new Error("the mempool read failed");
      } catch (e) {
        lastError = e;
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    throw new Error(`watcher did not catch up: ${String(lastError)}`);
  }

  return {
    config,
    common,
    db,
    ledger,
    adapter,
    watcher: theWatcher,
    progress,
    sync,
    createOrder(input: Partial<CreateOrderInput> & { merchant_order_id: string; currency: string }) {
      return ledger.createOrder(
        "shop",
        { amount: "10", callback_url: "http://127.0.0.1:9/cb", ...input },
        common.now(),
      ).order;
    },
    order(id: string) {
      return ledger.getOrder("shop", id)!;
    },
    payments(id: string) {
      return ledger.orderPayments("shop", id)!;
    },
    eventTypes(id: string): string[] {
      return db
        .prepare<[string], { type: string }>("SELECT type FROM events WHERE order_id = ? ORDER BY seq")
        .all(id)
        .map((e) => e.type);
    },
    async close() {
      await theWatcher.stop();
      db.close();
    },
  };
}

export type WatchHarness = ReturnType<typeof createWatchHarness>;
