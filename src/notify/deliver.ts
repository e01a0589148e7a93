// Callback delivery from the `events` outbox: claim due events with a lease (compare-and-swap, so two
// workers never send the same attempt and a crashed worker's events come back when its lease ends),
// POST the stored bytes signed, record every attempt, retry on the schedule, then `dead`.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import PQueue from "p-queue";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { Agent, request, type Dispatcher } from "undici";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import { signatureHeader } from "./sign.js";
import { blockedAddressReason, publicOnlyLookup, urlHost } from "./targets.js";

export interface DeliveryWorker {
  /** poll the outbox until stop() */
  start(): void;
  /**
   * Stop polling; wait for in-flight deliveries (at most timeoutMs, default notify.timeout_ms), abort
   * and release the rest, record every result. Final: a stopped worker does not start again.
   */
  stop(timeoutMs?: number): Promise<void>;
  /** one claim+send round, awaited to the end; returns how many events were attempted */
  tick(): Promise<number>;
  /** new events were written: look at the outbox now instead of at the next poll */
  notify(): void;
}

export interface DeliveryWorkerArgs {
  db: DB;
  common: Common;
  /** lease owner id; default host/pid/random */
  owner?: string;
  /** how often the outbox is polled when nothing wakes the worker (default 200 ms) */
  pollIntervalMs?: number;
}

/** Bytes of a receiver's response kept (and read at all). */
export const RESPONSE_KEEP_BYTES = 1024;
/** Rows one outbox scan reads at most. */
const SCAN_LIMIT = 200_000;
/** New events may carry a creation time a little before a scan that committed first: look back this far. */
const TAIL_SLACK_MS = 2_000;
/** Candidate event ids held in memory at most (ids only; bodies are read when claimed). */
const MAX_CANDIDATES = 100_000;
const USER_AGENT = "depositd-callbacks/1";

interface DueRow {
  id: string;
  url: string | null;
  next_attempt_at: number;
}

interface ClaimedEvent {
  id: string;
  url: string;
  body: string;
  seq: number | null;
  attempts: number;
  /** attempts made before the last redelivery */
  retry_base: number;
  host: string;
}

type Outcome = "delivered" | "retry" | "dead" | "released";

interface AttemptResult {
  id: string;
  attempt: number;
  startedAt: number;
  latencyMs: number;
  status: number | null;
  error: string | null;
  response: string | null;
  outcome: Outcome;
  nextAttemptAt: number;
  finishedAt: number;
}

interface NotifyMetrics {
  attempts: Counter<"result">;
  latency: Histogram<"result">;
  outboxDepth: Gauge;
  inFlight: Gauge;
}

const metricsByRegistry = new WeakMap<Registry, NotifyMetrics>();

