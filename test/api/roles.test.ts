// Keys and roles (docs/api.md "Keys and roles"): two merchants, an operator and a read-only key
// against one API; every endpoint tried with each key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routes } from "../../src/api/routes.js";
import { API_KEY, OPERATOR_KEY, OTHER_KEY, READONLY_KEY, clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";

const KEYS = { shop: API_KEY, other: OTHER_KEY, ops: OPERATOR_KEY, dashboard: READONLY_KEY } as const;
type Who = keyof typeof KEYS;
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
const ACCOUNT = { customer_id: "cust-1", chains: ["anvil"], callback_url: "http://127.0.0.1:9/h" };
const newOrder = (id: string) => ({
  merchant_order_id: id,
  amount: "10",
  currency: "USD",
  assets: ["USDT-ERC20"],
  callback_url: "http://127.0.0.1:9/hook",
});

describe("keys and roles", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  const as = (who: Who, method: string, path: string, body?: unknown) =>
    t.call(method, path, body, { authorization: `Bearer ${KEYS[who]}` });
  /** ids made in beforeAll */
  const id: Record<string, string> = {};

  beforeAll(async () => {
    t = await startApi(
      testConfig({
        notify: {
          secrets: [{ id: "k1", value: "whsec_x_0123456789abcdef" }],
          allow_private_targets: true,
          unattributed_url: "http://127.0.0.1:9/unattributed",
        },
      }),
      { pool: 20, now: c.now },
    );
    for (const [who, name] of [
      ["shop", "A"],
      ["shop", "C"],
      ["other", "B"],
      ["other", "D"],
    ] as const) {
      const r = await as(who, "POST", "/v1/orders", newOrder(name));
      expect(r.status).toBe(201);
      id[name] = r.body.id;
      id[`addr${name}`] = r.body.options[0].address;
    }
    const bound = new Set(["A", "B", "C", "D"].map((n) => id[`addr${n}`]!.toLowerCase()));
    const free = t.ledger.watchedAddresses("anvil").find((a) => !bound.has(a.address))!.address;
    // shop's order A gets 4 USDT (events for A); 3 USDT arrive at an address no order holds
    t.ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: 3 },
        blocks: [1, 2, 3].map((n) => ({
          number: n,
          hash: hash(n),
          parentHash: hash(n - 1),
          timestamp: c.now(),
        })),
        transfers: [
          {
            txid: hash(0xa),
            index: 0,
            asset: "USDT-ERC20",
            address: id.addrA!.toLowerCase(),
            amount: 4_000_000n,
            block: { number: 2, hash: hash(2), timestamp: c.now() },
          },
          {
            txid: hash(0xb),
            index: 0,
            asset: "USDT-ERC20",
            address: free,
            amount: 3_000_000n,
            block: { number: 2, hash: hash(2), timestamp: c.now() },
          },
        ],
        keepBlocks: 64,
      },
      c.now(),
    );
    const ev = (sql: string) => (t.db.prepare(sql).get() as { id: string }).id;
    id.evA = ev(`SELECT id FROM events WHERE order_id = '${id.A}' ORDER BY seq LIMIT 1`);
    id.evU = ev("SELECT id FROM events WHERE order_id IS NULL");
    id.pay = ev("SELECT id FROM payments WHERE order_id IS NULL");
    const account = await as("shop", "POST", "/v1/deposit-accounts", ACCOUNT);
    expect(account.status).toBe(201);
    id.acc = (account.body as { id: string }).id;
  });
  afterAll(() => t.close());

  /** the 403 problem, and nothing in it that names a resource or a count */
  function forbidden(r: { status: number; type: string | null; body: any }) {
    expect(r.status).toBe(403);
    expect(r.type).toBe("application/problem+json");
    expect(r.body).toMatchObject({ type: "urn:depositd:problem:forbidden", status: 403 });
    expect(`${r.body.title} ${r.body.detail}`).not.toMatch(/pay_|ord_|evt_|[0-9]/);
    expect(r.body.errors).toBeUndefined();
  }

  it("behavior: every authenticated endpoint with each key", async () => {
    // [operation, method, path, body, expected status per key]
    const table: [string, string, string, unknown, Record<Who, number>][] = [
      [
        "createOrder",
        "POST",
        "/v1/orders",
        newOrder("N-1"),
        { shop: 201, other: 201, ops: 201, dashboard: 403 },
      ],
      ["listOrders", "GET", "/v1/orders", undefined, { shop: 200, other: 200, ops: 200, dashboard: 200 }],
      [
        "getOrder",
        "GET",
        `/v1/orders/${id.A}`,
        undefined,
        { shop: 200, other: 404, ops: 200, dashboard: 200 },
      ],
      // A is partially paid (4 of 10): accept settles it; the operator reaches the rule (already paid: 409)
      [
        "acceptOrder",
        "POST",
        `/v1/orders/${id.A}/accept`,
        undefined,
        { other: 404, dashboard: 403, shop: 200, ops: 409 },
      ],
      [
        "cancelOrder",
        "POST",
        `/v1/orders/${id.C}/cancel`,
        undefined,
        { other: 404, dashboard: 403, shop: 200, ops: 200 },
      ],
      [
        "listOrderPayments",
        "GET",
        `/v1/orders/${id.A}/payments`,
        undefined,
        { shop: 200, other: 404, ops: 200, dashboard: 200 },
      ],
      [
        "listOrderEvents",
        "GET",
        `/v1/orders/${id.A}/events`,
        undefined,
        { shop: 200, other: 404, ops: 200, dashboard: 200 },
      ],
      [
        "redeliverEvent",
        "POST",
        `/v1/events/${id.evA}/redeliver`,
        undefined,
        { shop: 202, other: 404, ops: 202, dashboard: 403 },
      ],
      ["listAssets", "GET", "/v1/assets", undefined, { shop: 200, other: 200, ops: 200, dashboard: 200 }],
      [
        "listUnattributedPayments",
        "GET",
        "/v1/payments?unattributed=true",
        undefined,
        { shop: 403, other: 403, ops: 200, dashboard: 403 },
      ],
      [
        "exportPayments",
        "GET",
        "/v1/exports/payments?format=ndjson",
        undefined,
        { shop: 200, other: 200, ops: 200, dashboard: 200 },
      ],
      ["listRates", "GET", "/v1/rates", undefined, { shop: 200, other: 200, ops: 200, dashboard: 200 }],
      // the self-audit's findings name every chain's payments: the operator's alone
      ["getAudit", "GET", "/v1/audit", undefined, { shop: 403, other: 403, ops: 200, dashboard: 403 }],
      // deposit accounts belong to the key that made them (the operator's console does not list them yet)
      [
        "createDepositAccount",
        "POST",
        "/v1/deposit-accounts",
        ACCOUNT,
        { shop: 200, other: 201, ops: 201, dashboard: 403 },
      ],
      [
        "listDepositAccounts",
        "GET",
        "/v1/deposit-accounts",
        undefined,
        { shop: 200, other: 200, ops: 200, dashboard: 200 },
      ],
      [
        "getDepositAccount",
        "GET",
        `/v1/deposit-accounts/${id.acc}`,
        undefined,
        { shop: 200, other: 404, ops: 404, dashboard: 200 },
      ],
      [
        "listDeposits",
        "GET",
        `/v1/deposit-accounts/${id.acc}/deposits`,
        undefined,
        { shop: 200, other: 404, ops: 404, dashboard: 200 },
      ],
      [
        "listDepositAccountEvents",
        "GET",
        `/v1/deposit-accounts/${id.acc}/events`,
        undefined,
        { shop: 200, other: 404, ops: 404, dashboard: 200 },
      ],
      [
        "closeDepositAccount",
        "POST",
        `/v1/deposit-accounts/${id.acc}/close`,
        undefined,
        { other: 404, dashboard: 403, ops: 404, shop: 200 },
      ],
      // the operator assigns shop's customer's money to other's order D
      [
        "assignPayment",
        "POST",
        `/v1/payments/${id.pay}/assign`,
        { order_id: id.D },
        { shop: 403, other: 403, dashboard: 403, ops: 200 },
      ],
    ];
    const tried = new Set<string>();
    const failures: string[] = [];
    for (const [op, method, path, body, expected] of table) {
      tried.add(op);
      for (const [who, status] of Object.entries(expected) as [Who, number][]) {
        const r = await as(who, method, path, body);
        if (r.status !== status) failures.push(`${op} as ${who}: ${r.status}, expected ${status}`);
        if (status === 403) forbidden(r);
      }
    }
    expect(failures).toEqual([]);
    // the table covers every operation that needs a key
    expect([...tried].sort()).toEqual(
      routes
        .filter((r) => r.auth)
        .map((r) => r.operationId)
        .sort(),
    );
  });

  it("behavior: exports follow the same scoping: a merchant its orders' payments, the operator all", async () => {
    const lines = async (who: Who) =>
      (
        await fetch(`${t.base}/v1/exports/payments?format=ndjson`, {
          headers: { authorization: `Bearer ${KEYS[who]}` },
        })
      ).text();
    const orderIds = (text: string) =>
      text
        .trimEnd()
        .split("\n")
        .map((l) => (JSON.parse(l) as { order_id: string | null }).order_id);
    expect(orderIds(await lines("shop"))).toEqual([id.A]);
    // the payment the operator assigned to other's order D (first test) is other's now
    expect(orderIds(await lines("other"))).toEqual([id.D]);
    expect(await lines("other")).not.toContain(id.A);
    expect(orderIds(await lines("ops"))).toHaveLength(2);
  });

  it("behavior: a merchant sees only its own orders; the operator sees every order", async () => {
    const names = async (who: Who) =>
      ((await as(who, "GET", "/v1/orders?limit=1000")).body.orders as { id: string }[]).map((o) => o.id);
    expect(await names("shop")).toEqual(expect.arrayContaining([id.A, id.C]));
    expect(await names("shop")).not.toEqual(expect.arrayContaining([id.B]));
    expect(await names("other")).not.toContain(id.A);
    // the read-only key is shop's too (same name): it sees shop's orders
    expect(await names("dashboard")).toEqual(await names("shop"));
    expect(await names("ops")).toEqual(expect.arrayContaining([id.A, id.B, id.C, id.D]));
    // merchant_order_id is per key: "A" is shop's, not other's
    expect((await as("other", "GET", "/v1/orders?merchant_order_id=A")).status).toBe(404);
    expect((await as("shop", "GET", "/v1/orders?merchant_order_id=A")).body.id).toBe(id.A);
  });

  it("behavior: unattributed payments are the operator's, and a refused key learns nothing (not even counts or validity)", async () => {
    const before = t.db.prepare("SELECT count(*) AS n FROM events").get();
    for (const who of ["shop", "other", "dashboard"] as const) {
      forbidden(await as(who, "GET", "/v1/payments?unattributed=true&limit=99999"));
      forbidden(await as(who, "GET", "/v1/payments?unattributed=true&cursor=%%%"));
      forbidden(await as(who, "POST", "/v1/payments/pay_doesnotexist/assign", { order_id: id.A }));
      forbidden(await as(who, "POST", `/v1/payments/${id.pay}/assign`, { nope: 1 }));
    }
    expect(t.db.prepare("SELECT count(*) AS n FROM events").get()).toEqual(before);
    // a merchant cannot redeliver the event of a payment no order holds (as if it did not exist)
    expect((await as("shop", "POST", `/v1/events/${id.evU}/redeliver`)).status).toBe(404);
    expect((await as("ops", "POST", `/v1/events/${id.evU}/redeliver`)).status).toBe(202);
  });

  it("behavior: a read-only key reads its orders but cannot create, cancel or accept", async () => {
    const created = await as("shop", "POST", "/v1/orders", newOrder("R-1"));
    expect(created.status).toBe(201);
    const orders = () => t.db.prepare("SELECT count(*) AS n FROM orders").get();
    const n = orders();
    forbidden(await as("dashboard", "POST", "/v1/orders", newOrder("R-2")));
    // even a body that would not validate is refused for the scope first
    forbidden(await as("dashboard", "POST", "/v1/orders", { nope: 1 }));
    expect(orders()).toEqual(n);
  });
});
