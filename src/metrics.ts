// Prometheus metrics, all of them: the daemon's (chains, orders, pools, SQLite writes, RPC) and
// callback delivery's. Gauges that describe stored state are computed on scrape from SQLite.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Common } from "./common.js";
import { auditState, auditedChains } from "./audit/background.js";
import type { AuditFinding } from "./core/audit.js";
import { ORDER_STATUSES, PAYMENT_STATUSES } from "./core/reconcile.js";
import type { DB } from "./db/index.js";
import { formatRatio } from "./core/amount.js";
import { deviation } from "./core/rates.js";
import { countStatements } from "./ledger/statements.js";
import { outboxToolStatements } from "./notify/statements.js";
import { poolReuses, poolStatus } from "./pool/index.js";
import type { RateBook } from "./rates/index.js";
import type { WatcherStatus } from "./watch/index.js";

export interface DaemonMetrics {
  rpc(chain: string, url: string, ok: boolean, ms: number): void;
  /** one SQLite write transaction of the ledger */
  write(kind: string, ms: number): void;
  /** rpc_quorum: `url` was named dissenting once */
  quorumDisagreement(chain: string, url: string): void;
  /** the background audit checked `blocks` blocks and found `findings` */
  audited(chain: string, blocks: number, findings: readonly AuditFinding[]): void;
}

