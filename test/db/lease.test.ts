// Leases with fencing (src/db/lease.ts) on a real PostgreSQL 15, each instance its own connection
// pool. Expiry is the database server's clock: the tests wait until the server says a lease ran
// out (a 300 ms TTL), never on the machine's calendar.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Lease,
  LeaseLostError,
  acquire,
  fence,
  leaseHolder,
  release,
  renew,
} from "../../src/db/lease.js";
import { createPool, migratePostgres, unitOfWork } from "../../src/db/postgres.js";
import { createTestDatabase } from "../helpers/postgres.js";

const TTL = 300;
let a: pg.Pool; // instance A
let b: pg.Pool; // instance B
beforeAll(async () => {
  const url = await createTestDatabase();
  a = createPool({ url, pool_size: 3, password: undefined });
  b = createPool({ url, pool_size: 3, password: undefined });
  await migratePostgres(a);
  // what a watcher writes: stands for cursors, payments and events
  await a.query(
    "CREATE TABLE watcher_writes (role TEXT NOT NULL, owner TEXT NOT NULL, epoch BIGINT NOT NULL)",
  );
});
afterAll(async () => {
  await a.end();
  await b.end();
});

/** Wait until the server's clock is past the lease of `role` (bounded: 5 s). */
async function untilExpired(role: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const h = await leaseHolder(a, role);
    if (h && !h.live) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`lease ${role} did not expire`);
}

/** A watcher's write under its lease: the fenced unit of work. */
const fencedWrite = (pool: pg.Pool, held: Lease) =>
  unitOfWork(pool, async ({ client }) => {
    // the write comes first on purpose: the fence must roll back what came before it too
    await client.query("INSERT INTO watcher_writes (role, owner, epoch) VALUES ($1, $2, $3)", [
      held.role,
      held.owner,
      held.epoch,
    ]);
    return fence(client, held, TTL);
  });

describe("leases", () => {
  it("behavior: of concurrent acquirers exactly one wins each role", async () => {
    const roles = Array.from({ length: 20 }, (_, i) => `watcher:race-${i}`);
    const results = await Promise.all(
      roles.flatMap((role) => [acquire(a, role, "A", 10_000), acquire(b, role, "B", 10_000)]),
    );
    for (let i = 0; i < roles.length; i++) {
      const won = [results[2 * i], results[2 * i + 1]].filter((r) => r !== null);
      expect(won, roles[i]).toHaveLength(1);
      expect(won[0]!.epoch).toBe(1);
    }
  });

  it("behavior: a live lease is not taken; after expiry the other takes over at epoch + 1", async () => {
    const role = "watcher:eth";
    const held = await acquire(a, role, "A", TTL);
    expect(held).toMatchObject({ role, owner: "A", epoch: 1 });
    expect(await acquire(b, role, "B", TTL)).toBeNull();
    expect(await acquire(a, role, "A", TTL)).toBeNull(); // a holder renews; it does not re-acquire
    // renewing keeps it: B still cannot take it
    const renewed = await renew(a, held!, TTL);
    expect(renewed!.leaseUntil).toBeGreaterThanOrEqual(held!.leaseUntil);
    expect(await acquire(b, role, "B", TTL)).toBeNull();
    await untilExpired(role);
    const taken = await acquire(b, role, "B", TTL);
    expect(taken).toMatchObject({ owner: "B", epoch: 2 });
    // the former holder cannot renew what it lost
    expect(await renew(a, held!, TTL)).toBeNull();
  });

  it("behavior: a paused former leader writes nothing once it lost the lease; the new one writes", async () => {
    const role = "watcher:btc";
    const old = (await acquire(a, role, "A", TTL))!;
    expect(await fencedWrite(a, old)).toMatchObject({ epoch: 1 });
    // A pauses (it simply does not renew); the server's clock runs past its lease; B takes over
    await untilExpired(role);
    const current = (await acquire(b, role, "B", TTL))!;
    expect(current.epoch).toBe(2);
    // A wakes up and carries on with the batch it had prefetched
    await expect(fencedWrite(a, old)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(fencedWrite(b, current)).resolves.toMatchObject({ owner: "B", epoch: 2 });
    const rows = await a.query("SELECT owner, epoch FROM watcher_writes WHERE role = $1 ORDER BY epoch", [
      role,
    ]);
    expect(rows.rows).toEqual([
      { owner: "A", epoch: 1 },
      { owner: "B", epoch: 2 },
    ]);
  });

  it("behavior: a takeover waits for the holder's open fenced write, then finds the lease renewed", async () => {
    const role = "timer";
    const held = (await acquire(a, role, "A", TTL))!;
    const client = await a.connect();
    try {
      await client.query("BEGIN");
      await fence(client, held, 2_000); // the row is locked until this commits
      let settled = false;
      const takeover = acquire(b, role, "B", TTL).then((r) => {
        settled = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(settled).toBe(false); // waiting on the row lock, not deciding on a stale row
      await client.query("COMMIT");
      expect(await takeover).toBeNull();
    } finally {
      client.release();
    }
    expect(await release(a, held)).toBe(true);
    // released: no TTL to wait out
    expect(await acquire(b, role, "B", TTL)).toMatchObject({ owner: "B", epoch: 2 });
  });

  it("behavior: epochs only increase across many handovers", async () => {
    const role = "watcher:tron";
    const epochs: number[] = [];
    let holder = (await acquire(a, role, "A", 10_000))!;
    epochs.push(holder.epoch);
    for (let i = 0; i < 6; i++) {
      await release(i % 2 === 0 ? a : b, holder);
      const next = i % 2 === 0 ? b : a;
      const got = await Promise.all([
        acquire(next, role, `O${i}`, 10_000),
        acquire(next, role, `P${i}`, 10_000),
      ]);
      const winners = got.filter((g) => g !== null);
      expect(winners).toHaveLength(1);
      holder = winners[0]!;
      epochs.push(holder.epoch);
    }
    expect(epochs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const h = await leaseHolder(b, role);
    expect(h).toMatchObject({ epoch: 7, live: true, owner: holder.owner });
  });
});
