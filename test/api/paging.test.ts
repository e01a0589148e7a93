// Paging (docs/api.md "Paging"): limit + opaque keyset cursor + next_cursor on every list, stable
// while rows are written between pages.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Transfer } from "../../src/chains/types.js";
import { decodeCursor, encodeCursor } from "../../src/core/paging.js";
import { OPERATOR_KEY, clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const ops = { authorization: `Bearer ${OPERATOR_KEY}` };

describe("cursors", () => {
  it("behavior: a key round-trips; anything else is null", () => {
    const c = encodeCursor([1763805900000, "pay_01JD8X9A0B1C2D3E4F5G6H7J8K"]);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, 2)).toEqual([1763805900000, "pay_01JD8X9A0B1C2D3E4F5G6H7J8K"]);
    expect(decodeCursor(c, 1)).toBeNull(); // another list's arity
    for (const bad of ["", "%%%", "bad", encodeCursor([1, { a: 1 } as never]), encodeCursor([1.5, "x"])])
      expect(decodeCursor(bad, 2), bad).toBeNull();
    expect(decodeCursor(Buffer.from('{"a":1}').toString("base64url"), 1)).toBeNull();
  });
});

describe("paging through the API", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  let block = 0;
  let tx = 0;
  /** n payments to addresses no order holds, in one scanned block */
  function unattributed(n: number) {
    block++;
    const b = { number: block, hash: hash(block), timestamp: c.now() };
    const transfers: Transfer[] = Array.from({ length: n }, () => ({
      txid: hash(0x100000 + ++tx),
      index: 0,
      asset: "USDT-ERC20",
      address: `0x${(0xdead0000 + tx).toString(16).padStart(40, "0")}`,
      amount: 1_000_000n,
      block: b,
    }));
    t.ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: block },
        blocks: [{ ...b, parentHash: hash(block - 1) }],
        transfers,
        keepBlocks: 64,
      },
      c.now(),
    );
  }
  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 30, now: c.now });
  });
  afterAll(() => t.close());

  it("behavior: 2,500 unattributed payments paged while new ones arrive: each seen exactly once", async () => {
    for (let i = 0; i < 5; i++) {
      unattributed(500);
      c.advance(1); // some share a millisecond, some do not
    }
    const before = new Set(
      (t.db.prepare("SELECT id FROM payments WHERE order_id IS NULL").all() as { id: string }[]).map(
        (r) => r.id,
      ),
    );
    expect(before.size).toBe(2500);
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const r = await t.call("GET", `/v1/payments?unattributed=true&limit=97${q}`, undefined, ops);
      expect(r.status).toBe(200);
      expect(r.body.payments.length).toBeLessThanOrEqual(97);
      for (const p of r.body.payments as { id: string }[]) seen.set(p.id, (seen.get(p.id) ?? 0) + 1);
      cursor = r.body.next_cursor;
      pages++;
      // new payments between pages: in the same millisecond as the last ones, and later
      unattributed(7);
      if (pages % 2 === 0) c.advance(1);
    } while (cursor !== null);
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]); // nothing twice
    expect([...before].filter((id) => !seen.has(id))).toEqual([]); // nothing missed
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(2500 / 97));
  });

  it("behavior: an order's payments and events page the same way", async () => {
    const o = await t.call("POST", "/v1/orders", {
      merchant_order_id: "P-1",
      amount: "1000",
      currency: "USD",
      assets: ["USDT-ERC20"],
      callback_url: "http://127.0.0.1:9/hook",
    });
    expect(o.status).toBe(201);
    const address = (o.body.options[0].address as string).toLowerCase();
    block++;
    const b = { number: block, hash: hash(block), timestamp: c.now() };
    t.ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: block },
        blocks: [{ ...b, parentHash: hash(block - 1) }],
        transfers: Array.from({ length: 5 }, (_, i) => ({
          txid: hash(0x900 + i),
          index: 0,
          asset: "USDT-ERC20",
          address,
          amount: 1_000_000n,
          block: b,
        })),
        keepBlocks: 64,
      },
      c.now(),
    );
    const all = async (path: string, field: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await t.call(
          "GET",
          `${path}${path.includes("?") ? "&" : "?"}limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(r.status).toBe(200);
        expect(r.body[field].length).toBeLessThanOrEqual(2);
        ids.push(...(r.body[field] as { id: string }[]).map((x) => x.id));
        cursor = r.body.next_cursor;
      } while (cursor);
      return ids;
    };
    const payments = await all(`/v1/orders/${o.body.id}/payments`, "payments");
    expect(payments).toHaveLength(5);
    expect(new Set(payments).size).toBe(5);
    const events = await all(`/v1/orders/${o.body.id}/events`, "events");
    const stored = t.db.prepare("SELECT id FROM events WHERE order_id = ? ORDER BY seq").all(o.body.id) as {
      id: string;
    }[];
    expect(events).toEqual(stored.map((e) => e.id));
    expect(events.length).toBeGreaterThan(2);
    // `after` and the cursor together: after=2 then pages
    const later = await all(`/v1/orders/${o.body.id}/events?after=2`, "events");
    expect(later).toEqual(stored.slice(2).map((e) => e.id));
  });

  it("error: a cursor that is not this list's is 400 naming cursor, on every list", async () => {
    const o = (await t.call("GET", "/v1/orders?limit=1")).body.orders[0].id as string;
    const eventsCursor = encodeCursor([3]);
    const paymentsCursor = encodeCursor([1, "pay_x"]);
    for (const [path, key] of [
      [`/v1/orders?cursor=${eventsCursor}`, {}],
      [`/v1/orders?cursor=bad!`, {}],
      [`/v1/orders/${o}/payments?cursor=${eventsCursor}`, {}],
      [`/v1/orders/${o}/events?cursor=${paymentsCursor}`, {}],
      [`/v1/payments?unattributed=true&cursor=${encodeCursor(["x", "y"])}`, ops],
    ] as const) {
      const r = await t.call("GET", path, undefined, key);
      expect(r.status, path).toBe(400);
      expect(r.body.errors, path).toEqual([expect.objectContaining({ path: "cursor" })]);
    }
    for (const limit of ["0", "1001", "1.5", "x"]) {
      const r = await t.call("GET", `/v1/orders?limit=${limit}`);
      expect(r.status, limit).toBe(400);
      expect(r.body.errors[0].path).toBe("limit");
    }
  });
});
