// Regression tests for what a probe of the SQLite-era statements on PostgreSQL found, each with two
// connections (two instances) on a real PostgreSQL 15: the naive statement fails as the probe saw,
// and the ledger's and pools' own statements (their PostgreSQL text, as src/db/pg-sync.ts sends
// it) do not.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { openDatabase } from "../../src/db/index.js";
import { toPgPlaceholders } from "../../src/db/pg-sync.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { createStatements } from "../../src/ledger/statements.js";
import { importPoolFile } from "../../src/pool/index.js";
import { clock, evmPoolText, testCommon, testConfig } from "../helpers/config.js";
import { createPool, migratePostgres, unitOfWork } from "../../src/db/postgres.js";
import { COUNTER_FOLDS } from "../../src/db/counters.js";
import { poolStatements } from "../../src/pool/statements.js";
import { createTestDatabase } from "../helpers/postgres.js";

let a: pg.Pool; // instance A
let b: pg.Pool; // instance B
/** the statements the daemon runs, as PostgreSQL receives them ($n placeholders) */
let ledger: Record<
  "freeUnused" | "bind" | "markBound" | "orderById" | "insertEvent" | "bumpSeq" | "poolAddresses",
  string
>;
let poolSql: Record<"initStatic" | "insertStatic" | "lockState", string>;
beforeAll(async () => {
  const url = await createTestDatabase();
  a = createPool({ url, pool_size: 4, password: undefined });
  b = createPool({ url, pool_size: 4, password: undefined });
  await migratePostgres(a);
  const db = openDatabase({
    engine: "postgres",
    url,
    pool_size: 1,
    password: undefined,
    lease_ttl_ms: 10_000,
  });
  try {
    const text = (st: { source: string }) => toPgPlaceholders(st.source).text;
    const l = createStatements(db);
    const p = poolStatements(db);
    ledger = {
      freeUnused: text(l.freeUnused),
      bind: text(l.bind),
      markBound: text(l.markBound),
      orderById: text(l.orderById),
      insertEvent: text(l.insertEvent),
      bumpSeq: text(l.bumpSeq),
      poolAddresses: text(l.poolAddresses),
    };
    poolSql = {
      initStatic: text(p.initStatic),
      insertStatic: text(p.insertStatic),
      lockState: text(p.lockState),
    };
  } finally {
    db.close();
  }
});
afterAll(async () => {
  await a.end();
  await b.end();
});

// a failed test must not leave a transaction holding locks for the next one
const openClients = new Set<pg.PoolClient>();
afterEach(async () => {
  for (const c of openClients) {
    await c.query("ROLLBACK").catch(() => undefined);
    c.release();
  }
  openClients.clear();
});

/** A transaction left open on its own connection, to interleave two by hand. */
async function open(pool: pg.Pool) {
  const client = await pool.connect();
  openClients.add(client);
  await client.query("BEGIN");
  const end = async (sql: string) => {
    await client.query(sql);
    openClients.delete(client);
    client.release();
  };
  return {
    q: <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => client.query<T>(sql, params),
    commit: () => end("COMMIT"),
    rollback: () => end("ROLLBACK"),
  };
}

