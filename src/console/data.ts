// What each console screen shows, read from counters, indexes and the ledger (load only; writes go
// through the ledger and src/notify/redeliver.ts).
import { randomBytes } from "node:crypto";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { HealthReport, RateJson } from "../api/schemas.js";
import type { AuditFinding, AuditKind } from "../core/audit.js";
import type { Catalog } from "../ledger/catalog.js";
import type { ProviderState, RateBook } from "../rates/index.js";
import { listAssets, listRates } from "../rates/handlers.js";
import { ORDER_STATUSES, type OrderStatus } from "../core/reconcile.js";
import type { Ledger, OrderJson, PaymentJson } from "../ledger/index.js";
import { listOrderEvents, type OrderEventView } from "../notify/redeliver.js";
import type { RpcLog, RpcUrlState } from "./rpc.js";
import { type OrderHit, type TroubledRow, consoleStatements } from "./statements.js";

export const HOUR = 3_600_000;
/** the lag chart's window */
export const LAG_WINDOW_MS = 6 * HOUR;
const SAMPLE_EVERY_MS = 60_000;
const SAMPLES_KEPT_MS = 24 * HOUR;

interface ChainDetail {
  head: number | null;
  scanned: number | null;
  lag_blocks: number | null;
  silent_ms: number | null;
  last_error: string | null;
  fatal: string | null;
  /** RPC URLs the adapter refuses (another chain), where the chain kind reports them */
  quarantined?: { url: string; reason: string }[];
  pool: { total: number; free: number; bound: number; resting: number; low_water: number; low: boolean };
}

export interface ChainView {
  id: string;
  kind: string;
  ok: boolean;
  state: "ok" | "behind" | "stopped";
  reason: string | null;
  head: number | null;
  scanned: number | null;
  lag_blocks: number | null;
  lag_seconds: number | null;
  last_error: string | null;
  pool: ChainDetail["pool"];
  rpc: RpcUrlState[];
  samples: { at: number; lag_blocks: number | null; lag_seconds: number | null }[];
}

export interface Overview {
  now: number;
  chains: ChainView[];
  outbox: { pending: number; oldest_pending_ms: number | null; dead: number };
  orders: { status: string; n: number }[];
  ordersPerHour: number[];
  paymentsPerHour: number[];
  /** orders created in each bucket by their status now: 24 buckets of 1 h, 28 of 6 h */
  ordersByStatus: { day: StatusBuckets; week: StatusBuckets };
}

export interface StatusBuckets {
  hoursPerBucket: number;
  /** oldest first; each maps a status to its count (statuses with none left out) */
  buckets: Partial<Record<OrderStatus, number>>[];
}

/**
 * Seconds behind: how stale the daemon's view is (time since its last good pass), or, when blocks
 * are waiting, how old the last scanned block is, whichever is more.
 */
function lagSeconds(db: DB, chain: string, d: ChainDetail, now: number): number | null {
  if (d.silent_ms === null) return null;
  let s = d.silent_ms;
  if (d.lag_blocks && d.scanned !== null) {
    const t = consoleStatements(db).blockTime.get(chain, d.scanned);
    if (t !== undefined) s = Math.max(s, now - t);
  }
  return Math.max(0, Math.round(s / 1000));
}

function chainDetails(health: HealthReport, common: Common) {
  return common.config.chains.map((c) => {
    const check = health.checks[`chain:${c.id}`];
    return { chain: c, ok: check?.ok ?? false, detail: (check?.detail ?? null) as ChainDetail | null };
  });
}

/** The timer's sample of every chain's lag: at most one a minute per chain, a day kept. */
export function recordLagSamples(db: DB, common: Common, health: HealthReport, now: number): void {
  const s = consoleStatements(db);
  for (const { chain, detail } of chainDetails(health, common)) {
    if (!detail) continue;
    const last = s.lastSample.get(chain.id);
    if (last !== null && last !== undefined && now - last < SAMPLE_EVERY_MS) continue;
    s.insertSample.run({
      chain: chain.id,
      at: now,
      blocks: detail.lag_blocks,
      seconds: lagSeconds(db, chain.id, detail, now),
    });
  }
  s.pruneSamples.run(now - SAMPLES_KEPT_MS);
}

