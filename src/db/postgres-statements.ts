// The statements of PostgreSQL's own machinery, which has no SQLite twin: the migration runner,
// leases (src/db/lease.ts) and the copy of migrate-to-postgres. The ledger's and the pools'
// statements live in src/ledger/statements.ts and src/pool/statements.ts for both engines, the
// PostgreSQL text of one beside SQLite's where they differ (`dialect`); the probe's regression
// tests run those texts two connections at a time (test/db/postgres-statements.test.ts).

import { ident } from "./statements.js";

/** The database server's clock in ms: every time a lease compares (never an instance's clock). */
export const DB_NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::int8";

// pg_advisory_lock key held while migrating ("depositd" in ASCII): two instances that start at once
// migrate one after the other, and the second finds nothing left to do.
const MIGRATE_LOCK = "7234316346693184612";

/** The migration runner's own statements (src/db/postgres.ts: migratePostgres). */
export const migrationStatements = {
  lock: `SELECT pg_advisory_lock(${MIGRATE_LOCK})`,
  unlock: `SELECT pg_advisory_unlock(${MIGRATE_LOCK})`,
  createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
  done: "SELECT version FROM schema_migrations",
  record: `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, ${DB_NOW_MS})`,
} as const;

export interface LeaseRow {
  owner: string;
  epoch: number;
  lease_until: number;
  /** the server's clock when the statement ran */
  now: number;
}

export const leaseStatements = {
  /**
   * Take `role` ($1) for owner $2 for $3 ms: a new row at epoch 1, or the row of a holder whose
   * lease has run out, at epoch + 1. A live lease (anyone's) is left alone: no row comes back.
   * Two at once: the second waits for the first's row lock, re-checks and finds it live.
   */
  acquire: `INSERT INTO leases (role, owner, epoch, lease_until, acquired_at)
    VALUES ($1, $2, 1, ${DB_NOW_MS} + $3, ${DB_NOW_MS})
    ON CONFLICT (role) DO UPDATE
      SET owner = EXCLUDED.owner, epoch = leases.epoch + 1,
          lease_until = EXCLUDED.lease_until, acquired_at = EXCLUDED.acquired_at
      WHERE leases.lease_until <= ${DB_NOW_MS}
    RETURNING owner, epoch, lease_until, ${DB_NOW_MS} AS now`,
  /**
   * Extend the lease of ($1 role, $2 owner, $3 epoch) by $4 ms from now, only while it is still
   * live: a lease that ran out is lost even if nobody took it yet (take it again: a new epoch).
   * Inside a write transaction this is the fence: the row stays locked until commit, so no
   * takeover can commit between the check and the write; no row back means roll back.
   */
  renew: `UPDATE leases SET lease_until = ${DB_NOW_MS} + $4
    WHERE role = $1 AND owner = $2 AND epoch = $3 AND lease_until > ${DB_NOW_MS}
    RETURNING owner, epoch, lease_until, ${DB_NOW_MS} AS now`,
  /** Give the lease up now (a clean shutdown): the next acquirer need not wait for the TTL. */
  release: `UPDATE leases SET lease_until = ${DB_NOW_MS}
    WHERE role = $1 AND owner = $2 AND epoch = $3 AND lease_until > ${DB_NOW_MS}`,
  holder: `SELECT owner, epoch, lease_until, ${DB_NOW_MS} AS now FROM leases WHERE role = $1`,
} as const;

/** The PostgreSQL side of `depositd migrate-to-postgres` (src/db/migrate-to-postgres.ts). */
export const copyStatements = {
  /** the columns of depositd's tables in the current schema, with type and identity */
  columns: `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
    WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
  /**
   * Every copied table, locked until commit: a second copy (or a daemon) waits here, then finds
   * the target not empty. ACCESS EXCLUSIVE because DISABLE TRIGGER takes it anyway.
   */
  lock: (tables: string[]) => `LOCK TABLE ${tables.map(ident).join(", ")} IN ACCESS EXCLUSIVE MODE`,
  hasRows: (table: string) => `SELECT EXISTS (SELECT 1 FROM ${ident(table)}) AS has`,
  /**
   * The counter triggers (status_counts, pool_counts, hourly_counts, order_status_hours,
   * order_chains) off for this transaction: those tables are copied as rows, exactly as SQLite
   * has them. USER leaves the foreign-key triggers on, so every copied row is checked against its
   * parent. Transactional: a rolled-back copy leaves the triggers as they were.
   */
  disableTriggers: (table: string) => `ALTER TABLE ${ident(table)} DISABLE TRIGGER USER`,
  enableTriggers: (table: string) => `ALTER TABLE ${ident(table)} ENABLE TRIGGER USER`,
  /** a multi-row INSERT of `rows` rows; identity values kept (OVERRIDING SYSTEM VALUE) */
  insert: (table: string, columns: string[], rows: number, identity: boolean) => {
    const n = columns.length;
    const values = Array.from(
      { length: rows },
      (_, r) => `(${columns.map((_c, i) => `$${r * n + i + 1}`).join(", ")})`,
    );
    return `INSERT INTO ${ident(table)} (${columns.map(ident).join(", ")})${
      identity ? " OVERRIDING SYSTEM VALUE" : ""
    } VALUES ${values.join(", ")}`;
  },
  /** the identity's sequence past the largest copied value: the next INSERT without an id fits */
  advanceIdentity: (table: string, column: string) =>
    `SELECT setval(pg_get_serial_sequence('${ident(table)}', '${column}'),
      COALESCE(max(${ident(column)}), 0) + 1, false) FROM ${ident(table)}`,
  /**
   * `columns` of every row in primary-key order, as a cursor (FETCH in batches). Text keys
   * COLLATE "C" (byte order), SQLite's BINARY order for UTF-8, whatever the database's collation.
   */
  openRows: (cursor: string, table: string, columns: string[], key: { name: string; text: boolean }[]) =>
    `DECLARE ${ident(cursor)} NO SCROLL CURSOR FOR SELECT ${columns.map(ident).join(", ")} FROM ${ident(
      table,
    )} ORDER BY ${key.map((k) => `${ident(k.name)}${k.text ? ' COLLATE "C"' : ""}`).join(", ")}`,
  fetch: (cursor: string, n: number) => `FETCH ${n} FROM ${ident(cursor)}`,
  close: (cursor: string) => `CLOSE ${ident(cursor)}`,
} as const;
