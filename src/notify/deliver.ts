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

/** Events claimed per slot: the one in flight and the ones ready to follow it. */
const CLAIM_AHEAD = 8;
/** A round that is not urgent waits this long, or until this many results wait to be recorded. */
const GROUP_COMMIT_MS = 10;
const GROUP_COMMIT_MAX = 256;

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
  /** the claim's lease ends here: a send must be able to finish before it */
  leaseUntil: number;
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
  let unsent: { id: string; attempt: number }[] = [];
  function write(batch: AttemptResult[], giveBack: { id: string; attempt: number }[]): void {
    for (const u of giveBack) s.unclaim.run({ id: u.id, owner, attempt: u.attempt });
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
    const giveBack = unsent;
    results = [];
    unsent = [];
    try {
      return db.transaction(() => {
        write(batch, giveBack);
        for (const id of skips) s.markSkipped.run(id);
        const out: ClaimedEvent[] = [];
        for (const p of claims) {
          const row = s.claim.get({ id: p.id, owner, until: now + leaseMs, now });
          if (row && row.url !== null)
            out.push({ ...row, url: row.url, host: p.host, leaseUntil: now + leaseMs });
        }
        return out;
      })();
    } catch (e) {
      results = batch.concat(results);
      unsent = giveBack.concat(unsent);
      log.error({ err: errorText(e) }, "cannot record delivery attempts or claim events");
      return [];
    }
  }
  return {
    add: (r: AttemptResult) => void results.push(r),
    /** a claimed event that was not sent: its claim is undone at the next commit */
    giveBack: (ev: ClaimedEvent) => void unsent.push({ id: ev.id, attempt: ev.attempts }),
    pending: () => results.length + unsent.length,
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
  const perHost = cfg.per_host_concurrency;
  // Claims run ahead of the sends: each host holds up to CLAIM_AHEAD × its slots (in flight + ready),
  // so a finished send starts the next one at once instead of waiting for the next round's commit.
  const schedule = createSchedule(s, {
    concurrency: cfg.concurrency * CLAIM_AHEAD,
    perHost: perHost * CLAIM_AHEAD,
  });
  const sender = createSender(cfg, common.now);
  // long enough for a claimed event to wait for a few sends ahead of it and then be attempted; one
  // whose turn comes later is given back unsent (send())
  const recorder = createRecorder(db, s, { owner, leaseMs: cfg.timeout_ms * 2 + 10_000, log });
  const queue = new PQueue({ concurrency: cfg.concurrency });
  const sends = new Set<Promise<void>>();
  /** claimed events waiting for one of their host's slots, and the slots in use, per host */
  const ready = new Map<string, ClaimedEvent[]>();
  const sending = new Map<string, number>();
  let inFlight = 0;
  let attemptsMade = 0;
  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let kicked: NodeJS.Timeout | undefined;
  let kickAt = Infinity;
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
  function claimRound(forceFull = false, tail = true): { started: Promise<void>[]; leftover: boolean } {
    const now = common.now();
    const { picks, skips, leftover } = schedule.plan(now, forceFull, tail);
    if (picks.length === 0 && skips.length === 0 && recorder.pending() === 0)
      return { started: [], leftover };
    // rows whose results are still unrecorded are leased, so no scan can have offered them again
    const claimed = recorder.commit(picks, skips, now);
    // stale candidates (sent by another worker meanwhile) left slots unused: try the next ones soon
    if (claimed.length < picks.length) kick();
    const started: Promise<void>[] = [];
    const hosts = new Set<string>();
    for (const ev of claimed) {
      schedule.started(ev.host);
      let queued = ready.get(ev.host);
      if (!queued) ready.set(ev.host, (queued = []));
      queued.push(ev);
      hosts.add(ev.host);
    }
    for (const host of hosts) pump(host, started);
    return { started, leftover };
  }

  /** Starts sends of the host's ready events while it has free slots. */
  function pump(host: string, started?: Promise<void>[]): void {
    const queued = ready.get(host);
    // the slot is taken before queue.add, which may run the send (and give the slot back) at once
    while (queued && queued.length > 0 && (sending.get(host) ?? 0) < perHost) {
      const ev = queued.shift()!;
      sending.set(host, (sending.get(host) ?? 0) + 1);
      const p = queue.add(() => send(ev)).finally(() => sends.delete(p));
      sends.add(p);
      started?.push(p);
    }
    if (queued?.length === 0 && ready.get(host) === queued) ready.delete(host);
  }

  /** One attempt of one claimed event; its slot is given back whatever happens. */
  async function send(ev: ClaimedEvent): Promise<void> {
    if (stopped || common.now() + cfg.timeout_ms >= ev.leaseUntil) {
      // its turn came after stop(), or so late that the lease could end mid-send (another worker may
      // claim it then): not attempted, the claim is given back and the event is claimed again later
      recorder.giveBack(ev);
      release(ev.host);
      if (!stopped) {
        schedule.requeue(ev.id, ev.url);
        kick();
      }
      return;
    }
    metrics.inFlight.set(++inFlight);
    attemptsMade++;
    try {
      record(ev, await sender.send(ev));
    } catch (e) {
      // not a delivery failure (those are recorded): a bug. The lease brings the event back later.
      log.error({ event: ev.id, err: errorText(e) }, "delivery attempt crashed");
    } finally {
      metrics.inFlight.set(--inFlight);
      release(ev.host);
      pump(ev.host);
      // urgent when this host has no claimed event left to go on with
      kick(!ready.has(ev.host));
    }
  }

  function release(host: string): void {
    schedule.finished(host);
    const busy = (sending.get(host) ?? 1) - 1;
    if (busy <= 0) sending.delete(host);
    else sending.set(host, busy);
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

  function runRound(tail: boolean): boolean {
    try {
      return claimRound(false, tail).leftover;
    } catch (e) {
      log.error({ err: errorText(e) }, "delivery round failed");
      return false;
    }
  }

  /**
   * Runs a round soon (after a send finished or new events were written) and re-plans the timer.
   * Urgent (a host has free slots and nothing claimed for them, or new events): in 1 ms, which lets
   * the sends that finish together share one transaction. Otherwise the sends go on from what is
   * claimed and the round waits up to GROUP_COMMIT_MS, so one commit (one fsync) records many.
   */
  function kick(urgent = true): void {
    if (!running) return;
    if (urgent || recorder.pending() >= GROUP_COMMIT_MAX) {
      if (kickAt <= 1) return;
      if (kicked) clearTimeout(kicked);
      kickAt = 1;
    } else if (kicked) return;
    else kickAt = GROUP_COMMIT_MS;
    kicked = setTimeout(() => {
      kicked = undefined;
      kickAt = Infinity;
      if (!running) return;
      if (timer) clearTimeout(timer);
      loop(false);
    }, kickAt);
  }

  /** A round; `tail`: read the outbox's newest rows too (the poll does, rounds after sends need not). */
  function loop(tail: boolean): void {
    timer = undefined;
    if (!running) return;
    const leftover = runRound(tail);
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
    timer = setTimeout(() => loop(true), delay);
  }

  return {
    start() {
      if (stopped) throw new Error("this delivery worker was stopped; create a new one");
      if (running) return;
      running = true;
      updateDepth(true);
      loop(true);
    },

    notify() {
      schedule.wake();
      kick();
    },

    async tick() {
      if (stopped) return 0;
      const before = attemptsMade;
      claimRound(true);
      // the claimed events that wait for a slot are sent as the ones ahead of them finish
      while (sends.size > 0) await Promise.allSettled([...sends]);
      flushResults();
      updateDepth(true);
      return attemptsMade - before;
    },

    async stop(timeoutMs = cfg.timeout_ms) {
      if (stopped) return;
      stopped = true;
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (kicked) clearTimeout(kicked);
      kicked = undefined;
      if (sends.size > 0) {
        let expired: NodeJS.Timeout | undefined;
        const gaveUp = new Promise<void>((resolve) => (expired = setTimeout(resolve, timeoutMs)));
        await Promise.race([Promise.allSettled([...sends]), gaveUp]);
        clearTimeout(expired);
        // what is still in flight is aborted and released for the next start (its lease is cleared)
        sender.abortAll();
        await Promise.allSettled([...sends]);
      }
      // claimed events that never reached a slot go back unsent
      for (const queued of ready.values()) for (const ev of queued.splice(0)) recorder.giveBack(ev);
      ready.clear();
      flushResults();
      updateDepth(true);
      await sender.close();
    },
  };
}
