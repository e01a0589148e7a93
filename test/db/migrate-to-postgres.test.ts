// `depositd migrate-to-postgres` through the compiled CLI (npm test builds first): a SQLite ledger
// built through the real ledger API (orders on EVM, Tron and Bitcoin chains with static pools, payments through
// the scan write path, a deposit account, a cancel, an expiry, callbacks delivered to a real
// receiver on 127.0.0.1) copied into the run's throw-away PostgreSQL, verified, refused a second
// time, and a corrupted copy caught by --verify-only.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { networks, payments } from "bitcoinjs-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Transfer } from "../../src/chains/types.js";
import { addressCodecFor } from "../../src/chains/index.js";
import { tronHexToBase58 } from "../../src/chains/tron/address.js";
import { validateConfig } from "../../src/config/load.js";
import { type DB, openDatabase } from "../../src/db/index.js";
import { COUNTER_FOLDS } from "../../src/db/counters.js";
import { COPY_TABLES, sqliteTables } from "../../src/db/migrate-to-postgres.js";
import { createPool } from "../../src/db/postgres.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { createDeliveryWorker } from "../../src/notify/deliver.js";
import { importPoolFile } from "../../src/pool/index.js";
import { clock, evmPoolText, rawConfig, testCommon } from "../helpers/config.js";
import { createTestDatabase } from "../helpers/postgres.js";

const main = join(process.cwd(), "dist", "src", "main.js");
const hash = (n: number) => "0x" + n.toString(16).padStart(64, "0");
/** a payment amount far beyond 2^64 wei: it must arrive as the same digits */
const BIG_WEI = 123456789012345678901234567890n;

let dir: string;
let sqlitePath: string;
let configFile: string;
let receiver: Server;

function run(args: string[]) {
  return spawnSync(process.execPath, [main, "--config", configFile, ...args], {
    encoding: "utf8",
    env: { ...process.env },
    timeout: 60_000,
  });
}

const staticPool = (file: string) => ({ source: "static", cooldown_minutes: 10, low_water: 0, file });

/** n random addresses of a chain kind, as a pool file's text */
function poolText(kind: "evm" | "tron" | "bitcoin", n: number): string {
  if (kind === "evm") return evmPoolText(n).text;
  const one = () =>
    kind === "tron"
      ? tronHexToBase58("41" + randomBytes(20).toString("hex"))
      : payments.p2wpkh({ hash: randomBytes(20), network: networks.regtest }).address!;
  return Array.from({ length: n }, one).join("\n") + "\n";
}

