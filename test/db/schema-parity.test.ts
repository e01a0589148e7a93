// The two migration sets (migrations/*.sql for SQLite, migrations/postgres/*.sql for PostgreSQL)
// must build the same schema: the same version numbers, tables, columns (name, nullability, type
// class), primary keys, unique constraints and indexes (columns, order, partial or not), foreign
// keys, CHECK constraints (by count per table), index names and trigger names. A new migration in
// one set without its twin in the other fails here: a missing version fails "same versions"; a
// column or index added to one side only makes that side's description differ in `columns` or
// `indexes` (the last test shows exactly that on a copy with one extra column and index).
import Database from "better-sqlite3";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DB, migrate, readMigrations } from "../../src/db/index.js";
import { createPool, migratePostgres, readPostgresMigrations } from "../../src/db/postgres.js";
import { createTestDatabase } from "../helpers/postgres.js";

type TypeClass = "integer" | "text" | "real" | "bytea" | "bool";

interface TableShape {
  columns: Record<string, { type: TypeClass; notNull: boolean }>;
  primaryKey: string[];
  /** UNIQUE (…) constraints, as column lists */
  unique: string[];
  foreignKeys: string[];
  checks: number;
}

interface IndexShape {
  table: string;
  unique: boolean;
  partial: boolean;
  /** column, with " DESC" where descending */
  columns: string[];
}

interface Schema {
  tables: Record<string, TableShape>;
  indexes: Record<string, IndexShape>;
  triggers: string[];
}

// PostgreSQL has no implicit rowid: order_options carries an explicit `rowid` identity column so
// `ORDER BY rowid` (src/ledger/statements.ts, src/checkout/store.ts) reads the same on both.
const PG_ONLY_COLUMNS: Record<string, string[]> = { order_options: ["rowid"] };
// PostgreSQL's counter triggers append deltas that the timer folds (migrations/postgres/0013):
// several instances write there at once. SQLite's one writer updates the counters in place.
const PG_ONLY_TABLES = new Set([
  "status_count_deltas",
  "pool_count_deltas",
  "hourly_count_deltas",
  "order_status_hour_deltas",
]);

function typeClass(declared: string): TypeClass {
  const t = declared.toLowerCase();
  if (/int/.test(t)) return "integer";
  if (/char|text|clob/.test(t)) return "text";
  if (/real|floa|doub|numeric|decimal/.test(t)) return "real";
  if (/blob|bytea/.test(t) || t === "") return "bytea";
  if (/bool/.test(t)) return "bool";
  throw new Error(`unknown column type ${declared}`);
}

const sorted = <T>(xs: T[]) => [...xs].sort();

function describeSqlite(db: DB): Schema {
  const tables: Schema["tables"] = {};
  const indexes: Schema["indexes"] = {};
  const names = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string; sql: string }[];
  for (const { name, sql } of names) {
    const cols = db.prepare(`PRAGMA table_info("${name}")`).all() as {
      name: string;
      type: string;
      notnull: number;
      pk: number;
    }[];
    const unique: string[] = [];
    for (const ix of db.prepare(`PRAGMA index_list("${name}")`).all() as {
      name: string;
      unique: number;
      origin: string;
      partial: number;
    }[]) {
      const info = db.prepare(`PRAGMA index_xinfo("${ix.name}")`).all() as {
        name: string | null;
        desc: number;
        key: number;
      }[];
      const columns = info.filter((c) => c.key === 1).map((c) => `${c.name}${c.desc ? " DESC" : ""}`);
      if (ix.origin === "u") unique.push(columns.join(","));
      else if (ix.origin === "c")
        indexes[ix.name] = { table: name, unique: ix.unique === 1, partial: ix.partial === 1, columns };
    }
    const fks = db.prepare(`PRAGMA foreign_key_list("${name}")`).all() as {
      id: number;
      table: string;
      from: string;
      to: string;
    }[];
    tables[name] = {
      // a SQLite PRIMARY KEY column may hold NULL unless declared NOT NULL; PostgreSQL's never does,
      // and none of ours ever holds one: count primary-key columns as not null
      columns: Object.fromEntries(
        cols.map((c) => [c.name, { type: typeClass(c.type), notNull: c.notnull === 1 || c.pk > 0 }]),
      ),
      primaryKey: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      unique: sorted(unique),
      foreignKeys: sorted(fks.map((f) => `${f.from} → ${f.table}(${f.to})`)),
      checks: (sql.replace(/--[^\n]*/g, "").match(/\bCHECK\s*\(/gi) ?? []).length,
    };
  }
  const triggers = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    .pluck()
    .all() as string[];
  return { tables, indexes, triggers: sorted(triggers) };
}

