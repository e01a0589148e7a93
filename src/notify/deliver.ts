// Callback delivery from the `events` outbox: claim due events with a lease (compare-and-swap, so two
// workers never send the same attempt and a crashed worker's events come back when its lease ends),
// POST the stored bytes signed, record every attempt, retry on the schedule, then `dead`.
// Which events to claim: schedule.ts; sending: send.ts; what an answer means: attempt.ts.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import PQueue from "p-queue";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import { notifyMetrics } from "../metrics.js";
import { type Outcome, classifyAttempt } from "./attempt.js";
import { createSchedule } from "./schedule.js";
import { type Callback, createSender, errorText } from "./send.js";
import { type DeliveryStatements, createDeliveryStatements } from "./statements.js";

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

interface ClaimedEvent extends Callback {
  /** attempts made before the last redelivery */
  retry_base: number;
  host: string;
}

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

/** Finished attempts, recorded together with the next claims in one transaction (one fsync for many). */
function createRecorder(
  db: DB,
  s: DeliveryStatements,
  args: { owner: string; leaseMs: number; log: Common["logger"] },
) {
  const { owner, leaseMs, log } = args;
  let results: AttemptResult[] = [];
  function write(batch: AttemptResult[]): void {
    for (const r of batch) {
      s.insertAttempt.run({
        id: r.id,
        attempt: r.attempt,
        startedAt: r.startedAt,
        latencyMs: r.latencyMs,
        status: r.status,
        error: r.error,
        response: r.response,
      });
      if (r.outcome === "delivered") s.markDelivered.run({ id: r.id, at: r.finishedAt });
      else
        s.markFailed.run({
          id: r.id,
          owner,
          attempt: r.attempt,
          state: r.outcome === "dead" ? "dead" : "pending",
          next: r.nextAttemptAt,
        });
    }
  }
  /**
   * Records finished attempts, skips events without a URL and claims `claims`, all in ONE transaction.
   * On failure the results stay queued for the next round; the leases keep other workers off meanwhile.
   */
  function commit(claims: { id: string; host: string }[], skips: string[], now: number): ClaimedEvent[] {
    const batch = results;
    results = [];
    try {
      return db.transaction(() => {
        write(batch);
        for (const id of skips) s.markSkipped.run(id);
        const out: ClaimedEvent[] = [];
        for (const p of claims) {
          const row = s.claim.get({ id: p.id, owner, until: now + leaseMs, now });
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
  return {
    add: (r: AttemptResult) => void results.push(r),
    pending: () => results.length,
    commit,
  };
}

export function createDeliveryWorker(args: DeliveryWorkerArgs): DeliveryWorker {
  const { db, common } = args;
  const cfg = common.config.notify;
  const log = common.logger.child({ mod: "notify" });
  const metrics = notifyMetrics(common.metrics);
  const owner = args.owner ?? `${hostname()}/${process.pid}/${randomBytes(4).toString("hex")}`;
  const pollMs = args.pollIntervalMs ?? 200;
  const s = createDeliveryStatements(db);
  const schedule = createSchedule(s, { concurrency: cfg.concurrency, perHost: cfg.per_host_concurrency });
  const sender = createSender(cfg, common.now);
  // long enough to cover one attempt (claims are only made for free slots, so sending starts at once)
  const recorder = createRecorder(db, s, { owner, leaseMs: cfg.timeout_ms * 2 + 10_000, log });
  const queue = new PQueue({ concurrency: cfg.concurrency });
  const sends = new Set<Promise<void>>();
  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let kicked = false;
  let depthAt = 0;

  const flushResults = () => void (recorder.pending() > 0 && recorder.commit([], [], common.now()));

  function updateDepth(force = false): void {
    const now = Date.now();
    if (!force && now - depthAt < 1000) return;
    depthAt = now;
    try {
      metrics.outboxDepth.set(Number(s.countPending.get()));
    } catch {
      // the gauge is advisory; a closed or busy database must not stop delivery
    }
  }

  /** Claims due events for the free slots and starts sending them. Returns the sends and whether due work was left. */
  function claimRound(forceFull = false): { started: Promise<void>[]; leftover: boolean } {
    const now = common.now();
    const { picks, skips, leftover } = schedule.plan(now, forceFull);
    if (picks.length === 0 && skips.length === 0 && recorder.pending() === 0)
      return { started: [], leftover };
    // rows whose results are still unrecorded are leased, so no scan can have offered them again
    const claimed = recorder.commit(picks, skips, now);
    // stale candidates (sent by another worker meanwhile) left slots unused: try the next ones soon
    if (claimed.length < picks.length) kick();
    const started: Promise<void>[] = [];
    for (const ev of claimed) {
      schedule.started(ev.host);
      const p = queue.add(() => send(ev)).finally(() => sends.delete(p));
      sends.add(p);
      started.push(p);
    }
    metrics.inFlight.set(schedule.active());
    return { started, leftover };
  }

  /** One attempt of one claimed event; its slot is given back whatever happens. */
  async function send(ev: ClaimedEvent): Promise<void> {
    try {
      record(ev, await sender.send(ev));
    } catch (e) {
      // not a delivery failure (those are recorded): a bug. The lease brings the event back later.
      log.error({ event: ev.id, err: errorText(e) }, "delivery attempt crashed");
    } finally {
      schedule.finished(ev.host);
      metrics.inFlight.set(schedule.active());
      kick();
    }
  }

  function record(ev: ClaimedEvent, sent: Awaited<ReturnType<typeof sender.send>>): void {
    const { status, error } = sent;
    const { outcome, nextAttemptAt } = classifyAttempt(
      {
        status,
        stopped: sent.stopped,
        attempt: ev.attempts,
        retryBase: ev.retry_base,
        finishedAt: sent.finishedAt,
      },
      cfg.retry_schedule_s,
    );
    recorder.add({ id: ev.id, attempt: ev.attempts, ...sent, outcome, nextAttemptAt });
    metrics.attempts.inc({ result: outcome });
    metrics.latency.observe({ result: outcome }, sent.latencyMs / 1000);
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
        const next = s.nextDue.get(common.now());
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
        sender.abortAll();
        await Promise.allSettled([...sends]);
      }
      flushResults();
      updateDepth(true);
      await sender.close();
    },
  };
}
