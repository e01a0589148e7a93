// `depositd serve`: wires the database, pools, watchers, delivery worker, timers and API.
import { readFileSync } from "node:fs";
import { adapterFor, addressCodecFor, deriverFor } from "./chains/index.js";
import type { AddressDeriver, ChainAdapter } from "./chains/types.js";
import type { ChainConfig } from "./config/schema.js";
import { type Common } from "./common.js";
import { createCluster } from "./db/cluster.js";
import { type DB, migrateDatabase, openDatabase } from "./db/index.js";
import { type LeaseReport, TIMER_ROLE, leaseReport, watcherRole } from "./db/lease.js";
import { healthProbeStatement } from "./db/statements.js";
import { type Api, type HealthReport, createApi } from "./api/server.js";
import { createRpcLog, recordLagSamples } from "./console/index.js";
import { type Checkout, createCheckout } from "./checkout/index.js";
import { type Catalog, createCatalog } from "./ledger/catalog.js";
import { type Ledger, createLedger } from "./ledger/index.js";
import { registerMetrics, registerRateMetrics } from "./metrics.js";
import { type RateBook, createRateBook } from "./rates/index.js";
import { createDeliveryWorker } from "./notify/deliver.js";
import { ensureDerived, importPoolFile, poolReuses, poolStatus } from "./pool/index.js";
import { type AuditLoop, auditFindingsSource, auditHealth, createAuditLoop } from "./audit/background.js";
import { type Watcher, type WatcherStatus, createWatcher } from "./watch/index.js";
import { watchStatements } from "./watch/statements.js";
import { quorumAdapterFor } from "./watch/quorum.js";
import { createScanProgress } from "./watch/progress.js";
import { createChainStore } from "./watch/store.js";

export interface Daemon {
  db: DB;
  ledger: Ledger;
  catalog: Catalog;
  /** live rates, when configured */
  rates: RateBook | undefined;
  api: Api;
  watchers: Map<string, Watcher>;
  /** the background audit of the chains with audit.enabled */
  audit: AuditLoop;
  address: { host: string; port: number };
  /** the checkout page's listener (null when checkout.enabled is false) */
  checkout: { server: Checkout; address: { host: string; port: number } } | null;
  health(): HealthReport;
  /** wake the delivery worker */
  notify(): void;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** replace a chain's adapter (tests) */
  adapters?: Record<string, ChainAdapter>;
  /** do not start watcher loops (tests drive runOnce) */
  manualWatchers?: boolean;
  /** do not start the delivery worker */
  noDelivery?: boolean;
  /** do not start the expiry/pool timer (tests drive tick) */
  noTimers?: boolean;
  /** do not refresh live rates in the background (tests drive rates.refresh) */
  manualRates?: boolean;
  /** do not start the background audit loops (tests drive audit.runOnce) */
  manualAudit?: boolean;
}

/**
 * How long a watcher may go without a successful pass before /healthz calls its chain failing: ten
 * polls, at least 10 s (a pass that retries a slow node legitimately takes a few seconds).
 */
export function silentLimitMs(pollIntervalMs: number): number {
  return Math.max(10_000, pollIntervalMs * 10);
}

/** Import static pool files and derive xpub lookahead: idempotent, run at every start. */
export function preparePools(db: DB, common: Common): void {
  const now = common.now();
  for (const chain of common.config.chains) {
    const pool = chain.pool;
    if (pool.source === "static" && pool.file) {
      const r = importPoolFile(
        db,
        chain.id,
        addressCodecFor(chain),
        readFileSync(pool.file, "utf8"),
        now,
        pool.file,
      );
      if (r.added) common.logger.info({ chain: chain.id, added: r.added }, "pool addresses imported");
    } else if (pool.source === "xpub") {
      const added = ensureDerived(db, chain.id, deriverFor(chain)!, pool.lookahead, now);
      if (added) common.logger.info({ chain: chain.id, added }, "pool addresses derived");
    }
  }
}

/** One deriver per chain (parsing an extended key is not free). */
function createDerivers() {
  const cache = new Map<string, AddressDeriver>();
  return {
    get(chain: ChainConfig): AddressDeriver {
      let d = cache.get(chain.id);
      if (!d) cache.set(chain.id, (d = deriverFor(chain)!));
      return d;
    },
  };
}