async function addOrders(prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (const id of ids)
    await a.query(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
         expires_at, late_until, checkout_token)
       VALUES ($1, 'shop', $1, 'pending', '100', 'USD', 2, '0', '0', 'http://x', 'h', 0, 0, 0, 0, $1)`,
      [id],
    );
  return ids;
}

async function addAddresses(chain: string, n: number): Promise<void> {
  await a.query(poolSql.initStatic, [chain]);
  for (let i = 0; i < n; i++)
    await a.query(poolSql.insertStatic, [chain, `${chain}-${i}`, `${chain}-${i}`, 0]);
}

type Free = { id: number; address: string; display: string };
const pending = <T>(p: Promise<T>) => {
  const state = { settled: false };
  void p.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
};
const tick = (ms = 100) => new Promise((r) => setTimeout(r, ms));

describe("(a) handing out a free address", () => {
  // the SQLite statement as it is: one writer at a time makes it safe there, not here
  const naive = `SELECT id, address, display FROM pool_addresses
    WHERE chain = $1 AND bound = 0 AND used = 0 ORDER BY id LIMIT 1`;

  it("error (the probe): without a lock two creates pick the same row; the second hits the live-binding index", async () => {
    await addAddresses("na", 3);
    const [o1, o2] = await addOrders("na-o", 2);
    const t1 = await open(a);
    const t2 = await open(b);
    const p1 = (await t1.q<Free>(naive, ["na"])).rows[0]!;
    const p2 = (await t2.q<Free>(naive, ["na"])).rows[0]!;
    expect(p2.address).toBe(p1.address);
    await t1.q(ledger.bind, ["na", p1.address, o1, 0]);
    await t1.q(ledger.markBound, [p1.id]);
    await t1.commit();
    await expect(t2.q(ledger.bind, ["na", p2.address, o2, 0])).rejects.toMatchObject({
      code: "23505",
      constraint: "bindings_one_live_per_address",
    });
    await t2.rollback();
  });

  it("error (the probe): plain FOR UPDATE makes every create wait for the one before it to commit", async () => {
    await addAddresses("fu", 3);
    const t1 = await open(a);
    const t2 = await open(b);
    const p1 = (await t1.q<Free>(`${naive} FOR UPDATE`, ["fu"])).rows[0]!;
    const second = t2.q<Free>(`${naive} FOR UPDATE`, ["fu"]);
    const waiting = pending(second);
    await tick();
    expect(waiting.settled).toBe(false); // creates on one chain, one at a time across all instances
    await t1.q(ledger.markBound, [p1.id]);
    await t1.commit();
    expect((await second).rows[0]!.address).not.toBe(p1.address);
    await t2.rollback();
  });

  it("behavior: with SKIP LOCKED two concurrent creates get different addresses, never a violation", async () => {
    await addAddresses("sk", 30);
    const [o1, o2] = await addOrders("sk-o", 2);
    const t1 = await open(a);
    const t2 = await open(b);
    const p1 = (await t1.q<Free>(ledger.freeUnused, ["sk"])).rows[0]!;
    const p2 = (await t2.q<Free>(ledger.freeUnused, ["sk"])).rows[0]!; // does not wait for t1
    expect(p2.address).not.toBe(p1.address);
    // both bind before either commits: markBound's pool counter trigger appends a delta
    // (migrations/postgres/0013), so neither waits on a counter row the other holds
    for (const [t, p, o] of [
      [t1, p1, o1],
      [t2, p2, o2],
    ] as const) {
      await t.q(ledger.bind, ["sk", p.address, o, 0]);
      await t.q(ledger.markBound, [p.id]);
    }
    await t1.commit();
    await t2.commit();

    // and at load: 24 creates, 12 from each instance at once
    const orders = await addOrders("sk-load", 24);
    const retries: string[] = [];
    const create = (pool: pg.Pool, order: string) =>
      unitOfWork(
        pool,
        async ({ client }) => {
          const free = (await client.query<Free>(ledger.freeUnused, ["sk"])).rows[0];
          if (!free) throw new Error("pool exhausted");
          await client.query(ledger.bind, ["sk", free.address, order, 0]);
          await client.query(ledger.markBound, [free.id]);
          return free.address;
        },
        { onRetry: (reason) => retries.push(reason) },
      );
    const got = await Promise.all(orders.map((o, i) => create(i % 2 ? b : a, o)));
    expect(new Set(got).size).toBe(24);
    expect(retries).toEqual([]);
    const live = await a.query(
      "SELECT count(*)::int8 AS n FROM bindings WHERE chain = 'sk' AND released_at IS NULL",
    );
    expect(live.rows[0].n).toBe(26);
    for (const fold of COUNTER_FOLDS) await a.query(fold);
    const counts = await a.query("SELECT total, bound FROM pool_counts WHERE chain = 'sk'");
    expect(counts.rows[0]).toEqual({ total: 30, bound: 26 });
  });

  it("behavior: the ledger's create (READ COMMITTED) and another instance's open SERIALIZABLE create both commit", async () => {
    // Under SERIALIZABLE on both sides the two scans of the same free rows and writes to them form
    // a read/write cycle, and the create that commits last fails 40001 (the instances bench ran
    // out of retries on dozens of creates). handOutTransaction runs creates at READ COMMITTED.
    const c = clock();
    const config = testConfig();
    const url = await createTestDatabase();
    const setup = createPool({ url, pool_size: 1, password: undefined });
    await migratePostgres(setup).finally(() => setup.end());
    const db = openDatabase({
      engine: "postgres",
      url,
      pool_size: 2,
      password: undefined,
      lease_ttl_ms: 10_000,
    });
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      const mine = createLedger(db, testCommon(config, c.now), createCatalog(config));
      importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(4).text, c.now());
      // the other instance's create, with the ledger's own statements, left open
      await other.query("BEGIN ISOLATION LEVEL SERIALIZABLE");
      await other.query(
        `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
           underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
           expires_at, late_until, checkout_token)
         VALUES ('ord-other', 'shop', 'other', 'pending', '100', 'USD', 2, '0', '0', 'http://x', 'h', 0, 0, 0, 0, 't')`,
      );
      const theirs = (await other.query<Free>(ledger.freeUnused, ["anvil"])).rows[0]!;
      await other.query(ledger.markBound, [theirs.id]);
      await other.query(ledger.bind, ["anvil", theirs.address, "ord-other", 0]);

      const order = mine.createOrder(
        "shop",
        { merchant_order_id: "mine", amount: "3", currency: "ETH", callback_url: "http://127.0.0.1:9/" },
        c.now(),
      ).order;
      await other.query("COMMIT");
      const bound = await other.query<{ order_id: string; address: string }>(
        "SELECT order_id, address FROM bindings WHERE chain = 'anvil' AND released_at IS NULL ORDER BY order_id",
      );
      expect(bound.rows.map((r) => r.order_id).sort()).toEqual([order.id, "ord-other"].sort());
      expect(new Set(bound.rows.map((r) => r.address)).size).toBe(2);
    } finally {
      await other.end();
      db.close();
    }
  });
});

describe("(b) per-order seq", () => {
  const appendEvent = async (client: pg.ClientBase, order: string, event: string) => {
    const row = (await client.query<{ event_seq: number }>(ledger.orderById, [order])).rows[0]!;
    const seq = row.event_seq + 1; // what the reconcile decided, from the row it read
    await client.query(ledger.insertEvent, [
      event,
      order,
      seq,
      "order.paid",
      null,
      null,
      "{}",
      "pending",
      0,
      0,
    ]);
    const bumped = (await client.query<{ event_seq: number }>(ledger.bumpSeq, [1, order])).rows[0]!;
    return { seq, bumped: bumped.event_seq };
  };

  it("error (the probe): seq from an order row read before it is locked collides", async () => {
    const [order] = await addOrders("seq-naive", 1);
    const t1 = await open(a);
    const t2 = await open(b);
    const r1 = await t1.q<{ event_seq: number }>("SELECT * FROM orders WHERE id = $1", [order]);
    const r2 = await t2.q<{ event_seq: number }>("SELECT * FROM orders WHERE id = $1", [order]);
    expect([r1.rows[0]!.event_seq, r2.rows[0]!.event_seq]).toEqual([0, 0]);
    const insert = (t: typeof t1, id: string) =>
      t.q(ledger.insertEvent, [id, order, 1, "order.paid", null, null, "{}", "pending", 0, 0]);
    await insert(t1, "evt-n1");
    await t1.commit();
    await expect(insert(t2, "evt-n2")).rejects.toMatchObject({ code: "23505" });
    await t2.rollback();
  });

  it("behavior: as the daemon runs them (SERIALIZABLE, retried whole), two concurrent appenders produce 1..n", async () => {
    const [order] = await addOrders("seq-locked", 1);
    const appender = (pool: pg.Pool, name: string) =>
      (async () => {
        const out: { seq: number; bumped: number }[] = [];
        for (let i = 0; i < 15; i++)
          out.push(
            await unitOfWork(pool, ({ client }) => appendEvent(client, order!, `evt-${name}-${i}`), {
              // as src/db/pg-sync.ts runs a unit: a unique violation on (order, seq) is retried too
              isolation: "serializable",
              retryUniqueViolation: true,
              maxAttempts: 30,
            }),
          );
        return out;
      })();
    const [fromA, fromB] = await Promise.all([appender(a, "a"), appender(b, "b")]);
    for (const r of [...fromA!, ...fromB!]) expect(r.bumped).toBe(r.seq);
    const seqs = (
      await a.query<{ seq: number }>("SELECT seq FROM events WHERE order_id = $1 ORDER BY seq", [order])
    ).rows;
    expect(seqs.map((s) => s.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});

describe("(c) the watched-set refresh", () => {
  const refresh = async (chain: string, last: number) => {
    const rows = (await a.query<{ id: number; address: string }>(ledger.poolAddresses, [chain, last])).rows;
    return { rows: rows.map((r) => r.address), last: rows.length ? rows[rows.length - 1]!.id : last };
  };
  const insert = (t: Awaited<ReturnType<typeof open>>, chain: string, address: string) =>
    t.q(poolSql.insertStatic, [chain, address, address, 0]);

  // A transaction handed a lower id can commit after one handed a higher id: nothing orders the
  // adders' commits (the pool counter trigger appends a delta, migrations/postgres/0013, and
  // queues no one). A BEFORE INSERT trigger that sleeps for addresses named slow-* widens the
  // window between "id handed out" and commit so the test sees it every time (a backend
  // descheduled there does the same, rarely).
  beforeAll(async () => {
    await a.query(`CREATE FUNCTION test_slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.address LIKE 'slow-%' THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$`);
    await a.query(`CREATE TRIGGER test_slow_insert BEFORE INSERT ON pool_addresses
      FOR EACH ROW EXECUTE FUNCTION test_slow_insert()`);
  });

  it("error (the probe): ids that commit out of order make `id > last` skip one forever", async () => {
    await a.query(poolSql.initStatic, ["wn"]);
    const seen: string[] = [];
    let last = 0;
    const t1 = await open(a);
    const t2 = await open(b);
    const early = insert(t1, "wn", "slow-early"); // handed the lower id, then slow…
    await tick();
    await insert(t2, "wn", "late");
    await t2.commit(); // …so the higher one commits first
    let r = await refresh("wn", last);
    seen.push(...r.rows);
    last = r.last;
    await early;
    await t1.commit();
    r = await refresh("wn", last);
    seen.push(...r.rows);
    expect(seen).toEqual(["late"]); // slow-early is in the pool and never watched
    const all = await a.query("SELECT address FROM pool_addresses WHERE chain = 'wn' ORDER BY id");
    expect(all.rows.map((x) => x.address)).toEqual(["slow-early", "late"]);
  });

  it("behavior: adders that lock the chain's pool_state first are never skipped", async () => {
    await a.query(poolSql.initStatic, ["wf"]);
    const seen: string[] = [];
    let last = 0;
    const poll = async () => {
      const r = await refresh("wf", last);
      seen.push(...r.rows);
      last = r.last;
    };
    // the same interleaving as above: the second adder now waits for the first to commit
    const t1 = await open(a);
    const t2 = await open(b);
    await t1.q(poolSql.lockState, ["wf"]);
    const first = insert(t1, "wf", "slow-first");
    await tick(20);
    const second = (async () => {
      await t2.q(poolSql.lockState, ["wf"]);
      await insert(t2, "wf", "second");
      await t2.commit();
    })();
    const waiting = pending(second);
    await tick();
    expect(waiting.settled).toBe(false);
    await poll();
    await first;
    await t1.commit();
    await second;
    await poll();
    expect(seen).toEqual(["slow-first", "second"]);

    // and at load: two instances adding 40 addresses one per transaction while a watcher refreshes
    const added: string[] = ["slow-first", "second"];
    let adding = true;
    const adder = (pool: pg.Pool, name: string) =>
      (async () => {
        for (let i = 0; i < 20; i++) {
          const address = `${name}-${i}`;
          await unitOfWork(pool, async ({ client }) => {
            await client.query(poolSql.lockState, ["wf"]);
            await client.query(poolSql.insertStatic, ["wf", address, address, 0]);
          });
          added.push(address);
        }
      })();
    const watcher = (async () => {
      while (adding) {
        await poll();
        await tick(2);
      }
      await poll();
    })();
    await Promise.all([adder(a, "a"), adder(b, "b")]);
    adding = false;
    await watcher;
    expect([...seen].sort()).toEqual([...added].sort());
  });
});
