import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, OTHER_KEY, clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";

const order = (over: Record<string, unknown> = {}) => ({
  merchant_order_id: "A-1001",
  amount: "100",
  currency: "USD",
  callback_url: "http://127.0.0.1:9/hook",
  metadata: { cart: 7 },
  ...over,
});

function count(db: { prepare(sql: string): { get(): unknown } }, table: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
}

describe("merchant API", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 5, now: c.now });
  });
  afterAll(() => t.close());

  it("default: creates an order with an exclusive address and amounts rounded up", async () => {
    const r = await t.call("POST", "/v1/orders", order());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      merchant_order_id: "A-1001",
      status: "pending",
      amount: "100",
      currency: "USD",
      paid_amount: "0",
      metadata: { cart: 7 },
      created_at: "2026-11-22T10:00:00.000Z",
      expires_at: "2026-11-22T10:30:00.000Z",
      late_until: "2026-11-22T11:30:00.000Z",
    });
    expect(r.body.id).toMatch(/^ord_[0-9A-Z]{26}$/);
    const eth = r.body.options.find((o: { asset: string }) => o.asset === "ETH");
    const usdt = r.body.options.find((o: { asset: string }) => o.asset === "USDT-ERC20");
    expect(eth).toMatchObject({
      chain: "anvil",
      amount_due: "0.033333333333333334",
      rate: "3000",
      paid: "0",
      pending: "0",
    });
    expect(usdt).toMatchObject({ amount_due: "100", rate: "1" });
    // one address per order per chain, shared by both options, from the pool
    expect(eth.address).toBe(usdt.address);
    expect(t.pool).toContain(eth.address);
  });

  it("behavior: re-sending the same create returns the same order with 200; another body is 409", async () => {
    const again = await t.call("POST", "/v1/orders", order());
    expect(again.status).toBe(200);
    const first = await t.call("GET", "/v1/orders?merchant_order_id=A-1001");
    expect(again.body.id).toBe(first.body.id);
    const conflict = await t.call("POST", "/v1/orders", order({ amount: "101" }));
    expect(conflict.status).toBe(409);
    expect(conflict.type).toBe("application/problem+json");
    expect(conflict.body).toMatchObject({ status: 409, type: "urn:depositd:problem:conflict" });
  });

  it("behavior: get, look up, list with cursor pagination", async () => {
    for (let i = 0; i < 3; i++) {
      c.advance(1000);
      expect(
        (
          await t.call(
            "POST",
            "/v1/orders",
            order({ merchant_order_id: `L-${i}`, currency: "ETH", amount: "0.5" }),
          )
        ).status,
      ).toBe(201);
    }
    const page1 = await t.call("GET", "/v1/orders?limit=2");
    expect(page1.status).toBe(200);
    expect(page1.body.orders.map((o: { merchant_order_id: string }) => o.merchant_order_id)).toEqual([
      "L-2",
      "L-1",
    ]);
    const page2 = await t.call("GET", `/v1/orders?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.orders.map((o: { merchant_order_id: string }) => o.merchant_order_id)).toEqual([
      "L-0",
      "A-1001",
    ]);
    expect(page2.body.next_cursor).toBeNull();
    const one = await t.call("GET", `/v1/orders/${page1.body.orders[0].id}`);
    expect(one.body).toMatchObject({ merchant_order_id: "L-2", currency: "ETH", payments: [] });
    expect(one.body.options).toEqual([
      expect.objectContaining({ asset: "ETH", amount_due: "0.5", rate: "1" }),
    ]);
    const pending = await t.call("GET", "/v1/orders?status=pending&limit=500");
    expect(pending.body.orders).toHaveLength(4);
    const cancelled = await t.call("GET", "/v1/orders?status=cancelled");
    expect(cancelled.body.orders).toHaveLength(0);
  });

  it("behavior: another merchant's key cannot see or touch the order", async () => {
    const mine = await t.call("GET", "/v1/orders?merchant_order_id=A-1001");
    const theirs = await t.call("GET", `/v1/orders/${mine.body.id}`, undefined, {
      authorization: `Bearer ${OTHER_KEY}`,
    });
    expect(theirs.status).toBe(404);
    const cancel = await t.call("POST", `/v1/orders/${mine.body.id}/cancel`, undefined, {
      authorization: `Bearer ${OTHER_KEY}`,
    });
    expect(cancel.status).toBe(404);
  });

  it("behavior: cancel writes order.cancelled; accept is 409 for a pending order", async () => {
    const o = await t.call("GET", "/v1/orders?merchant_order_id=L-0");
    const accept = await t.call("POST", `/v1/orders/${o.body.id}/accept`);
    expect(accept.status).toBe(409);
    const r = await t.call("POST", `/v1/orders/${o.body.id}/cancel`);
    expect(r.status).toBe(200);
    expect(r.body.status).toBe("cancelled");
    const events = await t.call("GET", `/v1/orders/${o.body.id}/events`);
    expect(events.body.events.map((e: { type: string; seq: number }) => [e.type, e.seq])).toEqual([
      ["order.cancelled", 1],
    ]);
    const body = events.body.events[0].body;
    expect(body).toMatchObject({
      type: "order.cancelled",
      seq: 1,
      order: { id: o.body.id, status: "cancelled" },
      payment: null,
    });
    const payments = await t.call("GET", `/v1/orders/${o.body.id}/payments`);
    expect(payments.body).toEqual({ payments: [], next_cursor: null });
  });

  it("behavior: assets lists what can be paid, with rates", async () => {
    const r = await t.call("GET", "/v1/assets");
    expect(r.status).toBe(200);
    expect(r.body.assets).toEqual([
      {
        id: "ETH",
        chain: "anvil",
        chain_kind: "evm",
        decimals: 18,
        confirmations: 1,
        contract: null,
        rates: { USD: "3000" },
        unpriced: [],
      },
      expect.objectContaining({ id: "USDT-ERC20", decimals: 6, rates: { USD: "1" } }),
    ]);
  });

  it("error: the pool runs out → 503 pool_exhausted and nothing bound", async () => {
    // 5 addresses: A-1001, L-0 (cancelled, still bound for its late window), L-1, L-2 → one left
    expect((await t.call("POST", "/v1/orders", order({ merchant_order_id: "P-1" }))).status).toBe(201);
    const before = {
      orders: count(t.db, "orders"),
      bindings: count(t.db, "bindings"),
      options: count(t.db, "order_options"),
    };
    const r = await t.call("POST", "/v1/orders", order({ merchant_order_id: "P-2" }));
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ type: "urn:depositd:problem:pool_exhausted", status: 503 });
    expect({
      orders: count(t.db, "orders"),
      bindings: count(t.db, "bindings"),
      options: count(t.db, "order_options"),
    }).toEqual(before);
  });
});

describe("merchant API: bad input changes nothing", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 3 });
  });
  afterAll(() => t.close());
  afterEach(() => {
    expect(count(t.db, "orders")).toBe(0);
    expect(count(t.db, "bindings")).toBe(0);
    expect(count(t.db, "events")).toBe(0);
  });

  const cases: { name: string; body: unknown; status: number; path?: string }[] = [
    {
      name: "missing merchant_order_id",
      body: { ...order(), merchant_order_id: undefined },
      status: 400,
      path: "merchant_order_id",
    },
    {
      name: "bad merchant_order_id",
      body: order({ merchant_order_id: "has space" }),
      status: 400,
      path: "merchant_order_id",
    },
    {
      name: "too long merchant_order_id",
      body: order({ merchant_order_id: "x".repeat(65) }),
      status: 400,
      path: "merchant_order_id",
    },
    { name: "extra field", body: order({ colour: "red" }), status: 400, path: "(root)" },
    { name: "amount as number", body: order({ amount: 100 }), status: 400, path: "amount" },
    { name: "negative amount", body: order({ amount: "-1" }), status: 400, path: "amount" },
    { name: "exponent amount", body: order({ amount: "1e3" }), status: 400, path: "amount" },
    { name: "zero amount", body: order({ amount: "0" }), status: 400, path: "amount" },
    { name: "too many decimals for USD", body: order({ amount: "1.001" }), status: 400, path: "amount" },
    {
      name: "too many decimals for USDT",
      body: order({ currency: "USDT-ERC20", amount: "1.0000001" }),
      status: 400,
      path: "amount",
    },
    { name: "unknown currency", body: order({ currency: "EUR" }), status: 400, path: "currency" },
    { name: "unknown asset", body: order({ assets: ["DOGE"] }), status: 400, path: "assets[0]" },
    {
      name: "asset not priceable",
      body: order({ currency: "ETH", amount: "1", assets: ["USDT-ERC20"] }),
      status: 400,
      path: "assets[0]",
    },
    { name: "bad url", body: order({ callback_url: "ftp://x/y" }), status: 400, path: "callback_url" },
    {
      name: "url with credentials",
      body: order({ callback_url: "http://u:p@127.0.0.1/x" }),
      status: 400,
      path: "callback_url",
    },
    {
      name: "valid_minutes too large",
      body: order({ valid_minutes: 10081 }),
      status: 400,
      path: "valid_minutes",
    },
    { name: "valid_minutes float", body: order({ valid_minutes: 1.5 }), status: 400, path: "valid_minutes" },
    { name: "metadata not an object", body: order({ metadata: [1] }), status: 400, path: "metadata" },
    {
      name: "metadata over 4 KiB",
      body: order({ metadata: { x: "y".repeat(5000) } }),
      status: 400,
      path: "metadata",
    },
    {
      name: "bad tolerance",
      body: order({ underpaid_tolerance: "5 USD" }),
      status: 400,
      path: "underpaid_tolerance",
    },
    {
      name: "tolerance over amount",
      body: order({ underpaid_tolerance: "101" }),
      status: 400,
      path: "underpaid_tolerance",
    },
    { name: "body is an array", body: [order()], status: 400 },
    { name: "body is not JSON", body: "{not json", status: 400 },
  ];
  for (const tc of cases) {
    it(`error: ${tc.name} → ${tc.status}`, async () => {
      const r = await t.call("POST", "/v1/orders", tc.body);
      expect(r.status).toBe(tc.status);
      expect(r.type).toBe("application/problem+json");
      expect(r.body.status).toBe(tc.status);
      expect(typeof r.body.title).toBe("string");
      expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
      if (tc.path) expect(r.body.errors.map((e: { path: string }) => e.path)).toContain(tc.path);
    });
  }

  it("error: no key, wrong key, malformed header → 401", async () => {
    for (const authorization of ["", "Bearer nope", "Basic abc", "Bearer "]) {
      const r = await t.call("POST", "/v1/orders", order(), { authorization });
      expect(r.status).toBe(401);
      expect(r.type).toBe("application/problem+json");
    }
    expect((await t.call("GET", "/v1/orders", undefined, { authorization: "" })).status).toBe(401);
  });

  it("error: a body over 64 KiB → 413", async () => {
    const r = await t.call("POST", "/v1/orders", order({ metadata: { x: "y".repeat(70_000) } }));
    expect(r.status).toBe(413);
    expect(r.body.type).toBe("urn:depositd:problem:payload_too_large");
  });

  it("error: wrong content type → 415; unknown path → 404; wrong method → 405", async () => {
    expect(
      (await t.call("POST", "/v1/orders", JSON.stringify(order()), { "content-type": "text/plain" })).status,
    ).toBe(415);
    expect((await t.call("GET", "/v1/nothing")).status).toBe(404);
    expect((await t.call("DELETE", "/v1/orders")).status).toBe(405);
    expect((await t.call("GET", "/v1/orders/ord_missing")).status).toBe(404);
    expect((await t.call("GET", "/v1/orders?status=weird")).status).toBe(400);
    expect((await t.call("GET", "/v1/orders?limit=0")).status).toBe(400);
    expect((await t.call("GET", "/v1/orders?cursor=bad")).status).toBe(400);
    const ops = { authorization: `Bearer ${OPERATOR_KEY}` };
    expect((await t.call("GET", "/v1/payments", undefined, ops)).status).toBe(400);
    expect((await t.call("POST", "/v1/payments/pay_x/assign", { order_id: "ord_x" }, ops)).status).toBe(404);
    expect((await t.call("POST", "/v1/payments/pay_x/assign", { nope: 1 }, ops)).status).toBe(400);
    expect((await t.call("POST", "/v1/events/evt_x/redeliver")).status).toBe(404);
    // cancel, accept and redeliver take no fields
    for (const path of ["/v1/orders/ord_x/cancel", "/v1/orders/ord_x/accept", "/v1/events/evt_x/redeliver"]) {
      const r = await t.call("POST", path, { reason: "changed my mind" });
      expect(r.status).toBe(400);
      expect(r.body.errors).toEqual([{ path: "(root)", message: "unknown field(s): reason" }]);
    }
  });

  it("error: the framework's own refusals are problems too (bad URL, bad JSON, 405 with Allow, empty body)", async () => {
    const badUrl = await t.call("GET", "/v1/orders/%E0%A4%A");
    expect(badUrl).toMatchObject({ status: 404, type: "application/problem+json" });
    expect(badUrl.body.type).toBe("urn:depositd:problem:not_found");
    const notJson = await t.call("POST", "/v1/orders", "{", { "content-type": "application/json" });
    expect(notJson.body).toMatchObject({ status: 400, type: "urn:depositd:problem:bad_json" });
    const res = await fetch(`${t.base}/v1/orders/ord_x/cancel`, { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    // an empty body with a JSON content type is `{}`, as without one
    const empty = await t.call("POST", "/v1/orders", "", { "content-type": "application/json" });
    expect(empty.body.errors.map((e: { path: string }) => e.path)).toContain("merchant_order_id");
    const plain = await t.call("POST", "/v1/orders/ord_x/cancel", "", { "content-type": "text/plain" });
    expect(plain.status).toBe(404);
  });

  it("behavior: healthz answers GET and HEAD without a key", async () => {
    const g = await fetch(`${t.base}/healthz`);
    expect(g.status).toBe(200);
    expect(g.headers.get("content-type")).toBe("application/json");
    expect(g.headers.get("cache-control")).toBe("no-store");
    const h = await fetch(`${t.base}/healthz`, { method: "HEAD" });
    expect(h.status).toBe(200);
    expect(await h.text()).toBe("");
    const m = await fetch(`${t.base}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain("depositd_process_");
  });
});

