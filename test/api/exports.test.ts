// GET /v1/exports/payments: payments with their order, amounts and locked rate as CSV or NDJSON,
// scoped by key, streamed in chunks.
import { type IncomingMessage, get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORT_CHUNK, EXPORT_COLUMNS, csvLine, exportPayments } from "../../src/export/payments.js";
import { API_KEY, OPERATOR_KEY, OTHER_KEY, clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";
import { TEST_ENGINE } from "../helpers/postgres.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** GET on a connection of its own (no pooled keep-alive socket). */
function getFresh(url: string, key: string) {
  return new Promise<{ status: number; chunked: string | undefined; text: string }>((resolve, reject) =>
    get(url, { agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () =>
        resolve({ status: res.statusCode!, chunked: res.headers["transfer-encoding"], text }),
      );
    }).on("error", reject),
  );
}

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF) to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  expect(field).toBe(""); // the last line ends with CRLF
  return rows;
}

describe("CSV fields", () => {
  it("behavior: commas, quotes and line breaks are quoted; the rest is as is", () => {
    const line = csvLine(["plain", "a,b", 'say "hi"', "two\nlines", "cr\rlf", null, 42, ""]);
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines","cr\rlf",,42,\r\n');
    expect(parseCsv(line)).toEqual([["plain", "a,b", 'say "hi"', "two\nlines", "cr\rlf", "", "42", ""]]);
  });
});

