// The PostgreSQL engine's connection pool and its unit of work. SQLite's better-sqlite3 transaction
// is synchronous and cannot fail halfway through a conflict; here a unit of work runs inside
// BEGIN … COMMIT on one client and is retried whole when PostgreSQL says a retry resolves it.
// Side effects (logs, counters, wake-ups) are registered with afterCommit and run only after
// COMMIT succeeded, so a rolled-back or retried attempt leaves none behind.
import { join } from "node:path";
import pg from "pg";
import type { ResolvedDatabase } from "../config/load.js";
import { packageRoot } from "../paths.js";
import { type Migration, readMigrations } from "./index.js";
import { migrationStatements as sql } from "./postgres-statements.js";

export type PostgresConfig = Extract<ResolvedDatabase, { engine: "postgres" }>;

const INT8_OID = 20;

/** int8 as a JS number where it is exact (ids, counts, millisecond times); beyond that an error. */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${text} is outside the safe-integer range`);
  return n;
}

// Per pool, not pg's global registry: another user of `pg` in the process keeps its parsers.
// NUMERIC (and TEXT amounts) keep pg's default: the exact text.
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID && format !== "binary") return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** How one connection reaches the server (a pool's, or the ledger's connection thread's). */
export function pgClientConfig(config: Pick<PostgresConfig, "url" | "password">): pg.ClientConfig {
  return {
    connectionString: config.url,
    ...(config.password === undefined ? {} : { password: config.password }),
    types,
    application_name: "depositd",
  };
}

export function createPool(config: Pick<PostgresConfig, "url" | "pool_size" | "password">): pg.Pool {
  return new pg.Pool({ ...pgClientConfig(config), max: config.pool_size });
}

export type RetryReason = "serialization_failure" | "deadlock" | "unique_violation";

/**
 * Whether PostgreSQL's error says the whole unit of work may succeed if run again: a serialization
 * failure (40001) or a deadlock (40P01) always; a unique violation (23505) only where the caller
 * knows that a retry reads the row that won (an idempotent create) instead of failing again.
 */
export function retryReason(err: unknown, retryUniqueViolation = false): RetryReason | undefined {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === "40001") return "serialization_failure";
  if (code === "40P01") return "deadlock";
  if (code === "23505" && retryUniqueViolation) return "unique_violation";
  return undefined;
}

/** Jittered exponential backoff before try `attempt + 1` (attempt ≥ 1): 0.5–1.5 × base × 2^(n-1), ≤ 1 s. */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.min(1000, baseMs * 2 ** (attempt - 1) * (0.5 + random()));
}

export type Isolation = "read committed" | "repeatable read" | "serializable";

export interface UnitOptions {
  /** default read committed; row locks (FOR UPDATE) carry the invariants there */
  isolation?: Isolation;
  /** a unique violation means "someone else made it first": run again and read theirs */
  retryUniqueViolation?: boolean;
  /** tries in all, default 5 */
  maxAttempts?: number;
  /** backoff base, default 5 ms */
  backoffMs?: number;
  onRetry?: (reason: RetryReason, attempt: number, err: unknown) => void;
}

export interface UnitContext {
  client: pg.PoolClient;
  /** 1 on the first try */
  attempt: number;
  /** run `cb` after this unit's COMMIT; never if it rolls back (a retried try's callbacks are dropped) */
  afterCommit(cb: () => void): void;
}

/** The unit of work committed, but an afterCommit callback threw: the data is written. */
export class AfterCommitError extends Error {
  override name = "AfterCommitError";
  constructor(readonly errors: unknown[]) {
    super(`committed; ${errors.length} after-commit callback(s) failed: ${String(errors[0])}`, {
      cause: errors[0],
    });
  }
}

/** Run `fn` in one transaction on one client, retrying it whole as retryReason allows. */
export async function unitOfWork<T>(
  pool: pg.Pool,
  fn: (tx: UnitContext) => Promise<T>,
  options: UnitOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  const begin = `BEGIN ISOLATION LEVEL ${(options.isolation ?? "read committed").toUpperCase()}`;
  for (let attempt = 1; ; attempt++) {
    const callbacks: (() => void)[] = [];
    const client = await pool.connect();
    let result: T;
    try {
      await client.query(begin);
      result = await fn({ client, attempt, afterCommit: (cb) => callbacks.push(cb) });
      await client.query("COMMIT");
      client.release();
    } catch (err) {
      let broken: Error | undefined;
      await client.query("ROLLBACK").catch((e: unknown) => {
        broken = e as Error; // the connection is in an unknown state: do not hand it out again
      });
      client.release(broken);
      const reason = retryReason(err, options.retryUniqueViolation);
      if (reason === undefined || attempt >= maxAttempts) throw err;
      options.onRetry?.(reason, attempt, err);
      await new Promise((r) => setTimeout(r, retryDelayMs(attempt, options.backoffMs ?? 5)));
      continue;
    }
    const failed: unknown[] = [];
    for (const cb of callbacks) {
      try {
        cb();
      } catch (e) {
        failed.push(e);
      }
    }
    if (failed.length) throw new AfterCommitError(failed);
    return result;
  }
}

/** PostgreSQL's migrations: the same version numbers as migrations/*.sql, in migrations/postgres/. */
export function readPostgresMigrations(dir = join(packageRoot(), "migrations", "postgres")): Migration[] {
  return readMigrations(dir);
}

/**
 * Apply every migration not yet recorded in schema_migrations, each in its own transaction, under
 * an advisory lock. Returns the versions applied (by this call; none when another did them).
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations = readPostgresMigrations(),
): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query(sql.lock);
    try {
      await client.query(sql.createTable);
      const rows = (await client.query<{ version: number }>(sql.done)).rows;
      const done = new Set(rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query(sql.record, [m.version, m.name]);
          await client.query("COMMIT");
        } catch (e) {
          await client.query("ROLLBACK");
          throw new Error(
            `migration ${String(m.version).padStart(4, "0")}_${m.name} failed: ${(e as Error).message}`,
            { cause: e },
          );
        }
        applied.push(m.version);
      }
      return applied;
    } finally {
      await client.query(sql.unlock);
    }
  } finally {
    client.release();
  }
}
