// The counts /metrics and /healthz serve come from counters the database keeps (0005_counters.sql):
// zeros for every status from the start, equal to a recount after real work, and /healthz neither
// writes nor scans per request.
import { PgDatabase } from "../../src/db/pg-sync.js";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Transfer } from "../../src/chains/types.js";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { ORDER_STATUSES, PAYMENT_STATUSES } from "../../src/core/reconcile.js";
import { startDaemon } from "../../src/daemon.js";
import { openDatabase } from "../../src/db/index.js";
import { countStatements } from "../../src/ledger/statements.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { registerMetrics } from "../../src/metrics.js";
import { importPoolFile } from "../../src/pool/index.js";
import { clock, evmPoolText, testCommon, testConfig, testDatabase } from "../helpers/config.js";

const hash = (n: number) => "0x" + n.toString(16).padStart(64, "0");

describe("status counters", () => {
  it("default: depositd_orders and depositd_payments have a zero series for every status before any row", async () => {
    const config = testConfig();
    const common = { ...testCommon(config), metrics: new Registry() };
    const db = testDatabase();
    registerMetrics(common, db, () => []);
    const text = await common.metrics.metrics();
    for (const status of ORDER_STATUSES) expect(text).toContain(`depositd_orders{status="${status}"} 0`);
    for (const status of PAYMENT_STATUSES)
      expect(text).toContain(`depositd_payments{chain="anvil",status="${status}"} 0`);
    db.close();
  });

  it("behavior: after creates, payments, a cancel and expiry the counters equal a recount, and metrics show them", async () => {
    const c = clock();
    const config = testConfig();
    const common = { ...testCommon(config, c.now), metrics: new Registry() };
    const db = testDatabase();
    const ledger = createLedger(db, common, createCatalog(config));
    registerMetrics(common, db, () => []);
    importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(6).text, c.now());
    ledger.initCursor("anvil", 1, c.now());
    const orders = [0, 1, 2, 3].map(
      (i) =>
        ledger.createOrder(
          "shop",
          { merchant_order_id: `K-${i}`, amount: "3", currency: "ETH", callback_url: "http://127.0.0.1:9/" },
          c.now(),
        ).order,
    );
    const pay = (block: number, to: string, wei: bigint, n: number): Transfer => ({
      txid: hash(0xaa00 + n),
      index: 0,
      asset: "ETH",
      address: to.toLowerCase(),
      amount: wei,
      block: { number: block, hash: hash(block), timestamp: c.now() },
    });
    const scan = (block: number, transfers: Transfer[], head = block) =>
      ledger.recordScan(
        {
          chain: "anvil",
          heads: { head },
          blocks: [{ number: block, hash: hash(block), parentHash: hash(block - 1), timestamp: c.now() }],
          transfers,
          keepBlocks: 64,
        },
        c.now(),
      );
    scan(1, [pay(1, orders[0]!.options[0]!.address, 3n * 10n ** 18n, 1)]);
    scan(2, [pay(2, orders[1]!.options[0]!.address, 10n ** 18n, 2)]);
    ledger.cancelOrder("shop", orders[2]!.id, c.now());
    c.advance(31 * 60_000);
    ledger.tick(c.now());
    const recount = db
      .prepare(
        `SELECT 'order' AS kind, '' AS chain, status, count(*) AS n FROM orders GROUP BY status
         UNION ALL SELECT 'payment', chain, status, count(*) FROM payments GROUP BY chain, status ORDER BY 1, 2, 3`,
      )
      .all();
    expect(recount.length).toBeGreaterThanOrEqual(4);
    // what the readers see before a fold (PostgreSQL: counters plus pending deltas), then the table
    const read = (kind: string) =>
      countStatements(db)
        .statusCounts.all(kind)
        .filter((r) => r.n !== 0)
        .map((r) => ({ kind, ...r }));
    const byKey = (a: { kind: string; chain: string; status: string }, b: typeof a) =>
      `${a.kind}/${a.chain}/${a.status}` < `${b.kind}/${b.chain}/${b.status}` ? -1 : 1;
    expect([...read("order"), ...read("payment")].sort(byKey)).toEqual(
      [...(recount as { kind: string; chain: string; status: string; n: number }[])].sort(byKey),
    );
    ledger.foldCounters();
    expect(
      db.prepare("SELECT kind, chain, status, n FROM status_counts WHERE n != 0 ORDER BY 1, 2, 3").all(),
    ).toEqual(recount);
    const text = await common.metrics.metrics();
    expect(text).toContain('depositd_orders{status="paid"} 1');
    expect(text).toContain('depositd_orders{status="cancelled"} 1');
    expect(text).toContain('depositd_payments{chain="anvil",status="confirmed"} 2');
    expect(text).toContain('depositd_orders{status="pending"} 0');
    db.close();
  });
});

describe("/healthz", () => {
  it("behavior: a GET writes nothing; the write probe runs on the timer", async () => {
    const c = clock();
    const config = testConfig();
    const common = { ...testCommon(config, c.now), metrics: new Registry() };
    const daemon = await startDaemon(common, { noTimers: true, noDelivery: true, manualWatchers: true });
    try {
      // SQLite counts the rows its connection changed; on PostgreSQL the writing statements sent
      const writes = { n: 0 };
      if (daemon.db instanceof PgDatabase) {
        const db = daemon.db;
        const query = db.query.bind(db);
        db.query = (text, ...rest) => {
          if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(text)) writes.n++;
          return query(text, ...rest);
        };
      }
      const changes = () =>
        daemon.db instanceof PgDatabase
          ? writes
          : (daemon.db.prepare("SELECT total_changes() AS n").get() as { n: number });
      const before = changes().n;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`http://${daemon.address.host}:${daemon.address.port}/healthz`);
        const body = (await res.json()) as { checks: { database: { ok: boolean } } };
        expect(body.checks.database.ok).toBe(true);
      }
      expect(changes().n).toBe(before);
    } finally {
      await daemon.stop();
    }
  });
});

describe("free-address lookup", () => {
  it("behavior: each pool kind's lookup reads its own partial index (cost flat in used addresses)", () => {
    // SQLite's planner (engine-only: PostgreSQL plans from its statistics)
    const db = openDatabase(":memory:");
    const plan = (sql: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[])
        .map((r) => r.detail)
        .join("; ");
    expect(
      plan(
        "SELECT id FROM pool_addresses WHERE chain = ? AND bound = 0 AND used = 0 ORDER BY id LIMIT 1",
        "x",
      ),
    ).toMatch(/USING (COVERING )?INDEX pool_addresses_unused/);
    expect(
      plan(
        "SELECT id FROM pool_addresses WHERE chain = ? AND bound = 0 AND rest_until <= ? ORDER BY rest_until, id LIMIT 1",
        "s",
        0,
      ),
    ).toMatch(/USING (COVERING )?INDEX pool_addresses_rested/);
    db.close();
  });
});
