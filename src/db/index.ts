import Database from "better-sqlite3";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedDatabase } from "../config/load.js";
import { DepositdError } from "../errors.js";
import { packageRoot } from "../paths.js";
import { PgDatabase } from "./pg-sync.js";

export type DB = Database.Database;

export interface OpenOptions {
  synchronous?: "FULL" | "NORMAL";
  /** apply pending migrations (default true) */
  migrate?: boolean;
}

/** A command that needs the SQLite file itself (status' header, migrate-to-postgres's source). */
export class SqliteOnlyError extends DepositdError {
  override name = "SqliteOnlyError";
  constructor(what: string) {
    super(`database.engine: postgres: ${what} reads a SQLite file; this config has none`);
  }
}

/** The SQLite side of a database config; a PostgreSQL one throws SqliteOnlyError naming `what`. */
export function sqliteDatabase(
  database: ResolvedDatabase,
  what: string,
): Extract<ResolvedDatabase, { engine: "sqlite" }> {
  if (database.engine !== "sqlite") throw new SqliteOnlyError(what);
  return database;
}

/** The schema is older than this depositd (PostgreSQL: instances do not migrate each other's data). */
export class SchemaBehindError extends DepositdError {
  override name = "SchemaBehindError";
  constructor(have: number, need: number) {
    super(`database schema is at version ${have}, this depositd needs ${need}: run \`depositd migrate\``);
  }
}

/**
 * Open the ledger's database: a SQLite path, or the config's database (SQLite: its synchronous
 * unless given, migrated unless `migrate: false`; PostgreSQL: the engine of src/db/pg-sync.ts,
 * whose schema `depositd migrate` (or serve's start) brought up to date: checked, not applied).
 */
export function openDatabase(target: string | ResolvedDatabase, options: OpenOptions = {}): DB {
  if (typeof target !== "string") {
    if (target.engine === "postgres") return openPostgres(target, options);
    return openDatabase(target.path, { synchronous: target.synchronous, ...options });
  }
  const path = target;
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  if (options.migrate !== false) migrate(db);
  return db;
}

function openPostgres(database: Extract<ResolvedDatabase, { engine: "postgres" }>, options: OpenOptions): DB {
  // a paused instance's open transaction (and the lease row it may lock) ends within half a TTL
  const db = new PgDatabase(database, {
    idleInTransactionMs: Math.max(1_000, Math.floor(database.lease_ttl_ms / 2)),
  });
  if (options.migrate !== false) {
    const need = Math.max(
      ...readMigrations(join(packageRoot(), "migrations", "postgres")).map((m) => m.version),
    );
    let have = 0;
    try {
      have = Number(db.prepare("SELECT coalesce(max(version), 0) FROM schema_migrations").pluck().get());
    } catch (e) {
      if ((e as { code?: string }).code !== "42P01") {
        db.close();
        throw e;
      }
    }
    if (have < need) {
      db.close();
      throw new SchemaBehindError(have, need);
    }
  }
  return db as unknown as DB;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = join(packageRoot(), "migrations")): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 4)),
      name: f.slice(5, -4),
      sql: readFileSync(join(dir, f), "utf8"),
    }));
}

/** Apply every migration not yet recorded, each in its own transaction. Returns the versions applied. */
export function migrate(db: DB, migrations = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const done = new Set(
    db
      .prepare("SELECT version FROM schema_migrations")
      .pluck()
      .all()
      .map((v) => Number(v)),
  );
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
    applied.push(m.version);
  }
  return applied;
}

/** `depositd migrate`: the configured engine's migrations (PostgreSQL: migrations/postgres/). */
export async function migrateDatabase(database: ResolvedDatabase): Promise<number[]> {
  if (database.engine === "sqlite") {
    const db = openDatabase(database.path, { migrate: false });
    try {
      return migrate(db);
    } finally {
      db.close();
    }
  }
  const { createPool, migratePostgres } = await import("./postgres.js");
  const pool = createPool(database);
  try {
    return await migratePostgres(pool);
  } finally {
    await pool.end();
  }
}
