// Migration 0003 on a database with orders made before it: their options get the static source
// (or none, for an order in the asset itself) and their order's creation time as rate_at.
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { migrate, readMigrations } from "../../src/db/index.js";

describe("migration 0003 (rate sources)", () => {
  it("behavior: backfills options created before it", () => {
    const db = new Database(":memory:");
    const all = readMigrations();
    migrate(
      db,
      all.filter((m) => m.version < 3),
    );
    const created = 1_700_000_000_000;
    db.prepare(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
         expires_at, late_until)
       VALUES (?, 'shop', ?, 'pending', '1000', ?, 2, '0', '0', 'http://x', 'h', ?, ?, ?, ?)`,
    ).run("ord_1", "M-1", "USD", created, created, created + 1, created + 2);
    db.prepare(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at,
         expires_at, late_until)
       VALUES (?, 'shop', ?, 'pending', '1000', ?, 6, '0', '0', 'http://x', 'h', ?, ?, ?, ?)`,
    ).run("ord_2", "M-2", "USDT", created + 5, created, created + 1, created + 2);
    const opt = db.prepare(
      "INSERT INTO order_options (order_id, asset, chain, address, amount_due, decimals, rate) VALUES (?, ?, 'eth', ?, '1', 18, ?)",
    );
    opt.run("ord_1", "ETH", "0xa", "3000");
    opt.run("ord_2", "USDT", "0xb", "1");
    expect(migrate(db, all)).toContain(3);
    expect(
      db.prepare("SELECT order_id, rate_sources, rate_at FROM order_options ORDER BY order_id").all(),
    ).toEqual([
      { order_id: "ord_1", rate_sources: '[{"source":"static","price":"3000"}]', rate_at: created },
      { order_id: "ord_2", rate_sources: "[]", rate_at: created + 5 },
    ]);
    db.close();
  });
});
