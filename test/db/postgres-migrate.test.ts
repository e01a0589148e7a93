// The PostgreSQL migration runner and what its migrations enforce, on a real PostgreSQL 15.
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { COUNTER_FOLDS } from "../../src/db/counters.js";
import { createPool, migratePostgres, readPostgresMigrations } from "../../src/db/postgres.js";
import { createTestDatabase } from "../helpers/postgres.js";

const pools: pg.Pool[] = [];
async function freshPool(): Promise<pg.Pool> {
  const pool = createPool({ url: await createTestDatabase(), pool_size: 3, password: undefined });
  pools.push(pool);
  return pool;
}
afterAll(async () => {
  for (const p of pools) await p.end();
});

const VERSIONS = readPostgresMigrations().map((m) => m.version);

describe("migratePostgres", () => {
  it("behavior: two instances migrating at once apply each migration exactly once", async () => {
    const url = await createTestDatabase();
    // two pools: two instances starting against one empty database at the same moment
    const a = createPool({ url, pool_size: 1, password: undefined });
    const b = createPool({ url, pool_size: 1, password: undefined });
    pools.push(a, b);
    const [ra, rb] = await Promise.all([migratePostgres(a), migratePostgres(b)]);
    expect(sorted([...ra, ...rb])).toEqual(VERSIONS);
    // one did everything under the lock; the other found nothing left
    expect([ra.length, rb.length].sort((x, y) => x - y)).toEqual([0, VERSIONS.length]);
    const rows = await a.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
    expect(rows.rows.map((r) => r.version)).toEqual(VERSIONS);
    expect(await migratePostgres(b)).toEqual([]);
  });

  it("error: a failing migration rolls back alone and names itself; the ones before it stay", async () => {
    const pool = await freshPool();
    const good = readPostgresMigrations().slice(0, 2);
    const bad = { version: 3, name: "broken", sql: "CREATE TABLE half (x INT); SELECT no_such_function();" };
    await expect(migratePostgres(pool, [...good, bad])).rejects.toThrow(/^migration 0003_broken failed: /);
    const applied = await pool.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY 1");
    expect(applied.rows.map((r) => r.version)).toEqual([1, 2]);
    const half = await pool.query("SELECT to_regclass('half') AS t");
    expect(half.rows[0].t).toBeNull();
    // the lock was let go: the rest applies afterwards
    expect(await migratePostgres(pool)).toEqual(VERSIONS.slice(2));
  });
});

describe("the PostgreSQL schema enforces what SQLite's does", () => {
  it("behavior: counters kept by the translated triggers; flags are 0 or 1; one owner per payment", async () => {
    const pool = await freshPool();
    await migratePostgres(pool);
    const order = (id: string, status: string, createdAt: number) =>
      pool.query(
        `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
           underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
           expires_at, late_until, checkout_token)
         VALUES ($1, 'shop', $1, $2, '100', 'USD', 2, '0', '0', 'http://x', 'h', $3, $3, $3, $3, $1)`,
        [id, status, createdAt],
      );
    const hour = 1_735_689_600_000; // any hour boundary; times are data here, not a clock
    await order("o1", "pending", hour);
    await order("o2", "pending", hour + 1);
    await order("o3", "pending", hour + 3_600_000);
    await pool.query("UPDATE orders SET status = 'paid' WHERE id = 'o1'");
    await pool.query("UPDATE orders SET status = 'paid', updated_at = 1 WHERE id = 'o1'"); // no status change
    // no trigger updates a counter row (two instances' creates would conflict there): each change
    // is a delta, and the fold adds them up (0013, src/db/counters.ts)
    expect((await pool.query("SELECT count(*)::int8 AS n FROM status_counts")).rows[0].n).toBe(0);
    expect((await pool.query("SELECT count(*)::int8 AS n FROM status_count_deltas")).rows[0].n).toBe(5);
    const fold = async () => {
      for (const sql of COUNTER_FOLDS) await pool.query(sql);
    };
    await fold();
    expect((await pool.query("SELECT count(*)::int8 AS n FROM status_count_deltas")).rows[0].n).toBe(0);
    const counts = await pool.query<{ status: string; n: number }>(
      "SELECT status, n FROM status_counts WHERE kind = 'order' ORDER BY status",
    );
    expect(counts.rows).toEqual([
      { status: "paid", n: 1 },
      { status: "pending", n: 2 },
    ]);
    const hourly = await pool.query<{ hour: number; n: number }>(
      "SELECT hour, n FROM hourly_counts WHERE kind = 'order' ORDER BY hour",
    );
    expect(hourly.rows).toEqual([
      { hour: hour / 3_600_000, n: 2 },
      { hour: hour / 3_600_000 + 1, n: 1 },
    ]);

    const address = (id: string, bound: number, used: number) =>
      pool.query(
        `INSERT INTO pool_addresses (chain, address, display, source, bound, used, created_at)
         VALUES ('eth', $1, $1, 'static', $2, $3, 0)`,
        [id, bound, used],
      );
    await address("a1", 0, 0);
    await address("a2", 1, 1);
    await address("a3", 0, 1);
    await pool.query("UPDATE pool_addresses SET bound = 1, used = 1 WHERE address = 'a1'");
    await pool.query("UPDATE pool_addresses SET bound = 0 WHERE address = 'a2'");
    await fold();
    const pc = await pool.query("SELECT total, bound, used_unbound FROM pool_counts WHERE chain = 'eth'");
    expect(pc.rows[0]).toEqual({ total: 3, bound: 1, used_unbound: 2 });
    await pool.query("DELETE FROM pool_addresses WHERE address = 'a3'");
    await fold();
    const after = await pool.query("SELECT total, bound, used_unbound FROM pool_counts WHERE chain = 'eth'");
    expect(after.rows[0]).toEqual({ total: 2, bound: 1, used_unbound: 1 });

    await expect(address("a9", 2, 0)).rejects.toMatchObject({ code: "23514" }); // the flag domain

    await pool.query(
      `INSERT INTO deposit_accounts (id, merchant, customer_id, status, callback_url, request_hash, created_at, updated_at)
       VALUES ('acc1', 'shop', 'c1', 'open', 'http://x', 'h', 0, 0)`,
    );
    await expect(
      pool.query(
        `INSERT INTO payments (id, chain, txid, idx, asset, address, amount, status, order_id, account_id, created_at, updated_at)
         VALUES ('p1', 'eth', '0x1', 0, 'ETH', 'a1', '5', 'seen', 'o1', 'acc1', 0, 0)`,
      ),
    ).rejects.toThrow("a payment belongs to an order or an account, not both");
    // one live binding per address, across orders and accounts
    await pool.query(
      "INSERT INTO bindings (chain, address, order_id, bound_at) VALUES ('eth', 'a1', 'o1', 0)",
    );
    await expect(
      pool.query(
        "INSERT INTO bindings (chain, address, account_id, bound_at) VALUES ('eth', 'a1', 'acc1', 0)",
      ),
    ).rejects.toMatchObject({ code: "23505", constraint: "bindings_one_live_per_address" });
  });
});

