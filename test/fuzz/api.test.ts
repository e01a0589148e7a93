// Hostile input against the merchant API (seeded fast-check): random JSON, huge numbers, unicode,
// deep nesting, wrong types, duplicate keys, SQL-looking strings, header abuse. Every answer must be
// a 4xx problem (or a real success), never a 500, never a crash, never a partial write.
import { connect } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApi } from "../helpers/api.js";
import { API_KEY, testConfig } from "../helpers/config.js";
import { SEED, recordResult, size, tempDir } from "../chaos/harness.js";

const RUNS = size(3000, 20_000);
const tmp = tempDir("fuzz-api");
let t: Awaited<ReturnType<typeof startApi>>;
let port: number;

beforeAll(async () => {
  t = await startApi(testConfig({ database: { path: `${tmp.dir}/fuzz.sqlite`, synchronous: "NORMAL" } }), {
    pool: size(300, 2500),
  });
  port = Number(new URL(t.base).port);
});
afterAll(async () => {
  await t?.close();
  tmp.remove();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends exactly these bytes (duplicate or odd headers included) and reads the answer. */
function raw(request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = (split < 0 ? text : text.slice(0, split)).split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head[0] ?? "")?.[1] ?? NaN);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status, headers, body: split < 0 ? "" : text.slice(split + 4) });
    });
    socket.end(request);
  });
}