async function describePostgres(pool: pg.Pool): Promise<Schema> {
  const q = async <T extends pg.QueryResultRow>(sql: string) => (await pool.query<T>(sql)).rows;
  const tables: Schema["tables"] = {};
  const cols = await q<{ table_name: string; column_name: string; data_type: string; is_nullable: string }>(
    `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  for (const c of cols) {
    if (PG_ONLY_TABLES.has(c.table_name) || PG_ONLY_COLUMNS[c.table_name]?.includes(c.column_name)) continue;
    const t = (tables[c.table_name] ??= {
      columns: {},
      primaryKey: [],
      unique: [],
      foreignKeys: [],
      checks: 0,
    });
    t.columns[c.column_name] = { type: typeClass(c.data_type), notNull: c.is_nullable === "NO" };
  }
  const constraints = await q<{ table_name: string; contype: string; cols: string[]; ref: string | null }>(
    `SELECT cl.relname AS table_name, co.contype,
            ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
            CASE WHEN co.contype = 'f' THEN
              (SELECT r.relname || '(' || string_agg(a.attname, ',') || ')' FROM pg_class r
                 JOIN unnest(co.confkey) k(n) ON true
                 JOIN pg_attribute a ON a.attrelid = co.confrelid AND a.attnum = k.n
                WHERE r.oid = co.confrelid GROUP BY r.relname) END AS ref
       FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
       JOIN pg_namespace ns ON ns.oid = cl.relnamespace
      WHERE ns.nspname = 'public'`,
  );
  for (const c of constraints) {
    if (PG_ONLY_TABLES.has(c.table_name)) continue;
    const t = tables[c.table_name]!;
    if (c.contype === "p") t.primaryKey = c.cols;
    else if (c.contype === "u") t.unique.push(c.cols.join(","));
    else if (c.contype === "f") t.foreignKeys.push(`${c.cols.join(",")} → ${c.ref}`);
    else if (c.contype === "c") t.checks++;
  }
  for (const t of Object.values(tables)) {
    t.unique = sorted(t.unique);
    t.foreignKeys = sorted(t.foreignKeys);
  }
  const indexes: Schema["indexes"] = {};
  const ix = await q<{ name: string; table: string; unique: boolean; partial: boolean; columns: string[] }>(
    `SELECT i.relname AS name, t.relname AS "table", x.indisunique AS unique, x.indpred IS NOT NULL AS partial,
            ARRAY(SELECT a.attname || CASE WHEN (x.indoption[k.i - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                    FROM unnest(x.indkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.i) AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace
      WHERE ns.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
  );
  for (const i of ix)
    indexes[i.name] = { table: i.table, unique: i.unique, partial: i.partial, columns: i.columns };
  const triggers = await q<{ tgname: string }>(
    `SELECT tg.tgname FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
       JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE ns.nspname = 'public' AND NOT tg.tgisinternal`,
  );
  return { tables, indexes, triggers: sorted(triggers.map((t) => t.tgname)) };
}

/** Every difference between two schemas, one line each ("" when they are the same). */
function differences(a: Schema, b: Schema): string[] {
  const out: string[] = [];
  const keys = (x: object, y: object) => sorted([...new Set([...Object.keys(x), ...Object.keys(y)])]);
  for (const t of keys(a.tables, b.tables)) {
    const ta = a.tables[t];
    const tb = b.tables[t];
    if (!ta || !tb) {
      out.push(`table ${t}: only in ${ta ? "sqlite" : "postgres"}`);
      continue;
    }
    for (const c of keys(ta.columns, tb.columns))
      if (JSON.stringify(ta.columns[c]) !== JSON.stringify(tb.columns[c]))
        out.push(
          `column ${t}.${c}: sqlite ${JSON.stringify(ta.columns[c])} postgres ${JSON.stringify(tb.columns[c])}`,
        );
    for (const k of ["primaryKey", "unique", "foreignKeys", "checks"] as const)
      if (JSON.stringify(ta[k]) !== JSON.stringify(tb[k]))
        out.push(`${k} of ${t}: sqlite ${JSON.stringify(ta[k])} postgres ${JSON.stringify(tb[k])}`);
  }
  for (const i of keys(a.indexes, b.indexes))
    if (JSON.stringify(a.indexes[i]) !== JSON.stringify(b.indexes[i]))
      out.push(`index ${i}: sqlite ${JSON.stringify(a.indexes[i])} postgres ${JSON.stringify(b.indexes[i])}`);
  if (JSON.stringify(a.triggers) !== JSON.stringify(b.triggers))
    out.push(`triggers: sqlite ${a.triggers.join(",")} postgres ${b.triggers.join(",")}`);
  return out;
}

let pool: pg.Pool;
let lite: DB;
let sqliteSchema: Schema;
let postgresSchema: Schema;
beforeAll(async () => {
  pool = createPool({ url: await createTestDatabase(), pool_size: 2, password: undefined });
  await migratePostgres(pool);
  lite = new Database(":memory:");
  migrate(lite);
  sqliteSchema = describeSqlite(lite);
  postgresSchema = await describePostgres(pool);
});
afterAll(async () => {
  lite.close();
  await pool.end();
});

describe("schema parity", () => {
  it("default: both sets have the same migration versions and names", () => {
    const both = (ms: { version: number; name: string }[]) => ms.map((m) => `${m.version}_${m.name}`);
    expect(both(readPostgresMigrations())).toEqual(both(readMigrations()));
    // the SQLite runner reads migrations/*.sql only, never the postgres/ folder
    expect(readMigrations().every((m) => !/CREATE DOMAIN|plpgsql/i.test(m.sql))).toBe(true);
  });

  it("default: SQLite and PostgreSQL build the same tables, columns, keys, indexes and triggers", () => {
    expect(Object.keys(sqliteSchema.tables).length).toBeGreaterThan(15);
    expect(Object.keys(sqliteSchema.indexes).length).toBeGreaterThanOrEqual(25);
    expect(sqliteSchema.triggers.length).toBeGreaterThanOrEqual(18);
    const checks = Object.values(postgresSchema.tables).reduce((n, t) => n + t.checks, 0);
    expect(checks).toBeGreaterThanOrEqual(13);
    expect(differences(sqliteSchema, postgresSchema)).toEqual([]);
  });

  it("behavior: the described shapes are the real ones (spot checks)", () => {
    const bindings = postgresSchema.tables.bindings!;
    expect(bindings.checks).toBe(1);
    expect(bindings.foreignKeys).toEqual(["account_id → deposit_accounts(id)", "order_id → orders(id)"]);
    expect(postgresSchema.indexes.bindings_one_live_per_address).toEqual({
      table: "bindings",
      unique: true,
      partial: true,
      columns: ["chain", "address"],
    });
    expect(postgresSchema.indexes.orders_created!.columns).toEqual(["created_at DESC", "id DESC"]);
    expect(sqliteSchema.tables.payments!.unique).toEqual(["chain,txid,idx,asset"]);
    expect(sqliteSchema.tables.leases!.primaryKey).toEqual(["role"]);
  });

  it("behavior: a column or an index added to one set only is reported", () => {
    const drifted = new Database(":memory:");
    migrate(drifted, [
      ...readMigrations(),
      {
        version: 9999,
        name: "drift",
        sql: "ALTER TABLE orders ADD COLUMN note TEXT; CREATE INDEX orders_note ON orders (note);",
      },
    ]);
    const diff = differences(describeSqlite(drifted), postgresSchema);
    drifted.close();
    expect(diff).toEqual([
      'column orders.note: sqlite {"type":"text","notNull":false} postgres undefined',
      'index orders_note: sqlite {"table":"orders","unique":false,"partial":false,"columns":["note"]} postgres undefined',
    ]);
  });
});