describe("counters without a hot row (0013)", () => {
  const insertOrder = (client: pg.ClientBase | pg.Pool, id: string, createdAt: number) =>
    client.query(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
         expires_at, late_until, checkout_token)
       VALUES ($1, 'shop', $1, 'pending', '100', 'USD', 2, '0', '0', 'http://x', 'h', $2, $2, $2, $2, $1)`,
      [id, createdAt],
    );
  const hour = 1_735_689_600_000;
  const pendingCount = async (pool: pg.Pool) =>
    (
      await pool.query<{ n: number }>(
        `SELECT coalesce(sum(n), 0)::int8 AS n FROM (
           SELECT n FROM status_counts WHERE kind = 'order' AND status = 'pending'
           UNION ALL SELECT n FROM status_count_deltas WHERE kind = 'order' AND status = 'pending') c`,
      )
    ).rows[0]!.n;

  it("behavior: two SERIALIZABLE creates in the same hour both commit (they shared counter rows before)", async () => {
    const pool = await freshPool();
    await migratePostgres(pool);
    const [a, b] = [await pool.connect(), await pool.connect()];
    try {
      await a.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await b.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await a.query("SELECT 1"); // both snapshots taken before either commits
      await b.query("SELECT 1");
      await insertOrder(a, "o1", hour);
      await insertOrder(b, "o2", hour + 1); // would wait for a's lock on the counter rows
      await a.query("COMMIT");
      await b.query("COMMIT"); // and then fail 40001 here
    } finally {
      a.release();
      b.release();
    }
    expect(await pendingCount(pool)).toBe(2);
  });

  it("behavior: a fold concurrent with a writer counts that writer's delta once, at the next fold", async () => {
    const pool = await freshPool();
    await migratePostgres(pool);
    const fold = async (client: pg.ClientBase | pg.Pool) => {
      for (const sql of COUNTER_FOLDS) await client.query(sql);
    };
    await insertOrder(pool, "o1", hour);
    const [writer, folder] = [await pool.connect(), await pool.connect()];
    try {
      await writer.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await insertOrder(writer, "o2", hour); // its delta is not committed while the fold runs
      await folder.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await fold(folder);
      await folder.query("COMMIT");
      expect(await pendingCount(pool)).toBe(1);
      await writer.query("COMMIT");
    } finally {
      writer.release();
      folder.release();
    }
    expect(await pendingCount(pool)).toBe(2);
    expect((await pool.query("SELECT count(*)::int8 AS n FROM status_count_deltas")).rows[0].n).toBe(1);
    await fold(pool);
    expect((await pool.query("SELECT count(*)::int8 AS n FROM status_count_deltas")).rows[0].n).toBe(0);
    const rows = await pool.query("SELECT status, n FROM status_counts WHERE kind = 'order'");
    expect(rows.rows).toEqual([{ status: "pending", n: 2 }]);
    const hours = await pool.query("SELECT hour, n FROM hourly_counts WHERE kind = 'order'");
    expect(hours.rows).toEqual([{ hour: hour / 3_600_000, n: 2 }]);
  });
});

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}