function request(method: string, path: string, headers: [string, string | Buffer][], body: Buffer): Buffer {
  const lines: Buffer[] = [
    Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`),
  ];
  for (const [k, v] of headers)
    lines.push(Buffer.concat([Buffer.from(`${k}: `), Buffer.from(v), Buffer.from("\r\n")]));
  lines.push(Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body);
  return Buffer.concat(lines);
}

const SQL = [
  "' OR 1=1 --",
  "'); DROP TABLE orders; --",
  '" OR ""="',
  "1; DELETE FROM payments",
  "%' UNION SELECT sql FROM sqlite_master --",
  "ord_' OR '1'='1",
];
const nasty = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(...SQL),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "\u202e",
    "💸",
    "０１２",
    "1e400",
    "-1",
    "NaN",
    "Infinity",
    "0x10",
    "1_000",
  ),
  fc.constantFrom("9".repeat(79), "9".repeat(81), "1." + "0".repeat(60) + "1", "0.000000000000000000001"),
);
const anyValue = fc.oneof(
  nasty,
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 0.1 + 0.2),
  fc.boolean(),
  fc.constant(null),
  fc.array(nasty, { maxLength: 5 }),
  fc.dictionary(nasty, nasty, { maxKeys: 5 }),
);

const validOrder = (): Record<string, unknown> => ({
  merchant_order_id: `F-${Math.random().toString(36).slice(2)}`,
  amount: "12.5",
  currency: "USD",
  callback_url: "https://shop.example/hooks",
  metadata: { cart: 1 },
});
const FIELDS = [
  "merchant_order_id",
  "amount",
  "currency",
  "assets",
  "valid_minutes",
  "callback_url",
  "metadata",
  "underpaid_tolerance",
  "overpaid_tolerance",
];

// Bodies as text: hostile JSON and not-JSON.
const bodyText = fc.oneof(
  // a valid order with some fields replaced by hostile values (often still valid: real creates)
  fc
    .tuple(
      fc.subarray(FIELDS, { maxLength: 3 }),
      fc.array(anyValue, { minLength: 3, maxLength: 3 }),
      fc.boolean(),
    )
    .map(([fields, values, extra]) => {
      const o = validOrder();
      fields.forEach((f, i) => (o[f] = values[i]));
      if (extra) o[JSON.stringify(values[0]) ?? "x"] = values[1];
      return JSON.stringify(o);
    }),
  fc.json({ maxDepth: 4 }),
  fc.anything({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null"),
  fc.string({ unit: "binary", maxLength: 200 }),
  // deep nesting, at top level and inside metadata
  fc.integer({ min: 100, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc
    .integer({ min: 100, max: 15_000 })
    .map((n) =>
      JSON.stringify({ ...validOrder(), metadata: {} }).replace(
        '"metadata":{}',
        `"metadata":{"a":${"[".repeat(n)}${"]".repeat(n)}}`,
      ),
    ),
  fc.integer({ min: 100, max: 8_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)),
  // duplicate keys: the last one wins in JSON.parse; must still be validated as a whole
  fc.tuple(anyValue, anyValue).map(([a, b]) => {
    const o = JSON.stringify(validOrder()).slice(0, -1);
    return `${o},"amount":${JSON.stringify(a) ?? "1"},"amount":${JSON.stringify(b) ?? "2"}}`;
  }),
  // huge numbers as JSON numbers
  fc
    .constantFrom("1e400", "-1e400", "123456789012345678901234567890", "0.0000000000000000000000001")
    .map((n) =>
      JSON.stringify({ ...validOrder(), valid_minutes: 0 }).replace(
        '"valid_minutes":0',
        `"valid_minutes":${n}`,
      ),
    ),
  // bodies near and over the size limit
  fc
    .integer({ min: 60_000, max: 70_000 })
    .map((n) => JSON.stringify({ ...validOrder(), metadata: { pad: "x".repeat(n) } })),
);

const okKey = `Bearer ${API_KEY}`;
const authHeaders = fc.oneof(
  { weight: 6, arbitrary: fc.constant<[string, string | Buffer][]>([["Authorization", okKey]]) },
  fc.constant<[string, string | Buffer][]>([]),
  fc.constant<[string, string | Buffer][]>([
    ["Authorization", okKey],
    ["Authorization", "Bearer wrong"],
  ]),
  fc.constant<[string, string | Buffer][]>([
    ["Authorization", "Bearer wrong"],
    ["Authorization", okKey],
  ]),
  fc
    .integer({ min: 500, max: 20_000 })
    .map((n): [string, string | Buffer][] => [["Authorization", `Bearer ${"k".repeat(n)}`]]),
  nasty.map((s): [string, string | Buffer][] => [
    ["Authorization", Buffer.from(`Bearer ${s}`.replace(/[\r\n]/g, ""))],
  ]),
  fc.constantFrom<[string, string | Buffer][]>(
    [["Authorization", `Basic ${Buffer.from("shop:" + API_KEY).toString("base64")}`]],
    [["Authorization", `bearer ${API_KEY}`]],
    [["Authorization", `Bearer  ${API_KEY}`]],
    [["Authorization", `Bearer ${API_KEY} `]],
  ),
);
const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant<[string, string][]>([["Content-Type", "application/json"]]) },
  fc.constant<[string, string][]>([]),
  fc
    .constantFrom(
      "text/plain",
      "application/json; charset=utf-16",
      "application/problem+json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/json, text/html",
      "",
      "*/*",
    )
    .map((c): [string, string][] => [["Content-Type", c]]),
  fc.constant<[string, string][]>([
    ["Content-Type", "text/plain"],
    ["Content-Type", "application/json"],
  ]),
);
const targets = fc.oneof(
  { weight: 8, arbitrary: fc.constant(["POST", "/v1/orders"]) },
  fc.tuple(
    fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
    fc.oneof(
      fc.constantFrom(
        "/v1/orders",
        "/v1/orders/ord_x",
        "/v1/orders/ord_x/cancel",
        "/v1/orders/ord_x/accept",
        "/v1/orders/ord_x/payments",
        "/v1/orders/ord_x/events?after=-1",
        "/v1/events/evt_x/redeliver",
        "/v1/payments?unattributed=true&limit=99999",
        "/v1/payments/pay_x/assign",
        "/v1/assets",
        "/v1/orders/..%2f..%2fetc%2fpasswd",
        "//v1//orders",
        "/v1/orders?limit=0&limit=1",
      ),
      fc
        .tuple(nasty, nasty, nasty)
        .map(
          ([a, b, c]) =>
            `/v1/orders?status=${encodeURIComponent(a)}&cursor=${encodeURIComponent(b)}&merchant_order_id=${encodeURIComponent(c)}`,
        ),
      nasty.map((s) => `/v1/orders/${encodeURIComponent(s)}`),
    ),
  ),
);

const COUNTED = ["orders", "order_options", "bindings", "events", "payments", "delivery_attempts"];

describe("fuzz: merchant API", () => {
  it("error: metadata nested 20,000 deep is a 400 problem, not a stack overflow and a 500 (found by this fuzz run)", async () => {
    const deep = `{"a":${"[".repeat(20_000)}${"]".repeat(20_000)}}`;
    const body = JSON.stringify({
      merchant_order_id: "deep-1",
      amount: "1",
      currency: "USD",
      callback_url: "https://shop.example/hooks",
      metadata: {},
    }).replace('"metadata":{}', `"metadata":${deep}`);
    const before = t.db.prepare("SELECT count(*) FROM orders").pluck().get();
    const r = await raw(
      request(
        "POST",
        "/v1/orders",
        [
          ["Authorization", okKey],
          ["Content-Type", "application/json"],
        ],
        Buffer.from(body),
      ),
    );
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({
      errors: [{ path: "metadata", message: "must nest at most 32 levels deep" }],
    });
    expect(t.db.prepare("SELECT count(*) FROM orders").pluck().get()).toBe(before);
  });

  it(`behavior: ${RUNS} hostile requests get 4xx problems or real successes, never a 500 or a partial write`, async () => {
    const started = Date.now();
    const counts = () => {
      const out: Record<string, number> = {};
      for (const table of COUNTED)
        out[table] = t.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      out.bound = t.db.prepare("SELECT count(*) FROM pool_addresses WHERE bound = 1").pluck().get() as number;
      return out;
    };
    const schema = () => t.db.prepare("SELECT count(*) FROM sqlite_master").pluck().get();
    const schemaBefore = schema();
    const tally: Record<string, number> = {};
    const failures: string[] = [];

    await fc
      .assert(
        fc.asyncProperty(
          targets,
          authHeaders,
          contentTypes,
          bodyText,
          async ([method, path], auth, ct, body) => {
            const before = counts();
            const answer = await raw(request(method!, path!, [...auth, ...ct], Buffer.from(body, "utf8")));
            const after = counts();
            tally[answer.status] = (tally[answer.status] ?? 0) + 1;
            const where = `${method} ${path} → ${answer.status} ${answer.body.slice(0, 300)}`;
            // node's own parser may refuse a request outright (bad header bytes, huge headers)
            const parserRefusal = (answer.status === 400 || answer.status === 431) && answer.body === "";
            if (
              !(answer.status >= 200 && answer.status < 500) &&
              !(answer.status === 503 && answer.body.includes("pool_exhausted"))
            )
              failures.push(where);
            const created = answer.status === 201;
            for (const table of COUNTED) {
              const grew = after[table]! - before[table]!;
              const allowed =
                created && (table === "orders" || table === "order_options" || table === "bindings")
                  ? grew > 0
                  : grew === 0;
              if (!allowed) failures.push(`${where}: ${table} ${before[table]} → ${after[table]}`);
            }
            if (created) {
              if (
                after.orders !== before.orders! + 1 ||
                after.bindings !== before.bindings! + 1 ||
                after.bound !== before.bound! + 1
              )
                failures.push(
                  `${where}: a create wrote ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
                );
            } else if (after.bound !== before.bound) failures.push(`${where}: pool changed`);
            if (answer.status >= 400 && !parserRefusal) {
              if (!answer.headers["content-type"]?.startsWith("application/problem+json"))
                failures.push(`${where}: not a problem`);
              const p = JSON.parse(answer.body) as Record<string, unknown>;
              if (p.status !== answer.status || typeof p.type !== "string" || typeof p.detail !== "string")
                failures.push(`${where}: malformed problem`);
              if (/\n\s+at |node:internal|\.ts:\d+/.test(answer.body))
                failures.push(`${where}: leaks a stack trace`);
            }
            return failures.length === 0;
          },
        ),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      )
      .catch((e: Error) => {
        const short = (l: string) => (l.length > 600 ? `${l.slice(0, 600)}… (${l.length} chars)` : l);
        throw new Error(
          `${e.message.split("\n").slice(0, 4).map(short).join("\n")}\nfirst failures:\n${failures.slice(0, 5).map(short).join("\n")}`,
        );
      });

    // still standing, schema intact, and every stored order whole
    const alive = await raw(request("GET", "/v1/assets", [["Authorization", okKey]], Buffer.alloc(0)));
    expect(alive.status).toBe(200);
    expect(schema()).toBe(schemaBefore);
    const broken = t.db
      .prepare(
        `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_options WHERE order_id = o.id)
           OR (SELECT count(*) FROM bindings WHERE order_id = o.id) != 1`,
      )
      .pluck()
      .get();
    expect(broken).toBe(0);
    recordResult({
      scenario: "fuzz: merchant API",
      faults: `${RUNS} hostile requests (status: ${Object.entries(tally)
        .map(([s, n]) => `${s}×${n}`)
        .join(", ")})`,
      checked: `row counts of ${COUNTED.length} tables around every request`,
      delivered: "-",
      mismatches: failures.length,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(failures).toEqual([]);
  });
});
