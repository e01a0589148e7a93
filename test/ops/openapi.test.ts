import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApi } from "../../src/api/openapi.js";
import { invoke, routeById, routes } from "../../src/api/routes.js";
import { orderWithPayments, problemJson } from "../../src/api/schemas.js";
import { startApi } from "../helpers/api.js";
import { OPERATOR_KEY, clock, testConfig } from "../helpers/config.js";

const operator = { authorization: `Bearer ${OPERATOR_KEY}` };
import { checkOpenApi, operations, validateSchema } from "./openapi-check.js";

type Obj = Record<string, any>;

const openapi = buildOpenApi(routes);
const documented = () =>
  operations(openapi as Obj)
    .map((o) => `${o.method} ${o.path}`)
    .sort();
/** the route table in OpenAPI's path syntax */
const table = () => routes.map((r) => `${r.method} ${r.path.replace(/:([a-z]+)/g, "{$1}")}`).sort();

describe("OpenAPI document", () => {
  it("default: is a structurally sound OpenAPI 3.1 document", () => {
    expect(checkOpenApi(openapi)).toEqual([]);
    expect(JSON.parse(JSON.stringify(openapi))).toEqual(openapi); // plain JSON, servable as is
  });

  it("behavior: the checker catches dangling refs, missing responses and undeclared path params", () => {
    const broken = structuredClone(openapi) as Obj;
    broken.paths["/v1/orders/{id}"].get.responses["200"].content["application/json"].schema = {
      $ref: "#/components/schemas/Nope",
    };
    broken.paths["/v1/assets"].get.responses = {};
    broken.paths["/v1/orders/{id}/cancel"].post.parameters = [];
    broken.openapi = "3.0.3";
    const problems = checkOpenApi(broken);
    expect(problems).toContain("openapi: must be 3.1.x, is 3.0.3");
    expect(problems.some((p) => p.includes("#/components/schemas/Nope does not resolve"))).toBe(true);
    expect(problems).toContain("GET /v1/assets: no responses");
    expect(problems).toContain("POST /v1/orders/{id}/cancel: {id} is not declared as a path parameter");
  });

  it("behavior: the document has every route of the table, and nothing else, as the table says", () => {
    expect(table().length).toBeGreaterThanOrEqual(15);
    expect(documented()).toEqual(table());
    expect(new Set(table()).size).toBe(routes.length); // no route twice
    for (const r of routes) {
      const op = (openapi as Obj).paths[r.path.replace(/:([a-z]+)/g, "{$1}")][r.method.toLowerCase()];
      const where = `${r.method} ${r.path}`;
      expect(op.operationId, where).toBe(r.operationId);
      // every success the table declares is documented with the table's description
      for (const [status, spec] of Object.entries(r.responses))
        expect(op.responses[status]?.description, `${where} ${status}`).toBe(spec.description);
      // path parameters come from the params schema, query parameters from the query schema
      const names = (op.parameters ?? []).map((p: Obj) => `${p.in}:${p.name}`).sort();
      const expected = [
        ...Object.keys((r.params as any)?.shape ?? {}).map((n) => `path:${n}`),
        ...Object.keys((r.query as any)?.shape ?? {}).map((n) => `query:${n}`),
      ].sort();
      expect(names, where).toEqual(expected);
      expect(op.requestBody !== undefined, where).toBe(r.body !== undefined);
    }
  });

  it("behavior: documents every problem code and the bearer scheme", () => {
    const problem = (openapi as Obj).components.schemas.Problem;
    expect(problem.properties.type.enum).toContain("urn:depositd:problem:pool_exhausted");
    expect((openapi as Obj).components.securitySchemes.bearer).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    for (const { method, path, op } of operations(openapi as Obj)) {
      const open = ["/healthz", "/metrics", "/openapi.json"].includes(path);
      expect(op.security, `${method} ${path}`).toEqual(open ? [] : undefined);
      if (!open) expect(Object.keys(op.responses as Obj), `${method} ${path}`).toContain("401");
    }
  });
});

