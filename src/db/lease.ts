// Leases with fencing on PostgreSQL: the building block for "exactly one watcher per chain and one
// timer runner" when several instances share one database. A lease is a row per role (owner,
// epoch, lease_until); every time in it is the database server's clock, so instances whose clocks
// disagree still agree on who holds a role. The holder renews it inside each of its writes
// (fence): the row lock taken there keeps a takeover from committing between the check and the
// write, and a holder that lost the lease (paused past its TTL, say) finds no row and rolls back.
import type pg from "pg";
import { DepositdError } from "../errors.js";
import { type LeaseRow, leaseStatements as sql } from "./postgres-statements.js";

type Queryable = Pick<pg.ClientBase, "query">;

export interface Lease {
  role: string;
  owner: string;
  /** grows by one at every change of holder; a write carries the epoch it was decided under */
  epoch: number;
  /** server ms */
  leaseUntil: number;
}

/** The lease was lost (expired, taken over, or never held): the transaction must roll back. */
export class LeaseLostError extends DepositdError {
  override name = "LeaseLostError";
  constructor(
    readonly role: string,
    readonly owner: string,
    readonly epoch: number,
  ) {
    super(`lease ${role} is no longer held by ${owner} at epoch ${epoch}`);
  }
}

/** The role of a chain's watcher: one instance scans a chain and writes its payments. */
export const watcherRole = (chain: string): string => `watch:${chain}`;
/** The role of the timer runner (expiry, releases, pool top-ups). */
export const TIMER_ROLE = "timers";

const lease = (role: string, row: LeaseRow): Lease => ({
  role,
  owner: row.owner,
  epoch: row.epoch,
  leaseUntil: row.lease_until,
});

/** Take `role` for `ttlMs` if nobody holds it live; null when somebody (this owner too) does. */
export async function acquire(
  client: Queryable,
  role: string,
  owner: string,
  ttlMs: number,
): Promise<Lease | null> {
  const r = await client.query<LeaseRow>(sql.acquire, [role, owner, ttlMs]);
  return r.rows[0] ? lease(role, r.rows[0]) : null;
}

/** Extend a live lease by `ttlMs` from the server's now; null when it is lost. */
export async function renew(client: Queryable, held: Lease, ttlMs: number): Promise<Lease | null> {
  const r = await client.query<LeaseRow>(sql.renew, [held.role, held.owner, held.epoch, ttlMs]);
  return r.rows[0] ? lease(held.role, r.rows[0]) : null;
}

/**
 * Inside the caller's write transaction (unitOfWork): check that `held` is still this owner's at
 * this epoch and extend it by `ttlMs`, locking the lease row until commit. Throws LeaseLostError
 * when it is not, which rolls the whole unit of work back (writes made before the fence too).
 */
export async function fence(client: Queryable, held: Lease, ttlMs: number): Promise<Lease> {
  const renewed = await renew(client, held, ttlMs);
  if (!renewed) throw new LeaseLostError(held.role, held.owner, held.epoch);
  return renewed;
}

/** Give a held lease up at once (clean shutdown); false when it was already lost. */
export async function release(client: Queryable, held: Lease): Promise<boolean> {
  const r = await client.query(sql.release, [held.role, held.owner, held.epoch]);
  return (r.rowCount ?? 0) > 0;
}

/** Who holds `role` and until when, with the server's now (for /healthz on every instance). */
export async function leaseHolder(
  client: Queryable,
  role: string,
): Promise<(Lease & { live: boolean; now: number }) | null> {
  const r = await client.query<LeaseRow>(sql.holder, [role]);
  const row = r.rows[0];
  return row ? { ...lease(role, row), now: row.now, live: row.lease_until > row.now } : null;
}

/** The SQLite-shaped handle a fence runs on (src/db/pg-sync.ts): the ledger's own connection. */
interface SyncDb {
  prepare(sql: string): { get(...args: unknown[]): unknown };
}

