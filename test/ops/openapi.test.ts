import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openapi } from "../../src/api/openapi.js";
import { startApi } from "../helpers/api.js";
import { clock, testConfig } from "../helpers/config.js";
import { checkOpenApi, operations, resolvePointer, validateSchema } from "./openapi-check.js";

type Obj = Record<string, any>;

/**
 * The live route table, read from the router's source: route("METHOD", "/path", …) plus the
 * pathname checks in front of it (/healthz, /metrics, /openapi.json). `:id` becomes `{id}`.
 */
function serverRoutes(): string[] {
  const source = readFileSync(new URL("../../src/api/server.ts", import.meta.url), "utf8");
  const routes = new Set<string>();
  for (const m of source.matchAll(/route\(\s*"([A-Z]+)",\s*"([^"]+)"/g))
    routes.add(`${m[1]} ${m[2]!.replace(/:([a-z]+)/g, "{$1}")}`);
  for (const m of source.matchAll(/url\.pathname === "([^"]+)"([^{\n]*)/g)) {
    const methods = [...m[2]!.matchAll(/req\.method === "([A-Z]+)"/g)].map((x) => x[1]!);
    for (const method of methods.length ? methods : ["GET"]) routes.add(`${method} ${m[1]}`);
  }
  return [...routes].sort();
}

const documented = () =>
  operations(openapi as Obj)
    .map((o) => `${o.method} ${o.path}`)
    .sort();

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

  it("behavior: every route the server has is documented, and nothing else", () => {
    const live = serverRoutes();
    // the source scan must keep finding the router's routes (guards against a silently broken regex)
    expect(live.length).toBeGreaterThanOrEqual(14);
    expect(live).toContain("POST /v1/orders");
    expect(live).toContain("HEAD /healthz");
    expect(documented()).toEqual(live);
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

  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 5, now: c.now });
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
    const unattributed = await t.call("GET", "/v1/payments?unattributed=true");
    paymentId = unattributed.body.payments[0].id;
  });
  afterAll(() => t.close());

  /** One real request per documented operation; the answer must be a documented one. */
  const probes = (): Record<string, { path: string; body?: unknown; status: number }> => ({
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
    "GET /v1/payments": { path: "/v1/payments?unattributed=true&limit=10", status: 200 },
    "POST /v1/payments/{id}/assign": {
      path: `/v1/payments/${paymentId}/assign`,
      body: { order_id: orderId },
      status: 200,
    },
    "GET /healthz": { path: "/healthz", status: 200 },
    "HEAD /healthz": { path: "/healthz", status: 200 },
    "GET /metrics": { path: "/metrics", status: 200 },
    "GET /openapi.json": { path: "/openapi.json", status: 200 },
  });

  it("behavior: every documented operation answers as documented (status, media type, body schema)", async () => {
    const table = probes();
    expect(Object.keys(table).sort()).toEqual(documented());
    const failures: string[] = [];
    for (const { method, path, op } of operations(openapi as Obj)) {
      const key = `${method} ${path}`;
      const probe = table[key]!;
      const open = op.security !== undefined;
      const r = await t.call(method, probe.path, probe.body, open ? { authorization: "" } : {});
      if (r.status !== probe.status) failures.push(`${key}: status ${r.status}, expected ${probe.status}`);
      const documentedResponse = (op.responses as Obj)[String(r.status)];
      if (!documentedResponse) {
        failures.push(`${key}: answered ${r.status}, which is not documented`);
        continue;
      }
      const response = documentedResponse.$ref
        ? resolvePointer(openapi, documentedResponse.$ref)
        : documentedResponse;
      const content = (response as Obj).content as Obj | undefined;
      if (method === "HEAD" || !content) continue;
      const type = String(r.type).split(";")[0]!;
      if (!content[type]) {
        failures.push(`${key}: answered ${type}, documented ${Object.keys(content).join(", ")}`);
        continue;
      }
      const problems = validateSchema(openapi, content[type].schema, r.body, "$", { strict: true });
      failures.push(...problems.map((p) => `${key}: ${p}`));
    }
    expect(failures).toEqual([]);
  });

  it("behavior: GET /openapi.json serves this very document without a key", async () => {
    const r = await t.call("GET", "/openapi.json", undefined, { authorization: "" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(openapi);
  });

  it("error: answers that break the schema are caught (the live check is not vacuous)", async () => {
    const r = await t.call("GET", `/v1/orders/${orderId}`);
    const schema = { $ref: "#/components/schemas/OrderWithPayments" };
    expect(validateSchema(openapi, schema, r.body, "$", { strict: true })).toEqual([]);
    expect(validateSchema(openapi, schema, { ...r.body, amount: 10 }, "$", { strict: true })).toContain(
      "$.amount: expected string, got integer",
    );
    expect(validateSchema(openapi, schema, { ...r.body, surprise: 1 }, "$", { strict: true })).toContain(
      "$: undocumented property surprise",
    );
    const { payments: _p, ...withoutPayments } = r.body;
    expect(validateSchema(openapi, schema, withoutPayments)).toContain("$: missing payments");
  });
});
