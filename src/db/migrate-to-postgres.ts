// `depositd migrate-to-postgres`: copy a stopped SQLite install into an empty PostgreSQL database
// in one transaction, then prove the copy: per table the row count and a sha256 over every row in
// primary-key order, computed here in TypeScript from each side's values (so it depends on no SQL
// dialect's functions), and a ledger checksum over all of them. The transaction commits only when
// every table matches; anything else rolls back and leaves the target as it was. `verifyCopy` runs
// the same comparison later, writing nothing (`--verify-only`).
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type pg from "pg";
import { DepositdError } from "../errors.js";
import { readMigrations } from "./index.js";
import { type PostgresConfig, createPool, migratePostgres } from "./postgres.js";
import { copyStatements as pgSql } from "./postgres-statements.js";
import { sqliteCopyStatements as liteSql } from "./statements.js";

export class MigrateToPostgresError extends DepositdError {
  override name = "MigrateToPostgresError";
}

/**
 * Every table of the schema, parents before children (foreign keys are checked as rows arrive).
 * A migration that adds a table must add it here: the copy refuses a source with a table it does
 * not know, and test/db/migrate-to-postgres.test.ts compares this list with the SQLite schema.
 */
export const COPY_TABLES = [
  "chain_identity",
  "chain_cursors",
  "chain_blocks",
  "chain_lag_samples",
  "audit_cursors",
  "audit_findings",
  "pool_state",
  "pool_addresses",
  "pool_counts",
  "deposit_accounts",
  "orders",
  "order_options",
  "order_chains",
  "bindings",
  "payments",
  "events",
  "delivery_attempts",
  "console_jobs",
  "console_job_events",
  "console_sessions",
  "status_counts",
  "hourly_counts",
  "order_status_hours",
  "health_probe",
  "leases",
] as const;

/** SQLite's implicit rowid, an explicit identity column on PostgreSQL: copied so ORDER BY rowid holds. */
const ROWID_TABLES: ReadonlySet<string> = new Set(["order_options"]);

/** Rows per multi-row INSERT (under PostgreSQL's 65,535 parameters for the widest table). */
const BATCH_ROWS = 500;

export interface TableCheck {
  table: string;
  sqlite_rows: number;
  postgres_rows: number;
  sqlite_sha256: string;
  postgres_sha256: string;
  ok: boolean;
}

export interface Verification {
  tables: TableCheck[];
  sqlite_ledger_sha256: string;
  postgres_ledger_sha256: string;
  ok: boolean;
}

interface TableShape {
  table: string;
  /** copied and checksummed, in this order (rowid first where it has one) */
  columns: string[];
  /** primary key, in key order, and whether each part is text (collation matters) */
  key: { name: string; text: boolean }[];
  /** PostgreSQL identity columns among `columns` */
  identity: string[];
}

export interface TargetDatabase {
  url: string;
  password?: string;
}

// --- the source ---------------------------------------------------------------------------------

type Lite = Database.Database;

/**
 * The SQLite file, at this depositd's schema version, inside a transaction. Copy: in exclusive
 * locking mode, which SQLite grants only when no other connection has the file open (a running
 * depositd, even an idle one, is refused) and which then keeps every other process out until the
 * copy closes it. Verify: a read snapshot that blocks nobody.
 */
function openSource(path: string, mode: "copy" | "verify"): Lite {
  if (path === ":memory:" || !existsSync(path))
    throw new MigrateToPostgresError(`no SQLite database at ${path} (database.path in the config)`);
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 2000");
    if (mode === "copy") {
      db.pragma("locking_mode = EXCLUSIVE");
      try {
        db.exec(liteSql.exclusive);
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith("SQLITE_BUSY"))
          throw new MigrateToPostgresError(
            `another process has the SQLite database ${path} open (a running depositd?): stop it first (docs/scaling.md)`,
            { cause: e },
          );
        throw e;
      }
    } else {
      db.exec(liteSql.snapshot);
    }
    const have = (db.prepare(liteSql.versions).pluck().all() as number[]).map(Number);
    const want = readMigrations().map((m) => m.version);
    if (have.join(",") !== want.join(","))
      throw new MigrateToPostgresError(
        `the SQLite database is at migrations [${have.join(", ")}], this depositd at [${want.join(", ")}]: ` +
          "run `depositd migrate` with the SQLite config first (the same version as this one)",
      );
    const tables = db.prepare(liteSql.tables).pluck().all() as string[];
    const unknown = tables.filter((t) => !(COPY_TABLES as readonly string[]).includes(t));
    const missing = COPY_TABLES.filter((t) => !tables.includes(t));
    if (unknown.length || missing.length)
      throw new MigrateToPostgresError(
        `the SQLite schema does not match the copier's tables (unknown: ${unknown.join(", ") || "none"}; missing: ${missing.join(", ") || "none"})`,
      );
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The source's tables, from sqlite_master (minus SQLite's own and schema_migrations). */
export function sqliteTables(db: Lite): string[] {
  return db.prepare(liteSql.tables).pluck().all() as string[];
}

