// The PostgreSQL pool and unit of work (src/db/postgres.ts) on a real PostgreSQL 15, two
// connections where a conflict needs two.
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPool,
  parseInt8,
  retryDelayMs,
  retryReason,
  type RetryReason,
  unitOfWork,
} from "../../src/db/postgres.js";
import { createTestDatabase } from "../helpers/postgres.js";

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe("retryReason", () => {
  const table: [string, unknown, boolean, RetryReason | undefined][] = [
    ["serialization failure", pgError("40001"), false, "serialization_failure"],
    ["deadlock", pgError("40P01"), false, "deadlock"],
    ["unique violation, caller did not mark it retryable", pgError("23505"), false, undefined],
    ["unique violation, marked retryable", pgError("23505"), true, "unique_violation"],
    ["foreign key violation", pgError("23503"), true, undefined],
    ["check violation", pgError("23514"), true, undefined],
    ["lock not available (NOWAIT)", pgError("55P03"), true, undefined],
    ["syntax error", pgError("42601"), true, undefined],
    [
      "connection refused (no SQLSTATE)",
      Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
      true,
      undefined,
    ],
    ["a plain Error", new Error("boom"), true, undefined],
    ["not an error", "40001", true, undefined],
    ["null", null, true, undefined],
  ];
  for (const [name, err, unique, want] of table)
    it(`${name} → ${want ?? "not retried"}`, () => expect(retryReason(err, unique)).toBe(want));
});

describe("retryDelayMs", () => {
  it("behavior: grows by powers of two, jittered 0.5–1.5×, capped at 1 s", () => {
    expect(retryDelayMs(1, 10, () => 0)).toBe(5);
    expect(retryDelayMs(1, 10, () => 0.5)).toBe(10);
    expect(retryDelayMs(3, 10, () => 0.5)).toBe(40);
    expect(retryDelayMs(3, 10, () => 0.999)).toBeCloseTo(59.96);
    expect(retryDelayMs(20, 10, () => 0.5)).toBe(1000);
  });
});