function perHour(db: DB, kind: "order" | "payment", now: number, hours: number): number[] {
  const first = Math.floor(now / HOUR) - hours + 1;
  const out = new Array<number>(hours).fill(0);
  for (const r of consoleStatements(db).hourly.all(kind, first)) {
    const i = r.hour - first;
    if (i >= 0 && i < hours) out[i] = r.n;
  }
  return out;
}

/** order_status_hours (0011) over the last `buckets` × `per` hours, summed per bucket */
function statusBuckets(
  rows: { hour: number; status: string; n: number }[],
  now: number,
  buckets: number,
  per: number,
): StatusBuckets {
  const first = Math.floor(now / HOUR) - buckets * per + 1;
  const out: Partial<Record<OrderStatus, number>>[] = Array.from({ length: buckets }, () => ({}));
  for (const r of rows) {
    const i = Math.floor((r.hour - first) / per);
    if (i < 0 || i >= buckets || !(ORDER_STATUSES as readonly string[]).includes(r.status)) continue;
    const b = out[i]!;
    const st = r.status as OrderStatus;
    b[st] = (b[st] ?? 0) + r.n;
  }
  return { hoursPerBucket: per, buckets: out };
}

export function loadOverview(
  db: DB,
  common: Common,
  health: HealthReport,
  rpc: RpcLog | undefined,
): Overview {
  const now = common.now();
  const s = consoleStatements(db);
  const chains = chainDetails(health, common).map(({ chain, ok, detail }): ChainView => {
    const d = detail;
    const stopped = d?.fatal ?? null;
    let reason: string | null = null;
    if (d && !ok) {
      if (stopped) reason = stopped;
      else if (d.lag_blocks === null) reason = "no pass yet";
      else if (d.lag_blocks > chain.max_lag_blocks)
        reason = `${d.lag_blocks} blocks behind (max ${chain.max_lag_blocks})`;
      else reason = `no good pass for ${Math.round((d.silent_ms ?? 0) / 1000)} s`;
    }
    return {
      id: chain.id,
      kind: chain.kind,
      ok,
      state: stopped ? "stopped" : ok ? "ok" : "behind",
      reason,
      head: d?.head ?? null,
      scanned: d?.scanned ?? null,
      lag_blocks: d?.lag_blocks ?? null,
      lag_seconds: d ? lagSeconds(db, chain.id, d, now) : null,
      last_error: d?.last_error ?? null,
      pool: d?.pool ?? {
        total: 0,
        free: 0,
        bound: 0,
        resting: 0,
        low_water: chain.pool.low_water,
        low: true,
      },
      rpc: rpc ? rpc.states(chain.id, chain.rpc, d?.quarantined) : [],
      samples: s.samples.all(chain.id, now - LAG_WINDOW_MS),
    };
  });
  const oldest = s.oldestPending.get() ?? null;
  return {
    now,
    chains,
    outbox: {
      pending: s.pendingCount.get()!,
      oldest_pending_ms: oldest === null ? null : now - oldest,
      dead: s.deadCount.get()!,
    },
    orders: s.orderCounts.all().filter((r) => r.n > 0),
    ordersPerHour: perHour(db, "order", now, 24),
    ordersByStatus: (() => {
      const rows = s.orderStatusHours.all(Math.floor(now / HOUR) - 7 * 24 + 1);
      return { day: statusBuckets(rows, now, 24, 1), week: statusBuckets(rows, now, 28, 6) };
    })(),
    paymentsPerHour: perHour(db, "payment", now, 24),
  };
}