/**
 * Live rates in /healthz: a pair without a fresh rate is a warning, not a failure. Watching and
 * crediting payments of existing orders does not need rates, and restarting the daemon (what a
 * failing health check invites) cannot bring a market back.
 */
export function rateHealth(book: RateBook): { ok: true; detail: unknown } {
  const unpriced = book.pairs
    .map((p) => ({ pair: `${p.asset}/${p.currency}`, d: book.decision(p.asset, p.currency)! }))
    .filter((x) => !x.d.ok);
  const failing = book.providers().filter((p) => Object.keys(p.failing).length > 0);
  return {
    ok: true,
    detail: {
      pairs: book.pairs.length,
      warnings: unpriced.map((x) => `${x.pair}: no fresh rate (${x.d.ok ? "" : x.d.reason})`),
      providers_failing: Object.fromEntries(failing.map((p) => [p.kind, p.failing])),
    },
  };
}

export async function startDaemon(common: Common, options: DaemonOptions = {}): Promise<Daemon> {
  const derivers = createDerivers();
  const cfg = common.config;
  const log = common.logger;
  // PostgreSQL: every instance applies what is missing at start, one at a time (advisory lock)
  if (cfg.database.engine === "postgres") await migrateDatabase(cfg.database);
  const db = openDatabase(cfg.database);
  const rateMetrics = registerRateMetrics(common, () => rates);
  const rates = cfg.rates.live
    ? createRateBook({
        live: cfg.rates.live,
        assets: cfg.assets,
        hasStatic: (asset, currency) => cfg.rates.static[currency]?.[asset] !== undefined,
        now: common.now,
        logger: log,
        onRequest: (provider, ok, ms) => rateMetrics.request(provider, ok, ms),
      })
    : undefined;
  const catalog = createCatalog(cfg, rates);
  const watchers = new Map<string, Watcher>();
  const metrics = registerMetrics(common, db, () => [...watchers.values()].map((w) => w.status()));
  // Deadlines follow the chains, not the wall clock; a watcher that has not reported since this
  // start holds its chain's deadlines (the timer may run before the watchers).
  // (several instances: a chain some instance watches under a live lease has reported)
  const progress = createScanProgress(db, (id) => {
    const chain = cfg.chains.find((c) => c.id === id);
    return chain !== undefined && chainStatus(chain).lastOkAt !== null;
  });
  const checkout = cfg.checkout.enabled ? createCheckout({ db, catalog, common }) : null;
  // Several instances on PostgreSQL: a chain is watched, and the timers run, only where this
  // instance holds the role's lease; every such write is fenced by it (src/db/cluster.ts).
  const cluster =
    cfg.database.engine === "postgres"
      ? createCluster({
          database: cfg.database,
          logger: log,
          roles: [...cfg.chains.map((c) => watcherRole(c.id)), TIMER_ROLE],
          onAcquired: (role) => roleAcquired(role),
          onLost: (role) => roleLost(role),
          onWake: () => worker?.notify(),
        })
      : null;
  const ledger = createLedger(db, common, catalog, {
    fence: cluster ? (role) => cluster.keeper.fence(db, role) : undefined,
    scannedTime: progress.scannedTime,
    onCommit: checkout ? (c) => checkout.onCommit(c) : undefined,
    onWrite: (kind, ms) => metrics.write(kind, ms),
    topUpPool(chainId, now) {
      const chain = catalog.chain(chainId);
      if (chain?.pool.source !== "xpub") return false;
      return ensureDerived(db, chainId, derivers.get(chain), chain.pool.lookahead, now) > 0;
    },
  });
  preparePools(db, common);

  const worker = options.noDelivery ? null : createDeliveryWorker({ db, common });
  const notify = cluster ? () => cluster.wake() : () => worker?.notify();
  const rpcLog = createRpcLog();

  const store = createChainStore(db);
  function makeWatcher(chain: ChainConfig): Watcher {
    const make = (c: ChainConfig) =>
      adapterFor(c, catalog.assetsOfChain(chain.id), {
        logger: log.child({ chain: chain.id }),
        secret: cfg.chainSecrets[chain.id],
        onRequest: (url, ok, ms, status) => {
          metrics.rpc(chain.id, url, ok, ms);
          rpcLog.record(chain.id, url, ok, common.now(), status === 429);
        },
      });
    const adapter =
      options.adapters?.[chain.id] ??
      ((chain.rpc_quorum ?? 1) > 1
        ? quorumAdapterFor(chain, make, {
            logger: log.child({ chain: chain.id }),
            now: common.now,
            onDisagreement: (url) => metrics.quorumDisagreement(chain.id, url),
          })
        : make(chain));
    return createWatcher({ chain, adapter, ledger, common, onEvents: notify, store });
  }
  for (const chain of cfg.chains) watchers.set(chain.id, makeWatcher(chain));
  /** watchers run (not under manualWatchers) once started, and where the chain's lease is held */
  let watching = false;
  const chainOfRole = new Map(cfg.chains.map((c) => [watcherRole(c.id), c]));
  function roleAcquired(role: string): void {
    const chain = chainOfRole.get(role);
    if (chain && watching) watchers.get(chain.id)!.start();
  }
  function roleLost(role: string): void {
    const chain = chainOfRole.get(role);
    if (!chain) return;
    // what the old watcher fetched ahead goes with it; the next tenure starts from the database
    const old = watchers.get(chain.id)!;
    if (!options.manualWatchers) watchers.set(chain.id, makeWatcher(chain));
    void old.stop();
  }

  const audit = createAuditLoop({
    db,
    common,
    catalog,
    ledger,
    onBatch: (chain, blocks, findings) => metrics.audited(chain, blocks, findings),
    onRequest: (chain, url, ok, ms) => metrics.rpc(chain, url, ok, ms),
  });

  // The write probe runs on the timer, not per /healthz GET: an unauthenticated caller must not be
  // able to make the daemon write. /healthz reports the last probe and how old it is.
  const checkWritable = healthProbeStatement(db);
  let probe: { at: number; error: string | null } | null = null;
  function probeDatabase(now: number): void {
    try {
      checkWritable.run({ at: now });
      probe = { at: now, error: null };
    } catch (e) {
      probe = { at: now, error: (e as Error).message };
    }
  }
  const probeStaleMs = Math.max(30_000, 3 * cfg.orders.timer_interval_ms);
  function health(): HealthReport {
    const checks: HealthReport["checks"] = {};
    const probeAge = probe ? common.now() - probe.at : null;
    if (probe === null || probeAge === null) checks.database = { ok: false, detail: "not probed yet" };
    else if (probe.error) checks.database = { ok: false, detail: probe.error };
    else if (probeAge > probeStaleMs && !options.noTimers)
      checks.database = { ok: false, detail: `last write probe ${Math.round(probeAge / 1000)} s ago` };
    else checks.database = { ok: true };
    for (const chain of cfg.chains) {
      const s = chainStatus(chain);
      // lag_blocks is only as fresh as the last pass: a node that stopped answering hides new blocks
      const silentMs = s.lastOkAt === null ? null : Math.max(0, common.now() - s.lastOkAt);
      const ok =
        s.fatal === null &&
        s.lagBlocks !== null &&
        s.lagBlocks <= chain.max_lag_blocks &&
        silentMs !== null &&
        silentMs <= silentLimitMs(chain.poll_interval_ms) &&
        !s.quorum?.disagreeing;
      const pool = poolStatus(db, chain.id, common.now(), poolReuses(chain.pool));
      const scannedTime = progress.scannedTime(chain.id);
      checks[`chain:${chain.id}`] = {
        ok,
        detail: {
          head: s.head,
          scanned: s.scanned,
          lag_blocks: s.lagBlocks,
          last_ok_at: s.lastOkAt === null ? null : new Date(s.lastOkAt).toISOString(),
          silent_ms: silentMs,
          last_error: s.lastError,
          fatal: s.fatal,
          watched: s.watched,
          // orders past expires_at (bindings past late_until) that wait until this chain is scanned past it
          scanned_time: scannedTime === null ? null : new Date(scannedTime).toISOString(),
          waiting: progress.waiting(chain.id, common.now()),
          // URLs that serve another chain: never used until restart
          quarantined: s.quarantined,
          mempool_failures: s.mempoolFailures,
          // rpc_quorum ≥ 2: a disagreement keeps the chain lagging (and so failing) until it ends
          ...(s.quorum ? { quorum: s.quorum } : {}),
          // several instances (PostgreSQL): who watches this chain, at which epoch
          ...(s.lease !== undefined ? { lease: s.lease } : {}),
          pool: { ...pool, low_water: chain.pool.low_water, low: pool.free < chain.pool.low_water },
        },
      };
    }
    if (rates) checks.rates = rateHealth(rates);
    if (audit.chains.length) checks.audit = auditHealth(db, cfg.chains);
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  /**
   * A chain as /healthz reports it: this instance's watcher while it holds the chain (or with one
   * instance); else from the database: the cursor the holder wrote and who holds the lease.
   */
  function chainStatus(chain: ChainConfig): WatcherStatus & { lease?: LeaseReport | null } {
    const local = watchers.get(chain.id)!.status();
    if (!cluster) return local;
    const role = watcherRole(chain.id);
    const lease = leaseReport(db, role, cluster.keeper.owner);
    if (cluster.keeper.held(role)) return { ...local, lease };
    const cur = watchStatements(db).cursorPass.get(chain.id);
    const scanned = cur ? cur.next_block - 1 : null;
    return {
      ...local,
      head: cur?.head ?? null,
      scanned,
      lagBlocks: cur && scanned !== null ? Math.max(0, cur.head - scanned) : null,
      // the holder renews its lease every ttl/3 while it runs: a live lease is a live watcher
      lastOkAt: lease?.live ? common.now() : (cur?.updated_at ?? null),
      lastError: lease?.live ? null : "no instance holds this chain's lease",
      lease,
    };
  }

  const lowWarned = new Set<string>();
  function tick(): void {
    const now = common.now();
    probeDatabase(now);
    // the timer runner's work is one instance's (its writes are fenced by the lease)
    if (cluster && !cluster.keeper.held(TIMER_ROLE)) return;
    try {
      const r = ledger.tick(now);
      if (r.events) notify();
      ledger.foldCounters();
      for (const chain of cfg.chains) {
        const pool = chain.pool;
        if (pool.source === "xpub") ensureDerived(db, chain.id, derivers.get(chain), pool.lookahead, now);
        const s = poolStatus(db, chain.id, now, poolReuses(pool));
        if (s.free < pool.low_water) {
          if (!lowWarned.has(chain.id))
            log.warn({ chain: chain.id, free: s.free, low_water: pool.low_water }, "pool low water");
          lowWarned.add(chain.id);
        } else lowWarned.delete(chain.id);
      }
      recordLagSamples(db, common, health(), now);
    } catch (e) {
      log.error({ err: (e as Error).message }, "timer pass failed; will retry");
    }
  }
  tick();
  const timer = options.noTimers ? null : setInterval(tick, cfg.orders.timer_interval_ms);

  const api = createApi({
    db,
    ledger,
    catalog,
    common,
    health,
    onEvents: notify,
    rates,
    rpc: rpcLog,
    audit: audit.chains.length ? auditFindingsSource(db) : undefined,
  });
  // the checkout page listens first: once the API answers, the daemon is up (main.ts handles signals)
  const checkoutAddress = checkout ? await checkout.listen() : null;
  if (checkoutAddress)
    log.info({ listen: `${checkoutAddress.host}:${checkoutAddress.port}` }, "checkout page listening");
  const address = await api.listen();
  log.info({ listen: `${address.host}:${address.port}` }, "merchant API listening");

  watching = !options.manualWatchers;
  if (cluster) await cluster.start();
  else if (watching) for (const w of watchers.values()) w.start();
  if (!options.manualRates) rates?.start();
  if (!options.manualAudit) audit.start();
  worker?.start();

  let stopped: Promise<void> | null = null;
  return {
    db,
    ledger,
    catalog,
    rates,
    api,
    watchers,
    audit,
    address,
    checkout: checkout && checkoutAddress ? { server: checkout, address: checkoutAddress } : null,
    health,
    notify,
    stop() {
      stopped ??= (async () => {
        log.info("shutting down: closing the API, finishing watcher batches and deliveries");
        if (timer) clearInterval(timer);
        await checkout?.close();
        rates?.stop();
        await api.close();
        watching = false;
        await Promise.all([...watchers.values()].map((w) => w.stop()));
        await audit.stop();
        await worker?.stop(5_000);
        // the leases go last: another instance takes the chains over at once, not after the TTL
        await cluster?.stop();
        db.close();
        log.info("stopped cleanly");
      })();
      return stopped;
    },
  };
}