/** The ledger a merchant would have after a while, written through the ledger's own paths. */
async function buildLedger(callbackUrl: string): Promise<void> {
  const kinds = { eth: "evm", tron: "tron", btc: "bitcoin" } as const;
  const pools = Object.fromEntries(
    Object.entries(kinds).map(([id, kind]) => {
      const file = join(dir, `${id}.pool.txt`);
      const text = poolText(kind, 16);
      writeFileSync(file, text);
      return [id, { file, text }];
    }),
  ) as Record<keyof typeof kinds, { file: string; text: string }>;
  const rpc = ["http://127.0.0.1:1"];
  const raw = rawConfig({
    database: { path: sqlitePath, synchronous: "NORMAL" },
    rates: { static: { USD: { ETH: "3000", TRX: "0.25", BTC: "60000" } } },
    chains: [
      { id: "eth", kind: "evm", rpc, chain_id: 1, start_block: 1, pool: staticPool(pools.eth.file) },
      { id: "tron", kind: "tron", rpc, start_block: 1, pool: staticPool(pools.tron.file) },
      {
        id: "btc",
        kind: "bitcoin",
        network: "regtest",
        rpc,
        rpc_auth: "u:p",
        start_block: 1,
        pool: staticPool(pools.btc.file),
      },
    ],
    assets: [
      { id: "ETH", chain: "eth", decimals: 18, confirmations: 1 },
      { id: "TRX", chain: "tron", decimals: 6, confirmations: 1 },
      { id: "BTC", chain: "btc", decimals: 8, confirmations: 1 },
    ],
  });
  configFile = join(dir, "depositd.yaml");
  writeFileSync(configFile, stringify(raw));
  const config = validateConfig(raw, {});
  const c = clock();
  const common = testCommon(config, c.now);
  const db = openDatabase(sqlitePath);
  const ledger = createLedger(db, common, createCatalog(config));
  for (const chain of config.chains) {
    const pool = pools[chain.id as keyof typeof kinds];
    importPoolFile(db, chain.id, addressCodecFor(chain), pool.text, c.now(), pool.file);
    ledger.initCursor(chain.id, 1, c.now());
  }
  const body = (n: number, over: Record<string, unknown> = {}) => ({
    merchant_order_id: `M-${n}`,
    amount: "30",
    currency: "USD",
    callback_url: callbackUrl,
    metadata: { cart: n, note: "naïve café ☕" },
    ...over,
  });
  const orders = [0, 1, 2, 3, 4, 5].map((n) => {
    c.advance(1000);
    return ledger.createOrder("shop", body(n, n === 5 ? { currency: "ETH", amount: "0.5" } : {}), c.now())
      .order;
  });
  const account = ledger.createAccount(
    "shop",
    { customer_id: "cust-1", callback_url: callbackUrl },
    c.now(),
  ).account;
  const height: Record<string, number> = { eth: 1, tron: 1, btc: 1 };
  let tx = 0;
  const pay = (id: string, asset: string, address: string, amount: bigint): Transfer => ({
    txid: hash(0xab0000 + ++tx),
    index: tx % 3,
    asset,
    address: id === "tron" ? address : address.toLowerCase(),
    amount,
    block: { number: height[id]!, hash: hash(height[id]!), timestamp: c.now() },
  });
  const scan = (id: string, transfers: (n: number) => Transfer[]) => {
    const n = height[id]!;
    ledger.recordScan(
      {
        chain: id,
        heads: { head: n + 2 },
        blocks: [{ number: n, hash: hash(n), parentHash: hash(n - 1), timestamp: c.now() }],
        transfers: transfers(n),
        keepBlocks: 64,
      },
      c.now(),
    );
    height[id]!++;
  };
  const option = (o: (typeof orders)[number], chainId: string) => o.options.find((x) => x.chain === chainId)!;
  c.advance(60_000);
  scan("eth", () => [pay("eth", "ETH", option(orders[0]!, "eth").address, 10n ** 16n)]);
  scan("tron", () => [pay("tron", "TRX", option(orders[1]!, "tron").address, 60_000_000n)]);
  scan("btc", () => [pay("btc", "BTC", option(orders[3]!, "btc").address, 50_000n)]);
  scan("eth", () => [
    pay("eth", "ETH", option(orders[5]!, "eth").address, 5n * 10n ** 17n),
    pay("eth", "ETH", account.addresses.find((a) => a.chain === "eth")!.address, BIG_WEI),
  ]);
  scan("tron", () => []);
  ledger.cancelOrder("shop", orders[2]!.id, c.now());
  // deliver what is due to a real receiver
  const worker = createDeliveryWorker({ db, common, owner: "migrate-test" });
  for (let i = 0; i < 5 && (await worker.tick()) > 0; i++) c.advance(1000);
  await worker.stop(200);
  // the rest expires once both chains are scanned past their deadline
  c.advance(40 * 60_000);
  for (const id of ["eth", "tron", "btc"]) scan(id, () => []);
  ledger.tick(c.now());
  db.close();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "depositd-m2pg-"));
  sqlitePath = join(dir, "depositd.db");
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => void res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const port = (receiver.address() as { port: number }).port;
  await buildLedger(`http://127.0.0.1:${port}/cb`);
}, 60_000);
afterAll(async () => {
  await new Promise((r) => receiver.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function sqliteCounts(db: DB): Record<string, number> {
  return Object.fromEntries(
    COPY_TABLES.map((t) => [t, Number(db.prepare(`SELECT count(*) FROM ${t}`).pluck().get())]),
  );
}

/** The printed row of `table` in console.table's output: its two counts and whether it matched. */
function printed(stdout: string, table: string) {
  const m = new RegExp(`'${table}'\\s*│\\s*(\\d+)\\s*│\\s*(\\d+)\\s*│[^\\n]*'(yes|NO)'`).exec(stdout);
  if (!m) throw new Error(`no row for ${table} in:\n${stdout}`);
  return { sqlite: Number(m[1]), postgres: Number(m[2]), match: m[3] };
}

function ledgerSums(stdout: string) {
  const s = /ledger checksum sqlite: +([0-9a-f]{64})/.exec(stdout)?.[1];
  const p = /ledger checksum postgres: +([0-9a-f]{64})/.exec(stdout)?.[1];
  return { s, p };
}

describe("migrate-to-postgres", () => {
  it("guard: the copier knows every table of the SQLite schema, parents before children", () => {
    const db = openDatabase(":memory:");
    expect(sqliteTables(db)).toEqual([...COPY_TABLES].sort());
    for (const [i, t] of COPY_TABLES.entries()) {
      const parents = db
        .prepare(`SELECT DISTINCT "table" FROM pragma_foreign_key_list('${t}')`)
        .pluck()
        .all();
      for (const p of parents) expect(COPY_TABLES.indexOf(p as never), `${t} → ${String(p)}`).toBeLessThan(i);
    }
    db.close();
  });

  it("error: a target URL holding the password, or a password file that is not there, is refused before anything is read", () => {
    const r = run(["migrate-to-postgres", "--to", "postgres://u:secret@127.0.0.1:1/x"]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      "error: --to: the URL must not hold the password (it would show in ps); use PGPASSWORD or --password-file",
    );
    const missing = join(dir, "no-such-password");
    const f = run(["migrate-to-postgres", "--to", "postgres://u@127.0.0.1:1/x", "--password-file", missing]);
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(new RegExp(`^error: --password-file: cannot read ${missing}: ENOENT`));
  });

  it("error: a source another process has open (a running depositd, even idle) is refused; the target untouched", async () => {
    const url = await createTestDatabase();
    const daemon = openDatabase(sqlitePath, { migrate: false });
    daemon.prepare("SELECT count(*) FROM orders").get();
    try {
      const r = run(["migrate-to-postgres", "--to", url]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(
        `error: another process has the SQLite database ${sqlitePath} open (a running depositd?): stop it first (docs/scaling.md)`,
      );
    } finally {
      daemon.close();
    }
    const pool = createPool({ url, pool_size: 1, password: undefined });
    try {
      const tables = await pool.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(Number(tables.rows[0].n)).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it("behavior: a failed copy rolls back whole, and a rerun then copies", async () => {
    const url = await createTestDatabase();
    const pool = createPool({ url, pool_size: 1, password: undefined });
    try {
      // the schema first, then a constraint the copy's payments break (after orders were copied)
      const { migratePostgres } = await import("../../src/db/postgres.js");
      await migratePostgres(pool);
      await pool.query("ALTER TABLE payments ADD CONSTRAINT test_small CHECK (length(amount) < 25)");
      const failed = run(["migrate-to-postgres", "--to", url]);
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain("test_small");
      for (const t of COPY_TABLES)
        expect(Number((await pool.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n), t).toBe(0);
      await pool.query("ALTER TABLE payments DROP CONSTRAINT test_small");
      const again = run(["migrate-to-postgres", "--to", url]);
      expect(again.stderr).toBe("");
      expect(again.status).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it("behavior: copies everything, verified; refuses a second time; --verify-only catches a corrupted copy", async () => {
    const url = await createTestDatabase();
    // the test reads the SQLite file only between runs: the copy refuses a file someone has open
    let lite = openDatabase(sqlitePath, { migrate: false });
    const counts = sqliteCounts(lite);
    // the ledger is realistic: every table a running install fills has rows
    for (const t of ["orders", "order_options", "bindings", "payments", "events", "delivery_attempts"])
      expect(counts[t], t).toBeGreaterThan(0);
    for (const t of ["deposit_accounts", "status_counts", "pool_counts", "hourly_counts", "order_chains"])
      expect(counts[t], t).toBeGreaterThan(0);
    // paid on all three kinds of chain, each payment attributed to its order
    expect(
      lite
        .prepare("SELECT DISTINCT chain FROM payments WHERE order_id IS NOT NULL ORDER BY chain")
        .pluck()
        .all(),
    ).toEqual(["btc", "eth", "tron"]);
    lite.close();

    const r = run(["migrate-to-postgres", "--to", url]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("applied PostgreSQL migrations: 1, 2, 3");
    for (const t of COPY_TABLES)
      expect(printed(r.stdout, t), t).toEqual({ sqlite: counts[t], postgres: counts[t], match: "yes" });
    const sums = ledgerSums(r.stdout);
    expect(sums.s).toMatch(/^[0-9a-f]{64}$/);
    expect(sums.p).toBe(sums.s);
    expect(r.stdout).toContain(`verified: all ${COPY_TABLES.length} tables match`);
    expect(r.stdout.trim().endsWith("committed")).toBe(true);

    lite = openDatabase(sqlitePath, { migrate: false });
    const pool = createPool({ url, pool_size: 2, password: undefined });
    try {
      // rows arrive as they were, with exact types: an order, the payments, every event body
      const order = lite.prepare("SELECT * FROM orders ORDER BY id LIMIT 1").get() as { id: string };
      expect((await pool.query("SELECT * FROM orders WHERE id = $1", [order.id])).rows[0]).toEqual(order);
      const payments = lite.prepare("SELECT * FROM payments ORDER BY id").all();
      expect((await pool.query('SELECT * FROM payments ORDER BY id COLLATE "C"')).rows).toEqual(payments);
      const big = await pool.query("SELECT amount FROM payments WHERE amount = $1", [BIG_WEI.toString()]);
      expect(big.rows).toEqual([{ amount: "123456789012345678901234567890" }]);
      const bodies = lite.prepare("SELECT id, body FROM events ORDER BY id").all() as {
        id: string;
        body: string;
      }[];
      const pgBodies = (await pool.query('SELECT id, body FROM events ORDER BY id COLLATE "C"')).rows;
      expect(pgBodies.map((e: { body: string }) => Buffer.from(e.body).toString("hex"))).toEqual(
        bodies.map((e) => Buffer.from(e.body).toString("hex")),
      );
      // options in SQLite's rowid order; the counters as SQLite kept them
      const liteOptions = lite
        .prepare("SELECT rowid, order_id, asset FROM order_options ORDER BY rowid")
        .all();
      expect(
        (await pool.query("SELECT rowid, order_id, asset FROM order_options ORDER BY rowid")).rows,
      ).toEqual(liteOptions);
      for (const t of [
        "status_counts",
        "pool_counts",
        "hourly_counts",
        "order_status_hours",
        "order_chains",
      ]) {
        const rows = lite.prepare(`SELECT * FROM ${t} ORDER BY 1, 2, 3`).all();
        expect((await pool.query(`SELECT * FROM ${t} ORDER BY 1, 2, 3`)).rows, t).toEqual(rows);
      }

      // identity sequences advanced, triggers back on: new rows without ids fit (rolled back)
      const maxId = Number(lite.prepare("SELECT max(id) FROM pool_addresses").pluck().get());
      const maxAttempt = Number(lite.prepare("SELECT max(id) FROM delivery_attempts").pluck().get());
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const added = await client.query(
          `INSERT INTO pool_addresses (chain, address, display, source, created_at)
           VALUES ('eth', '0x00000000000000000000000000000000000000aa', '0x00000000000000000000000000000000000000AA', 'static', 1)
           RETURNING id`,
        );
        expect(added.rows[0].id).toBe(maxId + 1);
        const eventId = bodies[0]!.id;
        const attempt = await client.query(
          `INSERT INTO delivery_attempts (event_id, attempt, started_at, latency_ms, status_code)
           VALUES ($1, 99, 1, 1, 204) RETURNING id`,
          [eventId],
        );
        expect(attempt.rows[0].id).toBe(maxAttempt + 1);
        for (const fold of COUNTER_FOLDS) await client.query(fold);
        const total = await client.query("SELECT total FROM pool_counts WHERE chain = 'eth'");
        const liteTotal = lite.prepare("SELECT total FROM pool_counts WHERE chain = 'eth'").pluck().get();
        expect(total.rows[0].total).toBe(Number(liteTotal) + 1);
      } finally {
        await client.query("ROLLBACK");
        client.release();
      }

      // a second copy into the now non-empty target is refused and changes nothing
      lite.close();
      const second = run(["migrate-to-postgres", "--to", url]);
      expect(second.status).toBe(1);
      expect(second.stdout).toBe("");
      expect(second.stderr).toContain("error: the PostgreSQL database is not empty (rows in ");
      expect(second.stderr).toContain("nothing was changed");
      const verified = run(["migrate-to-postgres", "--to", url, "--verify-only"]);
      expect(verified.stderr).toBe("");
      expect(verified.status).toBe(0);
      expect(ledgerSums(verified.stdout)).toEqual(sums);
      expect(verified.stdout).toContain(`verified: all ${COPY_TABLES.length} tables match`);

      // a corrupted copy: a row gone, an amount changed by one digit; both named, exit 1
      await pool.query("DELETE FROM delivery_attempts WHERE id = $1", [maxAttempt]);
      await pool.query("UPDATE payments SET amount = amount || '0' WHERE amount = $1", [BIG_WEI.toString()]);
      const bad = run(["migrate-to-postgres", "--to", url, "--verify-only"]);
      expect(bad.status).toBe(1);
      expect(printed(bad.stdout, "delivery_attempts")).toEqual({
        sqlite: counts.delivery_attempts,
        postgres: counts.delivery_attempts! - 1,
        match: "NO",
      });
      expect(printed(bad.stdout, "payments")).toEqual({
        sqlite: counts.payments,
        postgres: counts.payments,
        match: "NO",
      });
      expect(printed(bad.stdout, "orders").match).toBe("yes");
      expect(bad.stdout).toContain("MISMATCH in 2 table(s): payments, delivery_attempts");
      const badSums = ledgerSums(bad.stdout);
      expect(badSums.s).toBe(sums.s);
      expect(badSums.p).not.toBe(sums.s);
    } finally {
      await pool.end();
      if (lite.open) lite.close();
    }
  });
});