export interface LeaseKeeperOptions {
  /** the async pool the keeper renews and acquires on (never the ledger's connection) */
  pool: Queryable;
  /** this instance, as the lease rows and /healthz name it */
  owner: string;
  ttlMs: number;
  roles: readonly string[];
  /** this instance now holds `role` (start its work) */
  onAcquired(role: string, lease: Lease): void;
  /** this instance no longer holds `role` (stop its work, drop what it prefetched) */
  onLost(role: string): void;
  onError?(err: Error): void;
}

export interface LeaseKeeper {
  readonly owner: string;
  readonly ttlMs: number;
  held(role: string): Lease | null;
  /**
   * Inside a write transaction on the ledger's connection: the fence. Extends `role`'s lease in the
   * same transaction (its row locked until commit) or throws LeaseLostError, which rolls the write
   * back: a paused holder that wakes after losing its lease writes nothing.
   */
  fence(db: SyncDb, role: string): void;
  /** one round of renew-or-acquire for every role (the timer runs it every ttl/3) */
  round(): Promise<void>;
  start(): void;
  /** give every held lease up (a clean shutdown: the next instance takes over at once) */
  stop(): Promise<void>;
}

/**
 * Keeps this instance's leases: renews the ones it holds, tries the others, every ttl/3. A role
 * whose renewal fails, or whose fence found it lost, is reported once with onLost.
 */
export function createLeaseKeeper(o: LeaseKeeperOptions): LeaseKeeper {
  const held = new Map<string, Lease>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  function lose(role: string): void {
    if (!held.delete(role)) return;
    o.onLost(role);
  }

  async function roundOnce(): Promise<void> {
    for (const role of o.roles) {
      if (stopped) return;
      const h = held.get(role);
      try {
        if (h) {
          const r = await renew(o.pool, h, o.ttlMs);
          if (r && held.get(role)?.epoch === r.epoch) held.set(role, r);
          else if (!r) lose(role);
        } else {
          const r = await acquire(o.pool, role, o.owner, o.ttlMs);
          if (r && !stopped) {
            held.set(role, r);
            o.onAcquired(role, r);
          }
        }
      } catch (e) {
        o.onError?.(e as Error); // the database is away: a held lease runs out and fences fail
      }
    }
  }

  const keeper: LeaseKeeper = {
    owner: o.owner,
    ttlMs: o.ttlMs,
    held: (role) => held.get(role) ?? null,
    fence(db, role) {
      const h = held.get(role);
      if (!h) throw new LeaseLostError(role, o.owner, 0);
      const row = db.prepare(sql.renew).get(role, o.owner, h.epoch, o.ttlMs) as LeaseRow | undefined;
      if (!row) {
        // reported after this throw unwinds the write (onLost stops the role's work)
        queueMicrotask(() => lose(role));
        throw new LeaseLostError(role, o.owner, h.epoch);
      }
      held.set(role, lease(role, row));
    },
    round() {
      running ??= roundOnce().finally(() => (running = null));
      return running;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void keeper.round(), Math.max(50, Math.floor(o.ttlMs / 3)));
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running;
      for (const h of held.values()) await release(o.pool, h).catch(() => false);
      held.clear();
    },
  };
  return keeper;
}

/** Who holds a role, as /healthz shows it on every instance. */
export interface LeaseReport {
  owner: string;
  epoch: number;
  live: boolean;
  /** this instance holds it */
  mine: boolean;
  lease_until: string;
}

/** The lease row of `role` read on the ledger's connection (null: nobody ever held it). */
export function leaseReport(db: SyncDb, role: string, me: string): LeaseReport | null {
  const row = db.prepare(sql.holder).get(role) as LeaseRow | undefined;
  if (!row) return null;
  return {
    owner: row.owner,
    epoch: row.epoch,
    live: row.lease_until > row.now,
    mine: row.owner === me && row.lease_until > row.now,
    lease_until: new Date(row.lease_until).toISOString(),
  };
}