export function registerMetrics(common: Common, db: DB, watchers: () => WatcherStatus[]): DaemonMetrics {
  const registers = [common.metrics];
  const cfg = common.config;
  new Gauge({
    name: "depositd_chain_head",
    help: "latest head block seen per chain",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers()) if (s.head !== null) this.set({ chain: s.chain }, s.head);
    },
  });
  new Gauge({
    name: "depositd_chain_scanned_block",
    help: "last block fully scanned per chain",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers()) if (s.scanned !== null) this.set({ chain: s.chain }, s.scanned);
    },
  });
  new Gauge({
    name: "depositd_chain_lag_blocks",
    help: "head minus last scanned block",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers()) if (s.lagBlocks !== null) this.set({ chain: s.chain }, s.lagBlocks);
    },
  });
  new Gauge({
    name: "depositd_chain_lag_seconds",
    help: "seconds since the watcher last completed a pass",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers())
        if (s.lastOkAt !== null) this.set({ chain: s.chain }, (common.now() - s.lastOkAt) / 1000);
    },
  });
  new Gauge({
    name: "depositd_chain_fatal",
    help: "1 when the chain's watcher stopped and needs an operator",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers()) this.set({ chain: s.chain }, s.fatal ? 1 : 0);
    },
  });
  new Gauge({
    name: "depositd_rpc_url_quarantined",
    help: "1 for an RPC URL (redacted) never used because it serves another chain",
    labelNames: ["chain", "url"],
    registers,
    collect() {
      this.reset();
      for (const s of watchers()) for (const q of s.quarantined) this.set({ chain: s.chain, url: q.url }, 1);
    },
  });
  new Gauge({
    name: "depositd_mempool_failures",
    help: "failed mempool reads since start (skipped; block scanning goes on)",
    labelNames: ["chain"],
    registers,
    collect() {
      for (const s of watchers()) this.set({ chain: s.chain }, s.mempoolFailures);
    },
  });
  // counters kept by the database (0005_counters.sql): a scrape reads a few rows, never the tables
  const counts = countStatements(db).statusCounts;
  new Gauge({
    name: "depositd_orders",
    help: "orders by status (every status has a series from the start)",
    labelNames: ["status"],
    registers,
    collect() {
      for (const status of ORDER_STATUSES) this.set({ status }, 0);
      for (const r of counts.all("order")) this.set({ status: r.status }, r.n);
    },
  });
  new Gauge({
    name: "depositd_payments",
    help: "stored payments by chain and status (seen, confirmed, reverted; every pair has a series from the start)",
    labelNames: ["chain", "status"],
    registers,
    collect() {
      for (const c of cfg.chains) for (const status of PAYMENT_STATUSES) this.set({ chain: c.id, status }, 0);
      for (const r of counts.all("payment")) this.set({ chain: r.chain, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: "depositd_pool_addresses",
    help: "pool addresses by chain and state (free, bound, resting)",
    labelNames: ["chain", "state"],
    registers,
    collect() {
      for (const c of cfg.chains) {
        const s = poolStatus(db, c.id, common.now(), poolReuses(c.pool));
        this.set({ chain: c.id, state: "free" }, s.free);
        this.set({ chain: c.id, state: "bound" }, s.bound);
        this.set({ chain: c.id, state: "resting" }, s.resting);
      }
    },
  });
  const { oldestPending } = outboxToolStatements(db);
  new Gauge({
    name: "depositd_outbox_oldest_pending_age_seconds",
    help: "age of the oldest event not yet delivered (0 when none)",
    registers,
    collect() {
      const t = oldestPending.get() ?? null;
      this.set(t === null ? 0 : Math.max(0, (common.now() - t) / 1000));
    },
  });
  const writes = new Histogram({
    name: "depositd_sqlite_write_seconds",
    help: "duration of the ledger's SQLite write transactions, by kind (create, scan, mempool, tick)",
    labelNames: ["kind"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const requests = new Counter({
    name: "depositd_rpc_requests_total",
    help: "RPC HTTP requests per chain, URL and result",
    labelNames: ["chain", "url", "result"],
    registers,
  });
  const latency = new Histogram({
    name: "depositd_rpc_latency_seconds",
    help: "RPC HTTP request latency",
    labelNames: ["chain", "url"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const disagreements = new Counter({
    name: "depositd_rpc_quorum_disagreements_total",
    help: "rpc_quorum: batches (or blocks) on which this URL dissented; nothing was committed",
    labelNames: ["chain", "url"],
    registers,
  });
  const auditedBlocks = new Counter({
    name: "depositd_audit_blocks_total",
    help: "blocks the background audit rescanned and compared with the ledger",
    labelNames: ["chain"],
    registers,
  });
  const auditFound = new Counter({
    name: "depositd_audit_findings_total",
    help: "findings of the background audit's passes, by kind (missing, extra, mismatch, wrong_status)",
    labelNames: ["chain", "kind"],
    registers,
  });
  const audited = () => auditState(db, auditedChains(common.config.chains));
  new Gauge({
    name: "depositd_audit_cursor",
    help: "the next block the background audit checks (audit.enabled chains, once started)",
    labelNames: ["chain"],
    registers,
    collect() {
      this.reset();
      for (const s of audited()) if (s.next_block !== null) this.set({ chain: s.chain }, s.next_block);
    },
  });
  new Gauge({
    name: "depositd_audit_open_findings",
    help: "stored findings of the last audit of each block, by kind: each needs a person (depositd audit --repair)",
    labelNames: ["chain", "kind"],
    registers,
    collect() {
      this.reset();
      for (const s of audited())
        for (const [kind, n] of Object.entries(s.findings)) this.set({ chain: s.chain, kind }, n);
    },
  });
  return {
    audited(chain, blocks, findings) {
      auditedBlocks.inc({ chain }, blocks);
      for (const f of findings) auditFound.inc({ chain, kind: f.kind });
    },
    quorumDisagreement(chain, url) {
      disagreements.inc({ chain, url });
    },
    rpc(chain, url, ok, ms) {
      requests.inc({ chain, url, result: ok ? "ok" : "error" });
      latency.observe({ chain, url }, ms / 1000);
    },
    write(kind, ms) {
      writes.observe({ kind }, ms / 1000);
    },
  };
}

export interface NotifyMetrics {
  attempts: Counter<"result">;
  latency: Histogram<"result">;
  outboxDepth: Gauge;
  inFlight: Gauge;
}

const notifyMetricsByRegistry = new WeakMap<Registry, NotifyMetrics>();

/** Callback delivery's metrics in one registry, created on first use (several workers may share a registry). */
export function notifyMetrics(registry: Registry): NotifyMetrics {
  const known = notifyMetricsByRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const m: NotifyMetrics = {
    attempts: new Counter({
      name: "depositd_notify_attempts_total",
      help: "callback delivery attempts by result (delivered, retry, dead, released)",
      labelNames: ["result"],
      registers,
    }),
    latency: new Histogram({
      name: "depositd_notify_attempt_seconds",
      help: "callback attempt duration",
      labelNames: ["result"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    outboxDepth: new Gauge({
      name: "depositd_notify_outbox_depth",
      help: "events waiting for delivery (state pending)",
      registers,
    }),
    inFlight: new Gauge({
      name: "depositd_notify_in_flight",
      help: "callback requests in flight",
      registers,
    }),
  };
  notifyMetricsByRegistry.set(registry, m);
  return m;
}

/** Live-rate metrics, per market and per pair. Ratios here are floats: metrics, never money. */
export function registerRateMetrics(
  common: Common,
  book: () => RateBook | undefined,
): { request(provider: string, ok: boolean, ms: number): void } {
  const registers = [common.metrics];
  const requests = new Counter({
    name: "depositd_rate_requests_total",
    help: "price requests to each market",
    labelNames: ["provider"],
    registers,
  });
  const errors = new Counter({
    name: "depositd_rate_errors_total",
    help: "price requests that gave no usable price (down, error shape, stale, wrong pair, absurd)",
    labelNames: ["provider"],
    registers,
  });
  new Gauge({
    name: "depositd_rate_last_success_age_seconds",
    help: "seconds since the market last gave a usable price (absent until it has)",
    labelNames: ["provider"],
    registers,
    collect() {
      for (const p of book()?.providers() ?? [])
        if (p.lastOkAt !== null)
          this.set({ provider: p.kind }, Math.max(0, (common.now() - p.lastOkAt) / 1000));
    },
  });
  const toFloat = (r: { num: bigint; den: bigint }) => Number(formatRatio(r, 9));
  new Gauge({
    name: "depositd_rate_source_deviation_ratio",
    help: "how far each market's fresh price is from the pair's rate (0.01 = 1%)",
    labelNames: ["provider", "pair"],
    registers,
    collect() {
      this.reset();
      const b = book();
      for (const p of b?.pairs ?? []) {
        const d = b!.decision(p.asset, p.currency);
        if (!d?.ok) continue;
        for (const s of [...d.sources, ...d.dropped.filter((x) => x.reason === "outlier")])
          this.set(
            { provider: s.source, pair: `${p.asset}/${p.currency}` },
            toFloat(deviation(s.price, d.rate)),
          );
      }
    },
  });
  new Gauge({
    name: "depositd_rate_fresh",
    help: "1 when the pair has a fresh, agreed rate (orders in it can be created)",
    labelNames: ["pair"],
    registers,
    collect() {
      const b = book();
      for (const p of b?.pairs ?? [])
        this.set({ pair: `${p.asset}/${p.currency}` }, b!.priceOf(p.asset, p.currency) ? 1 : 0);
    },
  });
  return {
    request(provider, ok) {
      requests.inc({ provider });
      if (!ok) errors.inc({ provider });
    },
  };
}