/** The notify metrics of one registry, created on first use (several workers may share a registry). */
export function notifyMetrics(registry: Registry): NotifyMetrics {
  const known = metricsByRegistry.get(registry);
  if (known) return known;
  const m: NotifyMetrics = {
    attempts: new Counter({
      name: "depositd_notify_attempts_total",
      help: "callback delivery attempts by result (delivered, retry, dead, released)",
      labelNames: ["result"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "depositd_notify_attempt_seconds",
      help: "callback attempt duration",
      labelNames: ["result"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    outboxDepth: new Gauge({
      name: "depositd_notify_outbox_depth",
      help: "events waiting for delivery (state pending)",
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "depositd_notify_in_flight",
      help: "callback requests in flight",
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** Delay before the next attempt after failed attempt `attempt` (1-based), ±20 % jitter; null = no more tries. */
export function retryDelayMs(
  schedule: readonly number[],
  attempt: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempt - 1];
  if (base === undefined) return null;
  return Math.round(base * 1000 * (0.8 + 0.4 * random()));
}

/** "scheme://authority/" as written in the URL, or null when no "/" ends the authority. */
export function originPrefix(url: string): string | null {
  const start = url.indexOf("//");
  if (start < 0) return null;
  const slash = url.indexOf("/", start + 2);
  return slash < 0 ? null : url.slice(0, slash + 1);
}

function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err?.code ?? err?.cause?.code;
  const message = err?.cause?.message ?? err?.message ?? String(e);
  return (code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 500);
}

class StopAbort extends Error {
  override name = "StopAbort";
}
class TimeoutAbort extends Error {
  override name = "TimeoutAbort";
}

export function createDeliveryWorker(args: DeliveryWorkerArgs): DeliveryWorker {
  const { db, common } = args;
  const cfg = common.config.notify;
  const log = common.logger.child({ mod: "notify" });
  const metrics = notifyMetrics(common.metrics);
  const owner = args.owner ?? `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
  const pollMs = args.pollIntervalMs ?? 200;
  // long enough to cover one attempt (claims are only made for free slots, so sending starts at once)
  const leaseMs = cfg.timeout_ms * 2 + 10_000;
  const perHost = cfg.per_host_concurrency;
  const allowPrivate = cfg.allow_private_targets;

  const agent = new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 30_000,
    keepAliveTimeoutThreshold: 1_000,
    connections: perHost,
    headersTimeout: cfg.timeout_ms,
    bodyTimeout: cfg.timeout_ms,
    connect: allowPrivate
      ? { timeout: cfg.timeout_ms }
      : { timeout: cfg.timeout_ms, lookup: publicOnlyLookup },
  });
  const queue = new PQueue({ concurrency: cfg.concurrency });

  // due rows from `from` on, in due order; hosts whose candidate list is full are filtered out in SQL
  // by URL prefix ("https://host:port/"), so per-order callback URLs are filtered as well
  const selectDue = db.prepare<[{ from: number; now: number; excluded: string; limit: number }], DueRow>(
    `SELECT id, url, next_attempt_at FROM events
      WHERE state = 'pending' AND next_attempt_at >= @from AND next_attempt_at <= @now AND lease_until < @now
        AND (url IS NULL OR NOT EXISTS (
          SELECT 1 FROM json_each(@excluded) e WHERE substr(events.url, 1, length(e.value)) = e.value))
      ORDER BY next_attempt_at LIMIT @limit`,
  );
  const claim = db.prepare<
    [{ id: string; owner: string; until: number; now: number }],
    { id: string; url: string | null; body: string; seq: number | null; attempts: number; retry_base: number }
  >(
    `UPDATE events SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
      WHERE id = @id AND state = 'pending' AND next_attempt_at <= @now AND lease_until < @now
      RETURNING id, url, body, seq, attempts, retry_base`,
  );
  const markSkipped = db.prepare(
    `UPDATE events SET state = 'skipped' WHERE id = ? AND state = 'pending' AND url IS NULL`,
  );
  const markDelivered = db.prepare(
    `UPDATE events SET state = 'delivered', delivered_at = @at, lease_owner = NULL, lease_until = 0
      WHERE id = @id AND state = 'pending'`,
  );
  // only the lease holder of this very attempt may reschedule it
  const markFailed = db.prepare(
    `UPDATE events SET state = @state, next_attempt_at = @next, lease_owner = NULL, lease_until = 0
      WHERE id = @id AND state = 'pending' AND lease_owner = @owner AND attempts = @attempt`,
  );
  const insertAttempt = db.prepare(
    `INSERT OR IGNORE INTO delivery_attempts (event_id, attempt, started_at, latency_ms, status_code, error, response_body)
      VALUES (@id, @attempt, @startedAt, @latencyMs, @status, @error, @response)`,
  );
  const nextDue = db.prepare<[number], number | null>(
    `SELECT MIN(next_attempt_at) FROM events WHERE state = 'pending' AND next_attempt_at > ?`,
  );
  nextDue.pluck();
  const countPending = db.prepare(`SELECT COUNT(*) FROM events WHERE state = 'pending'`).pluck();

  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let kicked = false;
  let active = 0;
  const hostActive = new Map<string, number>();
  // Candidates found by outbox scans, per receiver host, in due order. Scanning the whole outbox for
  // each free slot would cost O(backlog) per delivery; instead a full scan fills these lists and cheap
  // tail scans (rows due since the last scan) add new events. Claims re-check everything in SQL.
  const candidates = new Map<string, string[]>();
  const candidateIds = new Set<string>();
  const hostHasMore = new Set<string>(); // a scan left rows of this host out because its list was full
  const candidatesPerHost = Math.max(256, perHost * 8);
  let horizon = -1; // every due row up to here has been seen by a scan
  let lastFullScanAt = -Infinity;
  let fullScanCostMs = 0;
  const prefixesByHost = new Map<string, Set<string>>();
  const hostOfUrl = new Map<string, string>();
  const inFlight = new Set<AbortController>();
  const sends = new Set<Promise<void>>();
  let results: AttemptResult[] = [];
  let depthAt = 0;

  function hostOf(url: string): string {
    let h = hostOfUrl.get(url);
    if (h === undefined) {
      try {
        h = new URL(url).host.toLowerCase();
      } catch {
        h = "(invalid url)";
      }
      if (hostOfUrl.size > 10_000) hostOfUrl.clear();
      hostOfUrl.set(url, h);
    }
    return h;
  }

  function writeResults(batch: AttemptResult[]): void {
    for (const r of batch) {
      insertAttempt.run({
        id: r.id,
        attempt: r.attempt,
        startedAt: r.startedAt,
        latencyMs: r.latencyMs,
        status: r.status,
        error: r.error,
        response: r.response,
      });
      if (r.outcome === "delivered") markDelivered.run({ id: r.id, at: r.finishedAt });
      else
        markFailed.run({
          id: r.id,
          owner,
          attempt: r.attempt,
          state: r.outcome === "dead" ? "dead" : "pending",
          next: r.nextAttemptAt,
        });
    }
  }

  /**
   * Records finished attempts and claims new events in ONE transaction (one fsync for many attempts).
   * On failure the results stay queued for the next round; the leases keep other workers off meanwhile.
   */
  function commitRound(claims: { id: string; host: string }[], skips: string[], now: number): ClaimedEvent[] {
    const batch = results;
    results = [];
    try {
      return db.transaction(() => {
        writeResults(batch);
        for (const id of skips) markSkipped.run(id);
        const out: ClaimedEvent[] = [];
        for (const p of claims) {
          const row = claim.get({ id: p.id, owner, until: now + leaseMs, now });
          if (row && row.url !== null) out.push({ ...row, url: row.url, host: p.host });
        }
        return out;
      })();
    } catch (e) {
      results = batch.concat(results);
      log.error({ err: errorText(e) }, "cannot record delivery attempts or claim events");
      return [];
    }
  }

  function flushResults(): void {
    if (results.length > 0) commitRound([], [], common.now());
  }

  function updateDepth(force = false): void {
    const now = Date.now();
    if (!force && now - depthAt < 1000) return;
    depthAt = now;
    try {
      metrics.outboxDepth.set(Number(countPending.get()));
    } catch {
      // the gauge is advisory; a closed or busy database must not stop delivery
    }
  }

  /**
   * Reads due rows into the candidate lists. A full scan starts at the oldest due row; a tail scan only
   * looks at rows due since the last scan. A host whose list fills up is filtered out in SQL from then on.
   */
  function scanOutbox(now: number, full: boolean, skips: string[]): void {
    const t0 = performance.now();
    if (full) {
      hostHasMore.clear();
      for (const [host, ids] of candidates) if (ids.length >= candidatesPerHost) hostHasMore.add(host);
    }
    let from = full || horizon < 0 ? -1 : horizon - TAIL_SLACK_MS;
    let budget = SCAN_LIMIT;
    let complete = false;
    let restartedAt = -Infinity;
    scanning: while (budget > 0) {
      const excluded: string[] = [];
      for (const [host, ids] of candidates) {
        if (ids.length < candidatesPerHost) continue;
        for (const prefix of prefixesByHost.get(host) ?? []) excluded.push(prefix);
      }
      const limit = budget;
      let read = 0;
      let skippedInRow = 0;
      for (const row of selectDue.iterate({ from, now, excluded: JSON.stringify(excluded), limit })) {
        read++;
        from = row.next_attempt_at;
        if (row.url === null) {
          skips.push(row.id);
          continue;
        }
        if (candidateIds.has(row.id)) continue;
        if (candidateIds.size >= MAX_CANDIDATES) break scanning;
        const host = hostOf(row.url);
        let ids = candidates.get(host);
        if (!ids) candidates.set(host, (ids = []));
        if (ids.length >= candidatesPerHost) {
          hostHasMore.add(host);
          // rows of a host that filled up during this query: re-query with it filtered out in SQL
          if (++skippedInRow >= 256 && from > restartedAt) {
            restartedAt = from;
            budget -= read;
            continue scanning;
          }
          continue;
        }
        skippedInRow = 0;
        ids.push(row.id);
        candidateIds.add(row.id);
        const prefix = originPrefix(row.url);
        let prefixes = prefixesByHost.get(host);
        if (!prefixes) prefixesByHost.set(host, (prefixes = new Set()));
        if (prefix && prefixes.size < 50) prefixes.add(prefix);
      }
      complete = read < limit; // the query ran dry before its limit
      break;
    }
    horizon = complete ? now : Math.max(horizon, from);
    if (full) {
      lastFullScanAt = now;
      fullScanCostMs = performance.now() - t0;
    }
  }

  /** Full scans cost O(backlog): run them when a busy host ran out of candidates, and now and then. */
  function wantFullScan(now: number): boolean {
    if (horizon < 0) return true;
    const since = now - lastFullScanAt;
    if (since >= Math.max(2_000, fullScanCostMs * 50)) return true; // expired leases of crashed workers
    if (since < Math.max(10, fullScanCostMs * 5)) return false;
    for (const host of hostHasMore) {
      if ((candidates.get(host)?.length ?? 0) === 0 && (hostActive.get(host) ?? 0) < perHost) return true;
    }
    return false;
  }

  /** Claims due events for the free slots and starts sending them. Returns the sends and whether due work was left. */
  function claimRound(forceFull = false): { started: Promise<void>[]; leftover: boolean } {
    const now = common.now();
    let globalFree = cfg.concurrency - active;
    if (globalFree <= 0) {
      flushResults();
      return { started: [], leftover: true };
    }
    const skips: string[] = [];
    scanOutbox(now, forceFull || wantFullScan(now), skips);

    const picks: { id: string; host: string }[] = [];
    const served: string[] = [];
    let leftover = false;
    for (const [host, ids] of candidates) {
      if (ids.length === 0) {
        candidates.delete(host);
        continue;
      }
      const free = Math.min(globalFree, perHost - (hostActive.get(host) ?? 0));
      if (free < ids.length) leftover = true;
      if (free <= 0) continue;
      const taken = ids.splice(0, free);
      for (const id of taken) {
        candidateIds.delete(id);
        picks.push({ id, host });
      }
      served.push(host);
      globalFree -= taken.length;
      if (globalFree <= 0) break;
    }
    // hosts just served go to the back, so a full global limit cannot always favour the same hosts
    for (const host of served) {
      const ids = candidates.get(host);
      candidates.delete(host);
      if (ids && ids.length > 0) candidates.set(host, ids);
    }
    if (picks.length === 0 && skips.length === 0 && results.length === 0) return { started: [], leftover };
    // rows whose results are still unrecorded are leased, so no scan can have offered them again
    const claimed = commitRound(picks, skips, now);
    // stale candidates (sent by another worker meanwhile) left slots unused: try the next ones soon
    if (claimed.length < picks.length) kick();

    const started: Promise<void>[] = [];
    for (const ev of claimed) {
      active++;
      hostActive.set(ev.host, (hostActive.get(ev.host) ?? 0) + 1);
      const p = queue.add(() => send(ev)).finally(() => sends.delete(p));
      sends.add(p);
      started.push(p);
    }
    metrics.inFlight.set(active);
    return { started, leftover };
  }

  /** One attempt of one claimed event; its slot is given back whatever happens. */
  async function send(ev: ClaimedEvent): Promise<void> {
    try {
      await attemptDelivery(ev);
    } catch (e) {
      // not a delivery failure (those are recorded): a bug. The lease brings the event back later.
      log.error({ event: ev.id, err: errorText(e) }, "delivery attempt crashed");
    } finally {
      active--;
      const n = (hostActive.get(ev.host) ?? 1) - 1;
      if (n <= 0) hostActive.delete(ev.host);
      else hostActive.set(ev.host, n);
      metrics.inFlight.set(active);
      kick();
    }
  }

  async function attemptDelivery(ev: ClaimedEvent): Promise<void> {
    const startedAt = common.now();
    const t0 = performance.now();
    const ac = new AbortController();
    inFlight.add(ac);
    const deadline = setTimeout(
      () => ac.abort(new TimeoutAbort(`timeout after ${cfg.timeout_ms} ms`)),
      cfg.timeout_ms,
    );
    let status: number | null = null;
    let error: string | null = null;
    let response: string | null = null;
    try {
      const url = new URL(ev.url);
      if (url.protocol !== "http:" && url.protocol !== "https:")
        throw new Error("callback URL must be http(s)");
      const host = urlHost(url);
      // the lookup hook only runs for names; IP literals are checked here
      if (!allowPrivate && isIP(host)) {
        const reason = blockedAddressReason(host);
        if (reason) throw new Error(`refused target: ${reason} (notify.allow_private_targets is false)`);
      }
      const t = Math.floor(common.now() / 1000);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "depositd-signature": signatureHeader(
          ev.body,
          cfg.secrets.map((s) => s.value),
          t,
        ),
        "depositd-event-id": ev.id,
        "depositd-attempt": String(ev.attempts),
      };
      if (ev.seq !== null) headers["depositd-event-seq"] = String(ev.seq);
      const res = await request(url, {
        method: "POST",
        headers,
        body: ev.body,
        dispatcher: agent,
        signal: ac.signal,
      });
      status = res.statusCode;
      response = await readCapped(res.body, ac.signal);
    } catch (e) {
      const reason: unknown = ac.signal.aborted ? ac.signal.reason : undefined;
      error = reason instanceof TimeoutAbort || reason instanceof StopAbort ? reason.message : errorText(e);
    } finally {
      clearTimeout(deadline);
      inFlight.delete(ac);
    }
    const latencyMs = Math.round(performance.now() - t0);
    const finishedAt = common.now();
    let outcome: Outcome;
    let nextAttemptAt = finishedAt;
    if (status !== null && status >= 200 && status < 300) outcome = "delivered";
    else if (ac.signal.reason instanceof StopAbort) outcome = "released";
    else {
      // after a redelivery the schedule starts over
      const delay = retryDelayMs(cfg.retry_schedule_s, ev.attempts - ev.retry_base);
      outcome = delay === null ? "dead" : "retry";
      if (delay !== null) nextAttemptAt = finishedAt + delay;
    }
    results.push({
      id: ev.id,
      attempt: ev.attempts,
      startedAt,
      latencyMs,
      status,
      error,
      response,
      outcome,
      nextAttemptAt,
      finishedAt,
    });
    metrics.attempts.inc({ result: outcome });
    metrics.latency.observe({ result: outcome }, latencyMs / 1000);
    if (outcome === "dead") {
      log.warn(
        { event: ev.id, host: ev.host, attempts: ev.attempts, status, error },
        "callback dead after last retry",
      );
    } else if (outcome === "retry") {
      log.debug(
        { event: ev.id, host: ev.host, attempt: ev.attempts, status, error },
        "callback failed, will retry",
      );
    }
  }

  /** Reads at most RESPONSE_KEEP_BYTES of a response, then drops the rest (and with it the connection). */
  async function readCapped(body: Dispatcher.ResponseData["body"], signal: AbortSignal): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        if (signal.aborted) break;
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        chunks.push(buf);
        size += buf.length;
        if (size >= RESPONSE_KEEP_BYTES) break; // leaving the loop destroys the body stream and its socket
      }
    } finally {
      if (!body.destroyed && size >= RESPONSE_KEEP_BYTES) body.destroy();
    }
    return Buffer.concat(chunks).subarray(0, RESPONSE_KEEP_BYTES).toString("utf8");
  }

  function runRound(): boolean {
    try {
      return claimRound().leftover;
    } catch (e) {
      log.error({ err: errorText(e) }, "delivery round failed");
      return false;
    }
  }

  /** Runs a round soon (after a send finished or new events were written) and re-plans the timer. */
  function kick(): void {
    if (!running || kicked) return;
    kicked = true;
    // 1 ms lets the sends that finish together share one round, so one transaction (one fsync)
    setTimeout(() => {
      kicked = false;
      if (!running) return;
      if (timer) clearTimeout(timer);
      loop();
    }, 1);
  }

  function loop(): void {
    timer = undefined;
    if (!running) return;
    const leftover = runRound();
    updateDepth();
    let delay = pollMs;
    if (!leftover) {
      try {
        const next = nextDue.get(common.now());
        if (typeof next === "number") delay = Math.max(1, Math.min(pollMs, next - common.now()));
      } catch {
        // keep the poll interval
      }
    }
    timer = setTimeout(loop, delay);
  }

  return {
    start() {
      if (stopped) throw new Error("this delivery worker was stopped; create a new one");
      if (running) return;
      running = true;
      updateDepth(true);
      loop();
    },

    notify() {
      kick();
    },

    async tick() {
      if (stopped) return 0;
      const { started } = claimRound(true);
      await Promise.all(started);
      flushResults();
      updateDepth(true);
      return started.length;
    },

    async stop(timeoutMs = cfg.timeout_ms) {
      if (stopped) return;
      stopped = true;
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (sends.size > 0) {
        let expired: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<void>((resolve) => (expired = setTimeout(resolve, timeoutMs)));
        await Promise.race([Promise.allSettled([...sends]), gaveUp]);
        clearTimeout(expired);
        // what is still in flight is aborted and released for the next start (its lease is cleared)
        for (const ac of inFlight) ac.abort(new StopAbort("aborted: delivery worker stopping"));
        await Promise.allSettled([...sends]);
      }
      flushResults();
      updateDepth(true);
      await agent.close().catch(() => agent.destroy());
    },
  };
}