describe("concurrency and restart", () => {
  it("behavior: 200 concurrent creates against 100 addresses → 100 orders, 100 pool_exhausted, no address twice", async () => {
    const t = await startApi(testConfig(), { pool: 100 });
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          t.call("POST", "/v1/orders", order({ merchant_order_id: `C-${i}` })),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(100);
      expect(statuses.filter((s) => s === 503)).toHaveLength(100);
      const addresses = results.filter((r) => r.status === 201).map((r) => r.body.options[0].address);
      expect(new Set(addresses).size).toBe(100);
      const live = t.db
        .prepare("SELECT count(*) AS n, count(DISTINCT address) AS d FROM bindings WHERE released_at IS NULL")
        .get();
      expect(live).toEqual({ n: 100, d: 100 });
    } finally {
      await t.close();
    }
  });

  it("error: the database itself refuses a second live binding of one address", async () => {
    const t = await startApi(testConfig(), { pool: 2 });
    try {
      const r = await t.call("POST", "/v1/orders", order());
      const b = t.db.prepare("SELECT chain, address FROM bindings").get() as {
        chain: string;
        address: string;
      };
      expect(() =>
        t.db
          .prepare("INSERT INTO bindings (chain, address, order_id, bound_at) VALUES (?, ?, ?, 0)")
          .run(b.chain, b.address, r.body.id),
      ).toThrow(/UNIQUE|duplicate key/);
    } finally {
      await t.close();
    }
  });

  it("behavior: orders, bindings and events survive closing and reopening the database file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "depositd-restart-"));
    const dbPath = join(dir, "d.sqlite");
    try {
      const a = await startApi(testConfig(), { pool: 3, dbPath });
      const created = await a.call("POST", "/v1/orders", order());
      await a.call("POST", `/v1/orders/${created.body.id}/cancel`);
      await a.close();
      const b = await startApi(testConfig(), { pool: 0, dbPath });
      const got = await b.call("GET", `/v1/orders/${created.body.id}`);
      expect(got.body).toMatchObject({ id: created.body.id, status: "cancelled" });
      expect(got.body.options[0].address).toBe(created.body.options[0].address);
      expect(count(b.db, "bindings")).toBe(1);
      const ev = await b.call("GET", `/v1/orders/${created.body.id}/events`);
      expect(ev.body.events).toHaveLength(1);
      // the same address is not handed out again while bound
      const other = await b.call("POST", "/v1/orders", order({ merchant_order_id: "B-2" }));
      expect(other.body.options[0].address).not.toBe(created.body.options[0].address);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("callback targets", () => {
  it("error: loopback, private and metadata targets are refused at create unless allowed", async () => {
    const base = testConfig();
    const t = await startApi(
      testConfig({
        notify: {
          ...base.notify,
          secrets: [{ id: "k1", value: "whsec_test_0123456789abcdef" }],
          allow_private_targets: false,
        },
      }),
      { pool: 3 },
    );
    try {
      for (const url of [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://localhost:9/x",
      ]) {
        const r = await t.call("POST", "/v1/orders", order({ merchant_order_id: "P-1", callback_url: url }));
        expect(r.status).toBe(400);
        expect(r.body.errors).toEqual([
          expect.objectContaining({ path: "callback_url", message: expect.stringMatching(/refused target/) }),
        ]);
      }
      expect(count(t.db, "orders")).toBe(0);
      // a public literal address (documentation range; never contacted: no delivery worker runs here) is accepted
      const ok = await t.call(
        "POST",
        "/v1/orders",
        order({ merchant_order_id: "P-2", callback_url: "https://203.0.113.7/hook" }),
      );
      expect(ok.status).toBe(201);
    } finally {
      await t.close();
    }
  });
});
