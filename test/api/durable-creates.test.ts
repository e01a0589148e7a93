// Group-committed creates under synchronous=FULL: the commit runs with synchronous=NORMAL and the
// WAL is fdatasync'ed off the event loop before anyone is answered (src/api/server.ts).
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";

const order = (id: string, over: Record<string, unknown> = {}) => ({
  merchant_order_id: id,
  amount: "100",
  currency: "USD",
  callback_url: "http://127.0.0.1:9/hook",
  ...over,
});

describe("group-committed creates at synchronous=FULL", () => {
  let dir: string;
  let dbPath: string;
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "depositd-durable-"));
    dbPath = join(dir, "d.sqlite");
    t = await startApi(testConfig(), { pool: 20, now: c.now, dbPath, synchronous: "FULL" });
  });
  afterEach(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("default: concurrent creates are answered 201 with exclusive addresses, stored, and the connection stays FULL", async () => {
    const rs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => t.call("POST", "/v1/orders", order(`D-${i}`))),
    );
    expect(rs.map((r) => r.status)).toEqual(Array(12).fill(201));
    const addresses = rs.map((r) => r.body.options[0].address as string);
    expect(new Set(addresses).size).toBe(12);
    expect(t.db.pragma("synchronous", { simple: true })).toBe(2);
    // what was answered is in the file, as another connection reads it
    const other = openDatabase(dbPath, { migrate: false });
    try {
      const n = other.prepare("SELECT count(*) AS n FROM orders").get() as { n: number };
      expect(n.n).toBe(12);
    } finally {
      other.close();
    }
    // the answer is the stored order, options included, as a read returns it
    const got = await t.call("GET", `/v1/orders/${rs[3]!.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ ...rs[3]!.body, payments: [] });
  });

  it("edge: one batch mixing a create, an idempotent retry and a conflicting body answers each on its own", async () => {
    const first = await t.call("POST", "/v1/orders", order("E-1"));
    expect(first.status).toBe(201);
    const [created, retry, conflict] = await Promise.all([
      t.call("POST", "/v1/orders", order("E-2")),
      t.call("POST", "/v1/orders", order("E-1")),
      t.call("POST", "/v1/orders", order("E-1", { amount: "101" })),
    ]);
    expect(created.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ type: "urn:depositd:problem:conflict", status: 409 });
  });

  it("error: the WAL cannot be synced → 503 unavailable, never 201", async () => {
    const warm = await t.call("POST", "/v1/orders", order("W-1"));
    expect(warm.status).toBe(201);
    unlinkSync(`${dbPath}-wal`); // SQLite keeps writing its open file; the sync cannot open it
    const r = await t.call("POST", "/v1/orders", order("W-2"));
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ type: "urn:depositd:problem:unavailable", status: 503 });
  });
});