function sqliteRows(db: Lite, shape: TableShape): IterableIterator<unknown[]> {
  return db
    .prepare(
      liteSql.rows(
        shape.table,
        shape.columns,
        shape.key.map((k) => k.name),
      ),
    )
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<unknown[]>;
}

// --- the shapes, from both schemas --------------------------------------------------------------

interface PgColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  is_identity: string;
}

async function tableShapes(db: Lite, client: pg.PoolClient): Promise<TableShape[]> {
  const pgColumns = (await client.query<PgColumn>(pgSql.columns)).rows;
  const shapes: TableShape[] = [];
  const problems: string[] = [];
  for (const table of COPY_TABLES) {
    const lite = db.prepare(liteSql.columns).all(table) as { name: string; pk: number }[];
    const target = new Map(pgColumns.filter((c) => c.table_name === table).map((c) => [c.column_name, c]));
    const columns = [...(ROWID_TABLES.has(table) ? ["rowid"] : []), ...lite.map((c) => c.name)];
    for (const c of columns) if (!target.has(c)) problems.push(`${table}.${c} is not on PostgreSQL`);
    for (const c of target.keys()) if (!columns.includes(c)) problems.push(`${table}.${c} is not on SQLite`);
    const key = lite
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => ({ name: c.name, text: target.get(c.name)?.data_type === "text" }));
    if (!key.length) problems.push(`${table} has no primary key`);
    const identity = columns.filter((c) => target.get(c)?.is_identity === "YES");
    shapes.push({ table, columns, key, identity });
  }
  if (problems.length)
    throw new MigrateToPostgresError(
      `the PostgreSQL schema does not match SQLite's: ${problems.join("; ")} (run both at the same version)`,
    );
  return shapes;
}

// --- the checksum -------------------------------------------------------------------------------

/** One value, typed and length-prefixed: 5 and "5" differ, and no text can forge a boundary. */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return "n;";
  if (typeof v === "bigint") return `i${v};`;
  if (typeof v === "number") return Number.isInteger(v) ? `i${v};` : `f${v};`;
  if (typeof v === "string") return `s${Buffer.byteLength(v)}:${v}`;
  if (Buffer.isBuffer(v)) return `b${v.length}:${v.toString("hex")}`;
  throw new MigrateToPostgresError(`cannot checksum a value of type ${typeof v}`);
}