/** Orders matching an order id, merchant order id, address or txid (exact). */
export function searchOrders(db: DB, q: string): OrderHit[] {
  const s = consoleStatements(db);
  const term = q.trim();
  if (!term) return [];
  const seen = new Map<string, OrderHit>();
  const add = (rows: OrderHit[]) => rows.forEach((r) => seen.set(r.id, r));
  const byId = s.orderById.get(term);
  if (byId) add([byId]);
  add(s.ordersByMerchantOrderId.all(term));
  add(s.ordersByTxid.all(term));
  add(s.ordersByAddress.all(term));
  // addresses are stored canonical: EVM lower-case
  if (/^0x[0-9a-fA-F]{40}$/.test(term) || /^0x[0-9a-fA-F]{64}$/.test(term)) {
    add(s.ordersByTxid.all(term.toLowerCase()));
    add(s.ordersByAddress.all(term.toLowerCase()));
  }
  return [...seen.values()].slice(0, 50);
}

/** What the Orders screen filters by; every part optional. `before`: the page's keyset cursor. */
export interface OrderFilter {
  q: string;
  status: OrderStatus | null;
  merchant: string | null;
  chain: string | null;
  /** created at or after, ms */
  from: number | null;
  /** created before, ms */
  to: number | null;
  before: { at: number; id: string } | null;
}

/** the chain filter walks at most this many of the chain's orders per page (then says so) */
export const CHAIN_SCAN = 20_000;
const FAR = 8_640_000_000_000_000; // the largest Date

export interface FilteredOrders {
  rows: OrderHit[];
  /** the cursor of the next (older) page, when there may be one */
  next: string | null;
  /** the chain filter stopped at CHAIN_SCAN orders without filling the page */
  capped: boolean;
}

export const cursorOf = (r: { created_at: number; id: string }) => `${r.created_at}.${r.id}`;
export function parseCursor(text: string): { at: number; id: string } | null {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,64})$/.exec(text);
  return m ? { at: Number(m[1]), id: m[2]! } : null;
}

/**
 * Orders matching the filter, newest first. With a search term: its (at most 50) hits, filtered.
 * Without: one index walk per page (status / merchant / both / neither: 0001 and 0006's indexes;
 * a chain: order_chains from 0011, at most CHAIN_SCAN of them).
 */
export function filterOrders(db: DB, f: OrderFilter, limit = 50): FilteredOrders {
  const s = consoleStatements(db);
  const from = f.from ?? 0;
  const to = f.to ?? FAR;
  if (f.q.trim()) {
    const rows = searchOrders(db, f.q).filter(
      (r) =>
        (!f.status || r.status === f.status) &&
        (!f.merchant || r.merchant === f.merchant) &&
        r.created_at >= from &&
        r.created_at < to &&
        (!f.chain || s.orderOnChain.get(r.id, f.chain) !== undefined),
    );
    return { rows, next: null, capped: false };
  }
  const params = {
    status: f.status,
    merchant: f.merchant,
    from,
    // the walk starts at the cursor's time, not at the window's end
    to: f.before ? Math.min(to, f.before.at + 1) : to,
    bc: f.before?.at ?? FAR,
    bid: f.before?.id ?? "~",
    limit: limit + 1,
  };
  let rows: OrderHit[];
  let capped = false;
  if (f.chain) {
    const p = { ...params, chain: f.chain, scan: CHAIN_SCAN };
    rows = s.filteredOnChain.all(p);
    capped = rows.length <= limit && s.walkedOnChain.get(p) === CHAIN_SCAN;
  } else {
    const st =
      f.status && f.merchant
        ? s.filteredByMerchantStatus
        : f.status
          ? s.filteredByStatus
          : f.merchant
            ? s.filteredByMerchant
            : s.filteredAll;
    rows = st.all(params);
  }
  const more = rows.length > limit;
  rows = rows.slice(0, limit);
  return { rows, next: more ? cursorOf(rows[rows.length - 1]!) : null, capped };
}

