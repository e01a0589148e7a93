// The console's order filters and its orders-by-status aggregate on a real SQLite file: every
// filter statement walks an index (EXPLAIN QUERY PLAN), the pages agree with a plain filter of all
// rows, 0011's backfill and triggers keep order_status_hours and order_chains equal to what a scan
// would count, and a bad query names its field.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_STATUSES, type OrderStatus } from "../../src/core/reconcile.js";
import { type OrderFilter, filterOrders } from "../../src/console/data.js";
import { parseOrderFilter } from "../../src/console/index.js";
import { consoleStatements } from "../../src/console/statements.js";
import { type DB, migrate, openDatabase, readMigrations } from "../../src/db/index.js";
import { seededRandom } from "../helpers/flaky-proxy.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";
import { tempDir } from "../chaos/harness.js";

const tmp = tempDir("console-filters");
let db: DB;
const HOUR = 3_600_000;
const T0 = TEST_EPOCH_MS;
const MERCHANTS = ["shop", "other"];
const CHAINS = ["eth", "tron", "btc"];

interface Row {
  id: string;
  merchant: string;
  status: OrderStatus;
  created_at: number;
  chains: string[];
}
const rows: Row[] = [];

beforeAll(() => {
  // half the orders exist before 0011 (its backfill counts them), half after (its triggers do)
  db = openDatabase(join(tmp.dir, "f.sqlite"), { synchronous: "NORMAL", migrate: false });
  migrate(
    db,
    readMigrations().filter((m) => m.version < 11),
  );
  const random = seededRandom(1911);
  const order = db.prepare(
    `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
      underpaid_tolerance, overpaid_tolerance, paid_amount, callback_url, request_hash, created_at, updated_at,
      expires_at, late_until)
     VALUES (@id, @merchant, @id, 'pending', '1000', 'USD', 2, '0', '0', '0', 'https://shop.example/cb', 'h',
      @created_at, @created_at, @created_at + 3600000, @created_at + 7200000)`,
  );
  const option = db.prepare(
    `INSERT INTO order_options (order_id, asset, chain, address, amount_due, decimals, rate)
     VALUES (?, ?, ?, ?, '1', 18, '1')`,
  );
  const status = db.prepare(`UPDATE orders SET status = ? WHERE id = ?`);
  const insert = db.transaction((first: number, end: number) => {
    for (let i = first; i < end; i++) {
      // several orders share a millisecond: the cursor's id breaks the tie
      const created_at = T0 - Math.floor(random() * 9 * 24) * HOUR - (i % 7);
      const id = `ord_${String(i).padStart(6, "0")}`;
      const r: Row = {
        id,
        merchant: MERCHANTS[Math.floor(random() * 2)]!,
        status: "pending",
        created_at,
        chains: CHAINS.filter(() => random() < 0.5),
      };
      if (r.chains.length === 0) r.chains.push("eth");
      order.run(r);
      // two options on one chain list the order once
      r.chains.forEach((c, k) => option.run(id, `A${k}`, c, `addr-${i}-${k}`));
      if (r.chains[0] === "eth" && random() < 0.3) option.run(id, "B", "eth", `addr-${i}-b`);
      // statuses move after the insert, as the ledger moves them
      const final = ORDER_STATUSES[Math.floor(random() * ORDER_STATUSES.length)]!;
      if (final !== "pending") {
        if (random() < 0.5) status.run("processing", id);
        status.run(final, id);
      }
      r.status = final;
      rows.push(r);
    }
  });
  insert(0, 300);
  expect(migrate(db).filter((v) => v <= 11)).toEqual([11]);
  insert(300, 600);
});

afterAll(() => {
  db.close();
  tmp.remove();
});

const newestFirst = (a: Row, b: Row) =>
  b.created_at - a.created_at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

function expected(f: OrderFilter): string[] {
  return rows
    .filter(
      (r) =>
        (!f.status || r.status === f.status) &&
        (!f.merchant || r.merchant === f.merchant) &&
        (!f.chain || r.chains.includes(f.chain)) &&
        (f.from === null || r.created_at >= f.from) &&
        (f.to === null || r.created_at < f.to),
    )
    .sort(newestFirst)
    .map((r) => r.id);
}

/** every page, following the cursor, joined */
function allPages(f: OrderFilter, limit: number): string[] {
  const out: string[] = [];
  let before = null as OrderFilter["before"];
  for (let n = 0; n < 1000; n++) {
    const page = filterOrders(db, { ...f, before }, limit);
    expect(page.capped).toBe(false);
    expect(page.rows.length).toBeLessThanOrEqual(limit);
    out.push(...page.rows.map((r) => r.id));
    if (!page.next) return out;
    const [at, id] = page.next.split(".");
    before = { at: Number(at), id: id! };
  }
  throw new Error("paging did not end");
}

