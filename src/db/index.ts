import Database from "better-sqlite3";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResolvedDatabase } from "../config/load.js";
import { DepositdError } from "../errors.js";
import { packageRoot } from "../paths.js";

export type DB = Database.Database;

export interface OpenOptions {
  synchronous?: "FULL" | "NORMAL";
  /** apply pending migrations (default true) */
  migrate?: boolean;
}

/** The ledger runs on SQLite only until its PostgreSQL port lands (docs/scaling.md). */
export class LedgerEngineError extends DepositdError {
  override name = "LedgerEngineError";
  constructor() {
    super(
      "database.engine: postgres: the ledger does not run on PostgreSQL in this version yet; " +
        "only `depositd migrate` does (docs/scaling.md)",
    );
  }
}

/** The SQLite side of a database config; a PostgreSQL one throws LedgerEngineError. */
export function sqliteDatabase(database: ResolvedDatabase): Extract<ResolvedDatabase, { engine: "sqlite" }> {
  if (database.engine !== "sqlite") throw new LedgerEngineError();
  return database;
}

/** Open the ledger's SQLite file: a path, or the config's database (its synchronous unless given). */
export function openDatabase(target: string | ResolvedDatabase, options: OpenOptions = {}): DB {
  if (typeof target !== "string") {
    const sqlite = sqliteDatabase(target);
    return openDatabase(sqlite.path, { synchronous: sqlite.synchronous, ...options });
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