describe("payment exports", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  const as = (key: string, path: string) =>
    fetch(t.base + path, { headers: { authorization: `Bearer ${key}` } }).then(async (r) => ({
      status: r.status,
      type: r.headers.get("content-type"),
      chunked: r.headers.get("transfer-encoding"),
      text: await r.text(),
    }));
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 10, now: c.now });
    for (const [key, name] of [
      [API_KEY, "A"],
      [OTHER_KEY, "B"],
    ] as const) {
      const r = await t.call(
        "POST",
        "/v1/orders",
        { merchant_order_id: name, amount: "10", currency: "USD", callback_url: "http://127.0.0.1:9/h" },
        { authorization: `Bearer ${key}` },
      );
      ids[name] = r.body.id;
      ids[`addr${name}`] = (r.body.options[0].address as string).toLowerCase();
    }
    c.advance(60_000);
    const b = { number: 1, hash: hash(1), timestamp: c.now() };
    t.ledger.recordScan(
      {
        chain: "anvil",
        heads: { head: 1 },
        blocks: [{ ...b, parentHash: hash(0) }],
        transfers: [
          // A: 4 USDT; B: 0.001 ETH; and 3 USDT to an address no order holds
          {
            txid: hash(0xa),
            index: 0,
            asset: "USDT-ERC20",
            address: ids.addrA!,
            amount: 4_000_000n,
            block: b,
          },
          { txid: hash(0xb), index: 0, asset: "ETH", address: ids.addrB!, amount: 10n ** 15n, block: b },
          {
            txid: hash(0xc),
            index: 1,
            asset: "USDT-ERC20",
            address: `0x${"ab".repeat(20)}`,
            amount: 3_000_000n,
            block: b,
          },
        ],
        keepBlocks: 64,
      },
      c.now(),
    );
  });
  afterAll(() => t.close());

  it("default: CSV with a header, every column, amounts in base units and decimal, the locked rate", async () => {
    const r = await as(OPERATOR_KEY, "/v1/exports/payments");
    expect(r.status).toBe(200);
    expect(r.type).toBe("text/csv; charset=utf-8");
    const [header, ...rows] = parseCsv(r.text);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    const byTx = new Map(rows.map((row) => [row[8], Object.fromEntries(header!.map((h, i) => [h, row[i]]))]));
    expect(rows).toHaveLength(3);
    expect(byTx.get(hash(0xa))).toMatchObject({
      order_id: ids.A,
      merchant_order_id: "A",
      asset: "USDT-ERC20",
      amount_base: "4000000",
      amount: "4",
      status: "confirmed",
      block_number: "1",
      block_time: new Date(c.now()).toISOString(),
      currency: "USD",
      rate: "1",
    });
    expect(byTx.get(hash(0xb))).toMatchObject({
      merchant_order_id: "B",
      amount_base: "1000000000000000",
      amount: "0.001",
      rate: "3000",
    });
    // unattributed: no order, no rate
    expect(byTx.get(hash(0xc))).toMatchObject({ order_id: "", merchant_order_id: "", rate: "", index: "1" });
  });

  it("behavior: NDJSON, one object per line; merchants get their own orders' payments only", async () => {
    const lines = async (key: string) => {
      const r = await as(key, "/v1/exports/payments?format=ndjson");
      expect(r.status).toBe(200);
      expect(r.type).toBe("application/x-ndjson");
      expect(r.text.endsWith("\n")).toBe(true);
      return r.text
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const shop = await lines(API_KEY);
    expect(shop).toEqual([expect.objectContaining({ order_id: ids.A, amount_base: "4000000", amount: "4" })]);
    expect(Object.keys(shop[0]!)).toEqual([...EXPORT_COLUMNS]);
    expect((await lines(OTHER_KEY)).map((l) => l.order_id)).toEqual([ids.B]);
    expect(await lines(OPERATOR_KEY)).toHaveLength(3);
  });

  it("behavior: from and to select by first-seen time; bad times are 400 naming the field", async () => {
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const csvRows = async (q: string) =>
      parseCsv((await as(OPERATOR_KEY, `/v1/exports/payments?${q}`)).text).length - 1;
    expect(await csvRows(`from=${at(c.now())}`)).toBe(3);
    expect(await csvRows(`from=${at(c.now() + 1)}`)).toBe(0);
    expect(await csvRows(`to=${at(c.now())}`)).toBe(0);
    expect(await csvRows(`from=${at(c.now() - 1)}&to=${at(c.now() + 1)}`)).toBe(3);
    for (const [q, field] of [
      ["from=yesterday", "from"],
      [`from=${at(c.now())}&to=${at(c.now())}`, "to"],
      ["format=xlsx", "format"],
      ["extra=1", "(root)"],
    ]) {
      const r = await t.call("GET", `/v1/exports/payments?${q}`, undefined, {
        authorization: `Bearer ${OPERATOR_KEY}`,
      });
      expect(r.status, q).toBe(400);
      expect(r.body.errors[0].path, q).toBe(field);
    }
  });

  it("behavior: 50,000 payments (10,000 on PostgreSQL) stream in chunks: the first bytes leave before the statement is exhausted", async () => {
    // 500 rows a statement: one round trip each on PostgreSQL too
    const ROWS = 500;
    const insert = t.db.prepare(
      `INSERT INTO payments (id, chain, txid, idx, asset, address, amount, block_number, block_hash, block_time,
         status, order_id, unexpected_asset, late, min_confirmations, created_at, updated_at)
       VALUES ${Array(ROWS)
         .fill("(?, 'anvil', ?, 0, 'USDT-ERC20', ?, '1000000', 2, ?, ?, 'confirmed', ?, 0, 0, 0, ?, ?)")
         .join(", ")}`,
    );
    // On PostgreSQL 10,000: the counters' triggers (migrations/postgres/0005_counters.sql) update one
    // row per inserted payment, and PostgreSQL walks every version of that row made earlier in the
    // same transaction, so one transaction of N inserts costs N² there (50,000: 41 s). The ledger
    // writes one scan batch a transaction; this bulk insert is the test's, not the daemon's.
    const N = TEST_ENGINE === "postgres" ? 10_000 : 50_000;
    t.db.transaction(() => {
      for (let from = 0; from < N; from += ROWS) {
        const values: unknown[] = [];
        for (let i = from; i < from + ROWS; i++) {
          const at = c.now() + 1000 + i;
          values.push(`pay_BULK${String(i).padStart(22, "0")}`, hash(0x10000 + i), ids.addrA, hash(2));
          values.push(at, ids.A, at, at);
        }
        insert.run(values);
      }
    })();
    // what autovacuum does after a bulk insert: without statistics PostgreSQL sorts the merchant's
    // payments for every chunk instead of walking payments_created
    if (TEST_ENGINE === "postgres") t.db.exec("ANALYZE");
    // the generator: its first chunk comes after ONE read of EXPORT_CHUNK rows, of N / EXPORT_CHUNK
    const reads: number[] = [];
    const gen = exportPayments(
      t.db,
      { owner: "shop", from: 0, to: Number.MAX_SAFE_INTEGER, format: "ndjson" },
      () => 6,
      (n) => reads.push(n),
    );
    const first = await gen.next();
    expect(first.done).toBe(false);
    expect(first.value.split("\n")).toHaveLength(EXPORT_CHUNK + 1);
    expect(reads).toEqual([EXPORT_CHUNK]);
    let lines = EXPORT_CHUNK;
    for await (const chunk of gen) lines += chunk.split("\n").length - 1;
    expect(lines).toBe(N + 1); // the bulk rows and A's own payment
    expect(reads.length).toBe(Math.ceil((N + 1) / EXPORT_CHUNK) + ((N + 1) % EXPORT_CHUNK === 0 ? 1 : 0));
    expect(Math.max(...reads)).toBe(EXPORT_CHUNK);
    // over HTTP: chunked (no Content-Length: it was never one string), complete, in order
    // a fresh connection: the insert above held the event loop past the server's keep-alive
    // timeout, so a pooled one may already be closed by the server
    const r = await getFresh(`${t.base}/v1/exports/payments?format=csv`, API_KEY);
    expect(r.status).toBe(200);
    expect(r.chunked).toBe("chunked");
    const rows = parseCsv(r.text);
    expect(rows).toHaveLength(N + 2);
    const created = rows.slice(1).map((row) => row[13]!);
    expect([...created].sort()).toEqual(created);
    // while an export is open (first bytes read, the rest not), the database serves other requests
    const open = await new Promise<IncomingMessage>((resolve, reject) =>
      get(
        `${t.base}/v1/exports/payments?format=ndjson`,
        { agent: false, headers: { authorization: `Bearer ${OPERATOR_KEY}` } },
        resolve,
      ).on("error", reject),
    );
    const firstBytes = await new Promise<Buffer>((resolve) => open.once("data", resolve));
    open.pause();
    expect(firstBytes.length).toBeGreaterThan(0);
    expect((await t.call("GET", `/v1/orders/${ids.A}`)).status).toBe(200);
    open.destroy();
  });
});
