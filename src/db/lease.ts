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