describe("OpenAPI document against the live API", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  let orderId = "";
  let eventId = "";
  let paymentId = "";
  let accountId = "";

  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 5, now: c.now }); // answers checked against their schemas
    const created = await t.call("POST", "/v1/orders", {
      merchant_order_id: "OA-1",
      amount: "10",
      currency: "USD",
      callback_url: "http://127.0.0.1:9/hook",
    });
    expect(created.status).toBe(201);
    orderId = created.body.id;
    const bound = created.body.options[0].address.toLowerCase();
    // a confirmed payment to a pool address no order holds: an unattributed payment to assign
    const free = t.ledger.watchedAddresses("anvil").find((a) => a.address !== bound)!.address;
    const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
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
            txid: hash(0xabc),
            index: 0,
            asset: "USDT-ERC20",
            address: free,
            amount: 4_000_000n,
            block: { number: 2, hash: hash(2), timestamp: c.now() },
          },
        ],
        keepBlocks: 64,
      },
      c.now(),
    );
    const cancelled = await t.call("POST", `/v1/orders/${orderId}/cancel`);
    expect(cancelled.status).toBe(200);
    const events = await t.call("GET", `/v1/orders/${orderId}/events`);
    eventId = events.body.events[0].id;
    const unattributed = await t.call("GET", "/v1/payments?unattributed=true", undefined, operator);
    paymentId = unattributed.body.payments[0].id;
    const account = await t.call("POST", "/v1/deposit-accounts", {
      customer_id: "u-1",
      callback_url: "http://127.0.0.1:9/hook",
    });
    expect(account.status).toBe(201);
    accountId = account.body.id;
  });
  afterAll(() => t.close());

  /** One real request per documented operation; the answer must be a documented one. */
  const probes = (): Record<string, { path: string; body?: unknown; status: number; operator?: true }> => ({
    "POST /v1/orders": {
      path: "/v1/orders",
      body: {
        merchant_order_id: "OA-2",
        amount: "0.5",
        currency: "ETH",
        callback_url: "http://127.0.0.1:9/h",
      },
      status: 201,
    },
    "GET /v1/orders": { path: "/v1/orders?limit=1", status: 200 },
    "GET /v1/orders/{id}": { path: `/v1/orders/${orderId}`, status: 200 },
    "POST /v1/orders/{id}/cancel": { path: `/v1/orders/${orderId}/cancel`, status: 200 },
    "POST /v1/orders/{id}/accept": { path: `/v1/orders/${orderId}/accept`, status: 409 },
    "GET /v1/orders/{id}/payments": { path: `/v1/orders/${orderId}/payments`, status: 200 },
    "GET /v1/orders/{id}/events": { path: `/v1/orders/${orderId}/events?after=0`, status: 200 },
    "POST /v1/events/{id}/redeliver": { path: `/v1/events/${eventId}/redeliver`, status: 202 },
    "GET /v1/assets": { path: "/v1/assets", status: 200 },
    "GET /v1/rates": { path: "/v1/rates", status: 200 },
    "POST /v1/deposit-accounts": {
      path: "/v1/deposit-accounts",
      body: { customer_id: "u-2", chains: ["anvil"], callback_url: "http://127.0.0.1:9/h" },
      status: 201,
    },
    "GET /v1/deposit-accounts": { path: "/v1/deposit-accounts?limit=1", status: 200 },
    "GET /v1/deposit-accounts/{id}": { path: `/v1/deposit-accounts/${accountId}`, status: 200 },
    "GET /v1/deposit-accounts/{id}/deposits": {
      path: `/v1/deposit-accounts/${accountId}/deposits?limit=10`,
      status: 200,
    },
    "POST /v1/deposit-accounts/{id}/close": { path: `/v1/deposit-accounts/${accountId}/close`, status: 200 },
    "GET /v1/deposit-accounts/{id}/events": {
      path: `/v1/deposit-accounts/${accountId}/events?after=0`,
      status: 200,
    },
    "GET /v1/payments": { path: "/v1/payments?unattributed=true&limit=10", status: 200, operator: true },
    "POST /v1/payments/{id}/assign": {
      path: `/v1/payments/${paymentId}/assign`,
      body: { order_id: orderId },
      status: 200,
      operator: true,
    },
    "GET /v1/exports/payments": { path: "/v1/exports/payments?format=csv", status: 200 },
    "GET /v1/audit": { path: "/v1/audit", status: 200, operator: true },
    "GET /healthz": { path: "/healthz", status: 200 },
    "HEAD /healthz": { path: "/healthz", status: 200 },
    "GET /metrics": { path: "/metrics", status: 200 },
    "GET /openapi.json": { path: "/openapi.json", status: 200 },
  });

  it("behavior: every operation answers as the table and the document say (status, media type, schema)", async () => {
    const probe = probes();
    expect(Object.keys(probe).sort()).toEqual(table());
    const failures: string[] = [];
    for (const r of routes) {
      const key = `${r.method} ${r.path.replace(/:([a-z]+)/g, "{$1}")}`;
      const p = probe[key]!;
      const res = await t.call(
        r.method,
        p.path,
        p.body,
        r.auth ? (p.operator ? operator : {}) : { authorization: "" },
      );
      if (res.status !== p.status) failures.push(`${key}: status ${res.status}, expected ${p.status}`);
      const op = (openapi as Obj).paths[key.split(" ")[1]!][r.method.toLowerCase()];
      const documentedResponse = op.responses[String(res.status)];
      if (!documentedResponse) {
        failures.push(`${key}: answered ${res.status}, which is not documented`);
        continue;
      }
      if (r.method === "HEAD") continue;
      const type = String(res.type).split(";")[0]!;
      const content = documentedResponse.content as Obj | undefined;
      if (!content?.[type]) {
        failures.push(`${key}: answered ${type}, documented ${Object.keys(content ?? {}).join(", ")}`);
        continue;
      }
      // the zod schema of the table (strict: an undeclared field fails) …
      const zodSchema = res.status >= 400 ? problemJson : r.responses[res.status]?.schema;
      const parsed = zodSchema?.safeParse(res.body);
      if (parsed && !parsed.success) failures.push(`${key}: ${parsed.error.message}`);
      // … and the generated document agree with the real answer
      const problems = validateSchema(openapi, content[type].schema, res.body, "$", { strict: true });
      failures.push(...problems.map((x) => `${key}: ${x}`));
    }
    expect(failures).toEqual([]);
  });

  it("behavior: GET /openapi.json serves the generated document without a key", async () => {
    const r = await t.call("GET", "/openapi.json", undefined, { authorization: "" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(openapi);
  });

  it("error: answers that break the schema are caught (the checks are not vacuous)", async () => {
    const r = await t.call("GET", `/v1/orders/${orderId}`);
    const schema = { $ref: "#/components/schemas/OrderWithPayments" };
    expect(orderWithPayments.safeParse(r.body).success).toBe(true);
    expect(validateSchema(openapi, schema, r.body, "$", { strict: true })).toEqual([]);
    // a field the schema lacks fails both the zod schema and the document
    expect(orderWithPayments.safeParse({ ...r.body, surprise: 1 }).success).toBe(false);
    expect(validateSchema(openapi, schema, { ...r.body, surprise: 1 }, "$", { strict: true })).toContain(
      "$: undocumented property surprise",
    );
    expect(orderWithPayments.safeParse({ ...r.body, amount: 10 }).success).toBe(false);
    expect(validateSchema(openapi, schema, { ...r.body, amount: 10 }, "$", { strict: true })).toContain(
      "$.amount: expected string, got integer",
    );
    const { payments: _p, ...withoutPayments } = r.body;
    expect(validateSchema(openapi, schema, withoutPayments)).toContain("$: missing payments");
  });

  it("error: with checkResponses, a handler answering an undeclared field is a 500, not a silent change", async () => {
    const real = routeById("getOrder");
    const leaky = {
      ...real,
      handler: async (...a: Parameters<typeof real.handler>) => {
        const out = await real.handler(...a);
        return { ...out, body: { ...(out.body as object), surprise: 1 } };
      },
    };
    const ctx = {
      db: t.db,
      ledger: t.ledger,
      catalog: undefined as never,
      common: t.common,
      log: t.common.logger,
      health: () => ({ ok: true, checks: {} }),
      createOrder: () => Promise.reject(new Error("unused")),
      openapi: () => "{}",
    };
    const input = {
      caller: { name: "shop", role: "merchant" as const, scopes: ["read" as const] },
      params: { id: orderId },
      url: `/v1/orders/${orderId}`,
    };
    await expect(invoke(leaky, ctx, input, true)).rejects.toThrow(/getOrder 200 does not match its schema/);
    await expect(invoke(real, ctx, input, true)).resolves.toMatchObject({ status: 200 });
  });
});