export interface OrderPage {
  order: OrderJson;
  merchant: string;
  payments: PaymentJson[];
  events: OrderEventView[];
}

export function loadOrder(db: DB, ledger: Ledger, id: string): OrderPage | null {
  const hit = consoleStatements(db).orderById.get(id);
  if (!hit) return null;
  const order = ledger.getOrder(hit.merchant, id);
  if (!order) return null;
  return {
    order,
    merchant: hit.merchant,
    payments: ledger.orderPayments(hit.merchant, id) ?? [],
    events: listOrderEvents(db, id),
  };
}

export function merchantOfOrder(db: DB, id: string): string | null {
  return consoleStatements(db).orderById.get(id)?.merchant ?? null;
}

/** host[:port] of a callback URL; "(none)" for events with nowhere to go */
export function hostOf(url: string | null): string {
  if (!url) return "(none)";
  try {
    return new URL(url).host;
  } catch {
    return "(invalid)";
  }
}

export interface HostGroup {
  host: string;
  dead: number;
  failing: number;
  events: (TroubledRow & {
    last: { status_code: number | null; error: string | null; started_at: number } | null;
  })[];
}

/** Dead and failing events (at most `limit`), grouped by callback host, worst first. */
export function loadDeliveries(db: DB, limit = 500): { groups: HostGroup[]; truncated: boolean } {
  const s = consoleStatements(db);
  const rows = s.troubled.all(limit + 1);
  const groups = new Map<string, HostGroup>();
  for (const r of rows.slice(0, limit)) {
    const host = hostOf(r.url);
    let g = groups.get(host);
    if (!g) groups.set(host, (g = { host, dead: 0, failing: 0, events: [] }));
    if (r.state === "dead") g.dead++;
    else g.failing++;
    if (g.events.length < 20) g.events.push({ ...r, last: s.lastAttempt.get(r.id) ?? null });
  }
  return {
    groups: [...groups.values()].sort((a, b) => b.dead + b.failing - (a.dead + a.failing)),
    truncated: rows.length > limit,
  };
}

/** "Redeliver all for this host" queues at most this many dead events per click. */
export const REDELIVER_MAX = 1000;

/** Dead events to one host (scheme://host[:port]), at most `max`, from the events_troubled index. */
export function deadEventsOfHost(db: DB, host: string, max = REDELIVER_MAX): string[] {
  const s = consoleStatements(db);
  const out: string[] = [];
  for (const scheme of ["http://", "https://"]) {
    // a prefix also matches longer hosts (a.example vs a.example.org): the exact host is checked
    for (const r of s.deadWithUrlPrefix.all({ prefix: scheme + host, limit: max * 2 }))
      if (out.length < max && hostOf(r.url) === host) out.push(r.id);
  }
  return out;
}

export interface JobProgress {
  id: string;
  host: string;
  operator: string;
  created_at: number;
  total: number;
  delivered: number;
  dead: number;
  pending: number;
  /** events with at least one attempt since the job queued them */
  attempted: number;
  done: boolean;
  events: {
    id: string;
    order_id: string | null;
    type: string;
    state: string;
    since: number;
    last_code: number | null;
  }[];
}

/**
 * Queues the host's dead events again (at most REDELIVER_MAX) and records them as one job, in one
 * transaction. Returns the job's id, or null when there was nothing to queue.
 */
export function startRedeliverHost(
  db: DB,
  host: string,
  operator: string,
  now: number,
  redeliver: (id: string) => boolean,
): { id: string; queued: number } | null {
  const s = consoleStatements(db);
  return db.transaction(() => {
    s.oldJobEvents.run(now - JOBS_KEPT_MS);
    s.oldJobs.run(now - JOBS_KEPT_MS);
    const ids = deadEventsOfHost(db, host).filter((id) => redeliver(id));
    if (ids.length === 0) return null;
    const id = randomBytes(12).toString("base64url");
    s.insertJob.run({ id, kind: "redeliver_host", target: host, operator, now, total: ids.length });
    for (const e of ids) s.insertJobEvent.run(id, e);
    return { id, queued: ids.length };
  })();
}