class TableHash {
  private readonly hash = createHash("sha256");
  rows = 0;
  add(row: unknown[]): void {
    this.hash.update(row.map(canonical).join("") + "\n");
    this.rows++;
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

function ledgerSha(tables: { table: string; rows: number; sha: string }[]): string {
  const h = createHash("sha256");
  for (const t of tables) h.update(`${t.table}\t${t.rows}\t${t.sha}\n`);
  return h.digest("hex");
}

async function postgresTableHash(client: pg.PoolClient, shape: TableShape): Promise<TableHash> {
  const h = new TableHash();
  const cursor = `depositd_verify_${shape.table}`;
  await client.query(pgSql.openRows(cursor, shape.table, shape.columns, shape.key));
  for (;;) {
    const batch = await client.query<unknown[]>({ text: pgSql.fetch(cursor, 2000), rowMode: "array" });
    for (const row of batch.rows) h.add(row);
    if (batch.rows.length < 2000) break;
  }
  await client.query(pgSql.close(cursor));
  return h;
}

/** Both sides, table by table. `client` must be inside a transaction (cursors live in one). */
async function compare(db: Lite, client: pg.PoolClient, shapes: TableShape[]): Promise<Verification> {
  const tables: TableCheck[] = [];
  for (const shape of shapes) {
    const lite = new TableHash();
    for (const row of sqliteRows(db, shape)) lite.add(row);
    const target = await postgresTableHash(client, shape);
    const [sqliteSha, postgresSha] = [lite.digest(), target.digest()];
    tables.push({
      table: shape.table,
      sqlite_rows: lite.rows,
      postgres_rows: target.rows,
      sqlite_sha256: sqliteSha,
      postgres_sha256: postgresSha,
      ok: lite.rows === target.rows && sqliteSha === postgresSha,
    });
  }
  const side = (pick: "sqlite" | "postgres") =>
    ledgerSha(
      tables.map((t) => ({
        table: t.table,
        rows: pick === "sqlite" ? t.sqlite_rows : t.postgres_rows,
        sha: pick === "sqlite" ? t.sqlite_sha256 : t.postgres_sha256,
      })),
    );
  const [a, b] = [side("sqlite"), side("postgres")];
  return {
    tables,
    sqlite_ledger_sha256: a,
    postgres_ledger_sha256: b,
    ok: a === b && tables.every((t) => t.ok),
  };
}

// --- the copy -----------------------------------------------------------------------------------

function param(v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

async function copyTable(db: Lite, client: pg.PoolClient, shape: TableShape): Promise<number> {
  const identity = shape.identity.length > 0;
  let batch: unknown[] = [];
  let rows = 0;
  let copied = 0;
  const flush = async () => {
    if (!rows) return;
    await client.query(pgSql.insert(shape.table, shape.columns, rows, identity), batch);
    copied += rows;
    batch = [];
    rows = 0;
  };
  // the iterator reads the source lazily; nothing else uses that connection meanwhile
  for (const row of sqliteRows(db, shape)) {
    for (const v of row) batch.push(param(v));
    if (++rows === BATCH_ROWS) await flush();
  }
  await flush();
  for (const column of shape.identity) await client.query(pgSql.advanceIdentity(shape.table, column));
  return copied;
}

export interface CopyResult {
  migrations: number[];
  verification: Verification;
  /** false: the verification failed and the copy was rolled back */
  committed: boolean;
}

/**
 * Copy the SQLite file at `sqlitePath` into `target`: its migrations first, then every table in
 * one transaction that commits only when verify says every table matches. Refuses a target in
 * which any of depositd's tables has a row (the operator drops and creates it).
 */
export async function migrateToPostgres(sqlitePath: string, target: TargetDatabase): Promise<CopyResult> {
  const db = openSource(sqlitePath, "copy");
  const pool = createPool(poolConfig(target));
  try {
    const migrations = await migratePostgres(pool);
    const client = await pool.connect();
    let release: Error | undefined;
    try {
      await client.query("BEGIN");
      try {
        await client.query(pgSql.lock([...COPY_TABLES]));
        const filled: string[] = [];
        for (const t of COPY_TABLES)
          if ((await client.query<{ has: boolean }>(pgSql.hasRows(t))).rows[0]!.has) filled.push(t);
        if (filled.length)
          throw new MigrateToPostgresError(
            `the PostgreSQL database is not empty (rows in ${filled.join(", ")}): migrate-to-postgres ` +
              "copies into an empty database only; drop it, create it again and rerun (nothing was changed)",
          );
        const shapes = await tableShapes(db, client);
        for (const s of shapes) await client.query(pgSql.disableTriggers(s.table));
        for (const s of shapes) await copyTable(db, client, s);
        for (const s of shapes) await client.query(pgSql.enableTriggers(s.table));
        const verification = await compare(db, client, shapes);
        await client.query(verification.ok ? "COMMIT" : "ROLLBACK");
        return { migrations, verification, committed: verification.ok };
      } catch (e) {
        await client.query("ROLLBACK").catch((r: unknown) => {
          release = r as Error;
        });
        throw e;
      }
    } finally {
      client.release(release);
    }
  } finally {
    db.exec(liteSql.end);
    db.close();
    await pool.end();
  }
}

/** Compare a finished copy with its SQLite source again; writes nothing on either side. */
export async function verifyCopy(sqlitePath: string, target: TargetDatabase): Promise<Verification> {
  const db = openSource(sqlitePath, "verify");
  const pool = createPool(poolConfig(target));
  try {
    const client = await pool.connect();
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        return await compare(db, client, await tableShapes(db, client));
      } finally {
        await client.query("ROLLBACK");
      }
    } finally {
      client.release();
    }
  } finally {
    db.exec(liteSql.end);
    db.close();
    await pool.end();
  }
}

function poolConfig(target: TargetDatabase): Pick<PostgresConfig, "url" | "pool_size" | "password"> {
  return { url: target.url, pool_size: 1, password: target.password };
}

/** The printed table (short checksums) and the line that says whether everything matched. */
export function formatVerification(v: Verification): { rows: Record<string, unknown>[]; summary: string[] } {
  const rows = v.tables.map((t) => ({
    table: t.table,
    sqlite_rows: t.sqlite_rows,
    postgres_rows: t.postgres_rows,
    sqlite_sha256: t.sqlite_sha256.slice(0, 16),
    postgres_sha256: t.postgres_sha256.slice(0, 16),
    match: t.ok ? "yes" : "NO",
  }));
  const bad = v.tables.filter((t) => !t.ok).map((t) => t.table);
  return {
    rows,
    summary: [
      `ledger checksum sqlite:   ${v.sqlite_ledger_sha256}`,
      `ledger checksum postgres: ${v.postgres_ledger_sha256}`,
      v.ok
        ? `verified: all ${v.tables.length} tables match`
        : `MISMATCH in ${bad.length} table(s): ${bad.join(", ")}`,
    ],
  };
}