describe("parseInt8", () => {
  it("behavior: safe integers as numbers, beyond them an error (never a rounded id)", () => {
    expect(parseInt8("0")).toBe(0);
    expect(parseInt8("-42")).toBe(-42);
    expect(parseInt8("9007199254740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseInt8("9007199254740992")).toThrow(/safe-integer/);
    expect(() => parseInt8("-9223372036854775808")).toThrow(/safe-integer/);
  });
});

describe("on PostgreSQL", () => {
  let pool: pg.Pool;
  let other: pg.Pool;
  beforeAll(async () => {
    const url = await createTestDatabase();
    pool = createPool({ url, pool_size: 4, password: undefined });
    other = createPool({ url, pool_size: 2, password: undefined });
    await pool.query("CREATE TABLE t (id INT PRIMARY KEY, v BIGINT NOT NULL, amount NUMERIC NOT NULL)");
  });
  afterAll(async () => {
    await pool.end();
    await other.end();
  });

  it("default: int8 comes back as a number, NUMERIC as its exact text", async () => {
    const r = await pool.query<{ ms: unknown; amount: unknown; wei: unknown }>(
      "SELECT 1735689600000::int8 AS ms, 12.500::numeric AS amount, '123456789012345678901234567890'::numeric AS wei",
    );
    expect(r.rows[0]).toEqual({ ms: 1735689600000, amount: "12.500", wei: "123456789012345678901234567890" });
    await expect(pool.query("SELECT 9007199254740993::int8 AS big")).rejects.toThrow(/safe-integer/);
  });

  it("behavior: a serialization failure between two connections is retried whole and succeeds", async () => {
    await pool.query("INSERT INTO t (id, v, amount) VALUES (1, 0, '0')");
    const committed: number[] = [];
    const retries: RetryReason[] = [];
    const result = await unitOfWork(
      pool,
      async ({ client, attempt, afterCommit }) => {
        const before = (await client.query<{ v: number }>("SELECT v FROM t WHERE id = 1")).rows[0]!.v;
        afterCommit(() => committed.push(attempt));
        if (attempt === 1) {
          // another instance changes the row after this snapshot was taken and commits first
          await other.query("UPDATE t SET v = v + 100 WHERE id = 1");
        }
        await client.query("UPDATE t SET v = $1 WHERE id = 1", [before + 1]);
        return { attempt, before };
      },
      { isolation: "repeatable read", onRetry: (reason) => retries.push(reason) },
    );
    expect(retries).toEqual(["serialization_failure"]);
    // the second try read the other instance's write: no lost update
    expect(result).toEqual({ attempt: 2, before: 100 });
    expect((await pool.query("SELECT v FROM t WHERE id = 1")).rows[0].v).toBe(101);
    // only the committed try's side effect ran
    expect(committed).toEqual([2]);
  });

  it("behavior: of two units of work in a real deadlock, the victim is retried and both commit", async () => {
    await pool.query("INSERT INTO t (id, v, amount) VALUES (10, 0, '0'), (11, 0, '0')");
    // each holds its first row and waits for the other's (on the first try only)
    let arrived = 0;
    let release!: () => void;
    const bothHoldOne = new Promise<void>((r) => (release = r));
    const retries: RetryReason[] = [];
    const unit = (p: pg.Pool, first: number, second: number) =>
      unitOfWork(
        p,
        async ({ client, attempt }) => {
          await client.query("SET LOCAL deadlock_timeout = '50ms'");
          await client.query("UPDATE t SET v = v + 1 WHERE id = $1", [first]);
          if (attempt === 1) {
            if (++arrived === 2) release();
            await bothHoldOne;
          }
          await client.query("UPDATE t SET v = v + 1 WHERE id = $1", [second]);
          return attempt;
        },
        { onRetry: (reason) => retries.push(reason) },
      );
    const attempts = await Promise.all([unit(pool, 10, 11), unit(other, 11, 10)]);
    expect(retries).toEqual(["deadlock"]);
    expect(attempts.sort()).toEqual([1, 2]);
    const rows = await pool.query("SELECT id, v FROM t WHERE id IN (10, 11) ORDER BY id");
    expect(rows.rows).toEqual([
      { id: 10, v: 2 },
      { id: 11, v: 2 },
    ]);
  });

  it("error: a rollback runs no afterCommit and writes nothing", async () => {
    let ran = false;
    await expect(
      unitOfWork(pool, async ({ client, afterCommit }) => {
        await client.query("INSERT INTO t (id, v, amount) VALUES (2, 7, '1')");
        afterCommit(() => {
          ran = true;
        });
        throw new Error("the decision failed");
      }),
    ).rejects.toThrow("the decision failed");
    expect(ran).toBe(false);
    expect((await pool.query("SELECT count(*)::int8 AS n FROM t WHERE id = 2")).rows[0].n).toBe(0);
  });

  it("behavior: a unique violation is retried only where the caller marks it so", async () => {
    // attempt 1 inserts a key another connection inserted first; attempt 2 reads theirs
    const create = (retryUniqueViolation: boolean, id: number) =>
      unitOfWork(
        pool,
        async ({ client, attempt }) => {
          const found = await client.query<{ v: number }>("SELECT v FROM t WHERE id = $1", [id]);
          if (found.rowCount) return { made: false, v: found.rows[0]!.v, attempt };
          if (attempt === 1) await other.query("INSERT INTO t (id, v, amount) VALUES ($1, 9, '0')", [id]);
          await client.query("INSERT INTO t (id, v, amount) VALUES ($1, 1, '0')", [id]);
          return { made: true, v: 1, attempt };
        },
        { retryUniqueViolation },
      );
    await expect(create(false, 3)).rejects.toMatchObject({ code: "23505" });
    await expect(create(true, 4)).resolves.toEqual({ made: false, v: 9, attempt: 2 });
  });

  it("error: tries are bounded; the last error is the caller's", async () => {
    let tries = 0;
    await expect(
      unitOfWork(
        pool,
        async () => {
          tries++;
          throw pgError("40P01");
        },
        { maxAttempts: 3, backoffMs: 1 },
      ),
    ).rejects.toMatchObject({ code: "40P01" });
    expect(tries).toBe(3);
    // every client went back to the pool
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});