const JOBS_KEPT_MS = 7 * 24 * HOUR;

export function loadJob(db: DB, id: string): JobProgress | null {
  const s = consoleStatements(db);
  const job = s.job.get(id);
  if (!job) return null;
  const events = s.jobEvents.all({ job: id, since: job.created_at });
  const count = (state: string) => events.filter((e) => e.state === state).length;
  const pending = count("pending");
  return {
    id: job.id,
    host: job.target,
    operator: job.operator,
    created_at: job.created_at,
    total: job.total,
    delivered: count("delivered"),
    dead: count("dead"),
    pending,
    attempted: events.filter((e) => e.since > 0).length,
    done: pending === 0,
    events,
  };
}

export interface RatesView {
  /** rates.live is configured */
  live: boolean;
  /** every configured pair: static ones, and live ones with their sources (GET /v1/rates' body) */
  pairs: RateJson[];
  /** enabled assets without a rate in a configured currency: orders cannot offer them there */
  unpriced: { asset: string; currency: string; reason: string }[];
  /** each market: requests, errors, last success, pairs whose last ask failed */
  providers: ProviderState[];
}

/** The live-rates state, from the rate book in memory and the config (no database read). */
export function loadRates(
  catalog: Catalog,
  config: Common["config"],
  book: RateBook | undefined,
  now: number,
): RatesView {
  const pairs = listRates(catalog, config, book, now).rates;
  const unpriced = listAssets(catalog, config).assets.flatMap((a) =>
    a.unpriced.map((currency) => ({
      asset: a.id,
      currency,
      reason:
        pairs.find((p) => p.asset === a.id && p.currency === currency)?.reason ??
        `no static rate for ${a.id} in ${currency}`,
    })),
  );
  return { live: book !== undefined, pairs, unpriced, providers: book?.providers() ?? [] };
}

/**
 * Where the console reads audit findings (the self-audit, src/core/audit.ts). The background audit
 * persists them (its migration and statements); this branch has no such table, so the console is
 * given none and says "audit: not enabled". A source reads the stored verdict, newest first.
 */
export interface AuditFindingsSource {
  /** findings per kind over every audited chain */
  counts(): { kind: AuditKind; n: number }[];
  /** the newest `limit` findings, each with its chain and when it was found (ms) */
  recent(limit: number): { chain: string; found_at: number; finding: AuditFinding }[];
  /** per chain: the audit's progress (next block to audit), when it last ran, its last error */
  cursors(): { chain: string; next_block: number; last_run_at: number | null; last_error: string | null }[];
}

export type AuditView =
  | { enabled: false }
  | {
      enabled: true;
      total: number;
      counts: { kind: AuditKind; n: number }[];
      recent: { chain: string; found_at: number; finding: AuditFinding }[];
      cursors: ReturnType<AuditFindingsSource["cursors"]>;
    };

/** The overview's audit section: the one function that reads findings (through `source`). */
export function loadAudit(source: AuditFindingsSource | undefined, limit = 20): AuditView {
  if (!source) return { enabled: false };
  const counts = source.counts().filter((c) => c.n > 0);
  return {
    enabled: true,
    total: counts.reduce((a, c) => a + c.n, 0),
    counts,
    recent: source.recent(limit),
    cursors: source.cursors(),
  };
}

export interface InboxRow {
  payment: PaymentJson;
  lastOrder: { id: string; merchant_order_id: string; status: string } | null;
}

export function loadInbox(db: DB, ledger: Ledger, limit = 100): InboxRow[] {
  const s = consoleStatements(db);
  return ledger.unattributedPayments({ limit }).payments.map((payment) => ({
    payment,
    lastOrder: s.lastOrderOfAddress.get(payment.chain, payment.address) ?? null,
  }));
}
