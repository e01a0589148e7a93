// SQL the subsystems' statements modules share, and the database's own statements (SQLite).
import type { DB } from "./index.js";
import { engineOf } from "./pg-sync.js";

/** A status set from core as an SQL IN-list (statuses are plain identifiers, checked). */
export function inList(statuses: Iterable<string>): string {
  const list = [...statuses];
  if (!list.every((s) => /^[a-z_]+$/.test(s))) throw new Error(`not a status: ${list.join(",")}`);
  return `(${list.map((s) => `'${s}'`).join(",")})`;
}

/**
 * The engine's text of one statement: SQLite's, or PostgreSQL's where that engine needs other SQL
 * for the same job (same parameters, by the same names). Most statements read the same on both.
 */
export function dialect(db: DB, sqlite: string, postgres: string): string {
  return engineOf(db) === "postgres" ? postgres : sqlite;
}

/** The write probe the daemon's timer runs (/healthz reports its last result). */
export function healthProbeStatement(db: DB) {
  return db.prepare<[{ at: number }]>(
    "INSERT INTO health_probe (id, at) VALUES (1, @at) ON CONFLICT (id) DO UPDATE SET at = @at",
  );
}

/** `prepare` run once per database: the statements module's accessor. */
export function perDatabase<S>(prepare: (db: DB) => S): (db: DB) => S {
  const cache = new WeakMap<DB, S>();
  return (db) => {
    let s = cache.get(db);
    if (!s) cache.set(db, (s = prepare(db)));
    return s;
  };
}

/** An identifier from the schema, double-quoted (schema names are plain lower-case words, checked). */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a schema identifier: ${name}`);
  return `"${name}"`;
}

/** The SQLite side of `depositd migrate-to-postgres` (src/db/migrate-to-postgres.ts). */
export const sqliteCopyStatements = {
  /** every table of the schema but SQLite's own and the migration bookkeeping */
  tables: `SELECT name FROM sqlite_master WHERE type = 'table'
    AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_migrations' ORDER BY name`,
  versions: "SELECT version FROM schema_migrations ORDER BY version",
  columns: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid",
  /** `columns` of every row in primary-key order (BINARY collation: UTF-8 byte order) */
  rows: (table: string, columns: string[], key: string[]) =>
    `SELECT ${columns.map(ident).join(", ")} FROM ${ident(table)} ORDER BY ${key.map(ident).join(", ")}`,
  /**
   * With locking_mode EXCLUSIVE set first: fails (SQLITE_BUSY) while any other connection has the
   * file open, an idle daemon included, and then keeps every other process out, readers too,
   * until the connection closes.
   */
  exclusive: "BEGIN EXCLUSIVE",
  /** a read snapshot (verify only): every table read as of one moment */
  snapshot: "BEGIN",
  end: "ROLLBACK",
} as const;