describe("the console's order filters", () => {
  it("behavior: every filter statement searches an index; none scans orders or order_options", () => {
    const s = consoleStatements(db);
    const params = {
      status: "paid",
      merchant: "shop",
      chain: "eth",
      from: 0,
      to: T0,
      bc: T0,
      bid: "~",
      limit: 51,
      scan: 20_000,
    };
    for (const st of [
      s.filteredAll,
      s.filteredByStatus,
      s.filteredByMerchant,
      s.filteredByMerchantStatus,
      s.filteredOnChain,
      s.walkedOnChain,
    ]) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${st.source}`).all(params) as { detail: string }[])
        .map((r) => r.detail)
        .join(" | ");
      expect(plan, st.source).not.toMatch(/SCAN (orders|order_options|order_chains)\b/);
      expect(plan, st.source).toMatch(/SEARCH (orders|order_chains) USING/);
      expect(plan, st.source).not.toContain("TEMP B-TREE");
    }
    const hours = (
      db.prepare(`EXPLAIN QUERY PLAN ${s.orderStatusHours.source}`).all(0) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join(" | ");
    expect(hours).toMatch(/SEARCH order_status_hours USING PRIMARY KEY \(hour>\?\)/);
    const dead = (
      db
        .prepare(`EXPLAIN QUERY PLAN ${s.deadWithUrlPrefix.source}`)
        .all({ prefix: "https://shop.example", limit: 2000 }) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join(" | ");
    expect(dead).toContain("SEARCH events USING INDEX events_troubled (state=? AND url>? AND url<?)");
  });

  it("behavior: each combination of status, merchant, chain and time, paged by its cursor, lists exactly the matching orders newest first", () => {
    const windows: [number | null, number | null][] = [
      [null, null],
      [T0 - 3 * 24 * HOUR, null],
      [null, T0 - 2 * 24 * HOUR],
      [T0 - 6 * 24 * HOUR, T0 - 24 * HOUR],
    ];
    let checked = 0;
    for (const status of [null, "paid", "expired"] as (OrderStatus | null)[])
      for (const merchant of [null, "other"])
        for (const chain of [null, "tron", "eth"])
          for (const [from, to] of windows) {
            const f: OrderFilter = { q: "", status, merchant, chain, from, to, before: null };
            const want = expected(f);
            expect(allPages(f, 17), JSON.stringify(f)).toEqual(want);
            if (want.length) checked++;
          }
    expect(checked).toBeGreaterThan(40);
  });

  it("behavior: a search term is narrowed by the filters too", () => {
    const r = rows.find((x) => x.chains.includes("btc") && x.merchant === "other")!;
    const base: OrderFilter = {
      q: r.id,
      status: null,
      merchant: null,
      chain: null,
      from: null,
      to: null,
      before: null,
    };
    expect(filterOrders(db, base).rows.map((x) => x.id)).toEqual([r.id]);
    expect(
      filterOrders(db, { ...base, chain: "btc", merchant: "other", status: r.status }).rows,
    ).toHaveLength(1);
    expect(filterOrders(db, { ...base, merchant: "shop" }).rows).toHaveLength(0);
    expect(filterOrders(db, { ...base, from: r.created_at + 1 }).rows).toHaveLength(0);
    const addr = filterOrders(db, { ...base, q: `addr-${Number(r.id.slice(4))}-0` });
    expect(addr.rows.map((x) => x.id)).toEqual([r.id]);
  });

  it("behavior: 0011's backfill and triggers keep order_status_hours and order_chains equal to a count of the rows", () => {
    const hours = db
      .prepare("SELECT hour, status, n FROM order_status_hours WHERE n > 0 ORDER BY hour, status")
      .all();
    const scan = db
      .prepare(
        "SELECT created_at / 3600000 AS hour, status, count(*) AS n FROM orders GROUP BY 1, 2 ORDER BY 1, 2",
      )
      .all();
    expect(hours).toEqual(scan);
    expect(hours.length).toBeGreaterThan(50);
    const chained = db.prepare("SELECT count(*) FROM order_chains").pluck().get();
    expect(chained).toBe(rows.reduce((a, r) => a + r.chains.length, 0));
  });

  it("behavior: a bad filter names its field and is left out", () => {
    const p = parseOrderFilter(
      { status: "lost", merchant: "nobody", chain: "eth", from: "2026-13-40", to: "2026-11-02", q: " A-1 " },
      MERCHANTS,
      CHAINS,
    );
    expect(p.errors).toEqual([
      expect.stringMatching(/^status: “lost” is not one of pending, /),
      "merchant: “nobody” is not one of shop, other.",
      "from: “2026-13-40” is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC).",
    ]);
    expect(p.filter).toMatchObject({ q: "A-1", status: null, merchant: null, chain: "eth", from: null });
    // "to" includes the day it names (UTC), or the minute
    expect(p.filter.to).toBe(Date.parse("2026-11-03T00:00:00Z"));
    const m = parseOrderFilter({ from: "2026-11-02T10:15", to: "2026-11-02T10:15" }, MERCHANTS, CHAINS);
    expect(m.errors).toEqual([]);
    expect(m.filter.from).toBe(Date.parse("2026-11-02T10:15:00Z"));
    expect(m.filter.to).toBe(Date.parse("2026-11-02T10:16:00Z"));
    expect(parseOrderFilter({ from: "2026-11-03", to: "2026-11-02" }, [], []).errors).toEqual([
      "to: must be after from.",
    ]);
    expect(parseOrderFilter({ before: "x'; DROP" }, [], []).errors).toEqual([
      "before: not a page cursor of this screen.",
    ]);
  });
});
