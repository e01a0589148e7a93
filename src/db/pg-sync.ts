// The ledger on PostgreSQL, with the SQLite engine's shape: `prepare(sql).get/all/run`,
// `transaction(fn)` (nested: savepoints), `exec`. Every unit of work of the ledger is synchronous
// (load rows, let core decide, write rows and events; nothing awaited in between) and stays so on
// this engine: a statement is sent to the connection thread (src/db/pg-worker.ts) and this thread
// waits for the answer, as better-sqlite3 waits for the disk. So one code path serves both engines
// and SQLite keeps its speed; several instances give PostgreSQL its concurrency.
//
// A transaction runs as BEGIN ISOLATION LEVEL SERIALIZABLE … COMMIT on that one connection and is
// run again, whole, when PostgreSQL says a retry resolves it: a serialization failure (40001), a
// deadlock (40P01), a lock wait past lock_timeout (55P03), or a unique violation (23505: another
// instance made the same row first, and the retry reads it). SERIALIZABLE makes every invariant
// that SQLite's single writer gave the ledger (read, decide, write) hold across instances: the
// outcome equals some one-at-a-time order, or the transaction fails and is retried. The creates,
// which hand out addresses, run at READ COMMITTED on row locks instead (handOutTransaction). Side effects
// of the ledger (hooks, wake-ups, logs) run after the wrapper returns, so after COMMIT.
import { MessageChannel, type MessagePort, Worker, receiveMessageOnPort } from "node:worker_threads";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { packageRoot } from "../paths.js";
import { type PostgresConfig, type RetryReason, retryDelayMs, retryReason } from "./postgres.js";

export interface PgRequestQuery {
  op: "query";
  text: string;
  values: unknown[];
  /** rows as arrays (pluck, raw) */
  array: boolean;
  /** inside a transaction: the connection it began on; the worker refuses any other */
  conn?: number;
}
export type PgRequest = PgRequestQuery | { op: "close" };
/** a request on the port, with the id its answer carries back */
export interface PgEnvelope {
  id: number;
  req: PgRequest;
}

export interface PgErrorShape {
  message: string;
  code?: string;
  detail?: string;
  constraint?: string;
  /** the connection failed rather than the statement */
  connection: boolean;
}
export type PgAnswer =
  | { ok: true; rows: unknown[]; rowCount: number; /** the connection that answered */ conn?: number }
  | { ok: false; error: PgErrorShape };
/** an answer on the port, with its request's id */
export interface PgReply {
  id: number;
  answer: PgAnswer;
}

export interface PgWorkerData {
  port: MessagePort;
  flag: SharedArrayBuffer;
  config: Pick<PostgresConfig, "url" | "password">;
  /** run once per connection (session settings) */
  setup: string;
}

/** An error PostgreSQL answered a statement with (code: its SQLSTATE). */
export class PgError extends Error {
  override name = "PgError";
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;
  constructor(e: PgErrorShape, sql: string) {
    super(
      `${e.message}${e.connection ? " (connection lost)" : ""} [${sql.replace(/\s+/g, " ").slice(0, 120)}]`,
    );
    this.code = e.code ?? (e.connection ? "08006" : undefined);
    this.detail = e.detail;
    this.constraint = e.constraint;
  }
}

/**
 * Session limits: a statement that waits on a lock gives up (and its unit of work is retried)
 * rather than stall the instance; a session idle inside a transaction is ended by the server. A
 * unit of work never idles (its statements follow each other with no await in between), so that
 * is a paused or hung instance, whose row locks (its lease's among them) then hold the others for
 * no longer than `idleMs`.
 */
export function sessionSetup(idleMs: number): string {
  return `SET lock_timeout = '5s'; SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '${idleMs}ms'`;
}

/** how long this thread waits for one answer before it calls the connection thread stuck */
const ANSWER_TIMEOUT_MS = 40_000;

export interface PgDatabaseOptions {
  /** tries of one transaction in all (default 8) */
  maxAttempts?: number;
  /** how long the server lets a transaction idle before it ends the session (default 5 s) */
  idleInTransactionMs?: number;
  /** called before each retry (metrics, tests) */
  onRetry?: (reason: RetryReason | "lock_timeout", attempt: number) => void;
}

const sleepFlag = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepFlag, 0, 0, ms);
}

/** Why a transaction should be run again, if it should. */
function retryable(err: unknown): RetryReason | "lock_timeout" | undefined {
  if ((err as { code?: string }).code === "55P03") return "lock_timeout";
  return retryReason(err, true);
}

interface Placeholders {
  text: string;
  /** named parameters in order of $n (null: positional `?`) */
  names: string[] | null;
}

/**
 * SQLite's parameters (`?`, `@name`, `:name`, `$name`) as PostgreSQL's `$n`, leaving string
 * literals, quoted identifiers, comments and `::` casts alone. One named parameter used twice is
 * one `$n`.
 */
export function toPgPlaceholders(sql: string): Placeholders {
  let out = "";
  let positional = 0;
  const names: string[] = [];
  for (let i = 0; i < sql.length;) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
      // a doubled quote inside a literal is two literals back to back: the loop handles it
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      out += `$${++positional}`;
      i++;
    } else if (
      (c === "@" || c === ":" || c === "$") &&
      /[A-Za-z_]/.test(sql[i + 1] ?? "") &&
      sql[i - 1] !== ":"
    ) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const name = sql.slice(i + 1, j);
      let k = names.indexOf(name);
      if (k < 0) k = names.push(name) - 1;
      out += `$${k + 1}`;
      i = j;
    } else if (c === ":" && sql[i + 1] === ":") {
      out += "::";
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  if (positional && names.length) throw new Error(`mixed ? and named parameters: ${sql}`);
  return { text: out, names: names.length ? names : null };
}

/** int8's ends: SQLite compares ±Infinity with integers; BIGINT parameters take these instead */
const INT8_MIN = "-9223372036854775808";
const INT8_MAX = "9223372036854775807";

function bindValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === "bigint") return v.toString();
  if (v === -Infinity) return INT8_MIN;
  if (v === Infinity) return INT8_MAX;
  return v;
}

type Mode = "object" | "pluck" | "raw";

class PgStatement {
  private mode: Mode = "object";
  readonly reader: boolean;
  constructor(
    private readonly db: PgDatabase,
    readonly source: string,
    private readonly p: Placeholders,
  ) {
    this.reader = /^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b/i.test(source);
  }
  pluck(on = true): this {
    this.mode = on ? "pluck" : "object";
    return this;
  }
  raw(on = true): this {
    this.mode = on ? "raw" : "object";
    return this;
  }
  expand(): this {
    throw new Error("expand() is not available on postgres");
  }
  private values(args: unknown[]): unknown[] {
    if (this.p.names) {
      const bag = (args[0] ?? {}) as Record<string, unknown>;
      return this.p.names.map((n) => bindValue(bag[n]));
    }
    return args.flat().map(bindValue);
  }
  private rows(args: unknown[]): unknown[] {
    const rows = this.db.query(this.p.text, this.values(args), this.mode !== "object", this.source).rows;
    return this.mode === "pluck" ? rows.map((r) => (r as unknown[])[0]) : rows;
  }
  get(...args: unknown[]): unknown {
    return this.rows(args)[0];
  }
  all(...args: unknown[]): unknown[] {
    return this.rows(args);
  }
  *iterate(...args: unknown[]): IterableIterator<unknown> {
    yield* this.rows(args);
  }
  run(...args: unknown[]): Database.RunResult {
    const r = this.db.query(this.p.text, this.values(args), false, this.source);
    return {
      changes: r.rowCount,
      get lastInsertRowid(): number {
        throw new Error("lastInsertRowid is not available on postgres: use RETURNING");
      },
    };
  }
}

/** The PostgreSQL engine's database handle, shaped as the SQLite one (cast to DB by openDatabase). */
export class PgDatabase {
  readonly engine = "postgres" as const;
  readonly name: string;
  readonly memory = false;
  readonly readonly = false;
  open = true;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** answers the connection thread has posted, counted (it wakes this thread on each) */
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private requestId = 0;
  private depth = 0;
  /** the connection the open transaction began on (undefined: none open) */
  private conn: number | undefined;
  /** inside a transaction, the first error that means "run it all again" */
  private doomed: unknown = null;
  private readonly cache = new Map<string, Placeholders>();
  /** statements sent (tests and benches count round trips) */
  statements = 0;

  constructor(
    config: Pick<PostgresConfig, "url" | "password">,
    private readonly options: PgDatabaseOptions = {},
  ) {
    this.name = config.url.replace(/\/\/[^@/]*@/, "//");
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: PgWorkerData = {
      port: port2,
      flag: this.flag.buffer as SharedArrayBuffer,
      config: { url: config.url, password: config.password },
      setup: sessionSetup(options.idleInTransactionMs ?? 5_000),
    };
    // the built file, also when the caller runs from src/ (tests): a worker cannot load TypeScript
    this.worker = new Worker(join(packageRoot(), "dist", "src", "db", "pg-worker.js"), {
      workerData: data,
      transferList: [port2],
    });
    this.worker.unref();
    port1.unref();
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** One round trip: `text` with `$n` parameters. Throws PgError. */
  query(
    text: string,
    values: unknown[] = [],
    array = false,
    source = text,
  ): { rows: unknown[]; rowCount: number; conn?: number } {
    const a = this.call({
      op: "query",
      text,
      values,
      array,
      ...(this.conn === undefined ? {} : { conn: this.conn }),
    });
    if (a.ok) return a;
    const err = new PgError(a.error, source);
    if (this.depth > 0 && this.doomed === null && (retryable(err) || a.error.connection)) this.doomed = err;
    throw err;
  }

  /**
   * Send one request and wait for its answer. The connection thread counts its answers in `flag`
   * and tags each with its request's id: this thread waits for the count to move, takes what is on
   * the port, and keeps only its own answer. A wake-up meant for an earlier answer, or an answer to
   * a request given up on (timed out), is never taken for this one's.
   */
  private call(req: PgRequest): PgAnswer {
    if (!this.open) throw new Error("the database connection is not open");
    this.statements++;
    const id = ++this.requestId;
    this.port.postMessage({ id, req } satisfies PgEnvelope);
    const deadline = performance.now() + ANSWER_TIMEOUT_MS;
    for (;;) {
      const seen = Atomics.load(this.flag, 0);
      for (let m; (m = receiveMessageOnPort(this.port) as { message: PgReply } | undefined);)
        if (m.message.id === id) return m.message.answer;
      const left = deadline - performance.now();
      if (left <= 0)
        throw new PgError(
          { message: `no answer from the database connection in ${ANSWER_TIMEOUT_MS} ms`, connection: true },
          req.op === "query" ? req.text : req.op,
        );
      Atomics.wait(this.flag, 0, seen, left);
    }
  }

  prepare(sql: string): PgStatement {
    let p = this.cache.get(sql);
    if (!p) this.cache.set(sql, (p = toPgPlaceholders(sql)));
    return new PgStatement(this, sql, p);
  }

  exec(sql: string): this {
    this.query(sql, [], false);
    return this;
  }

  pragma(source: string): never {
    throw new Error(`pragma ${source}: not on postgres`);
  }

  transaction<F extends (...args: never[]) => unknown>(
    fn: F,
  ): F & { deferred: F; immediate: F; exclusive: F } {
    const run = (...args: Parameters<F>): ReturnType<F> => this.run(() => fn(...args) as ReturnType<F>);
    const f = run as unknown as F & { deferred: F; immediate: F; exclusive: F };
    f.deferred = f.immediate = f.exclusive = run as unknown as F;
    return f;
  }

  /**
   * `transaction(fn)` at READ COMMITTED: for the units that hand out addresses (order and account
   * creates), whose invariants rest on row locks and unique indexes, not on what they read. See
   * handOutTransaction. Nested inside another transaction it is a savepoint of that one.
   */
  lockingTransaction<F extends (...args: never[]) => unknown>(fn: F): F {
    return ((...args: Parameters<F>): ReturnType<F> =>
      this.run(() => fn(...args) as ReturnType<F>, "READ COMMITTED")) as unknown as F;
  }

  /** `work` in a savepoint when a transaction is open, else in its own retried transaction. */
  run<T>(work: () => T, isolation: "SERIALIZABLE" | "READ COMMITTED" = "SERIALIZABLE"): T {
    if (this.depth > 0) return this.savepoint(work);
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      this.doomed = null;
      this.conn = this.query(`BEGIN ISOLATION LEVEL ${isolation}`).conn;
      this.depth = 1;
      let result: T;
      try {
        result = work();
        // an error a savepoint swallowed can still doom the whole transaction (40001, 23505)
        if (this.doomed !== null && attempt < maxAttempts) throw this.doomed;
        this.query("COMMIT");
        this.depth = 0;
        this.conn = undefined;
        return result;
      } catch (err) {
        const cause = this.doomed ?? err;
        this.depth = 0;
        try {
          this.query("ROLLBACK");
        } catch {
          // the connection is gone: the server rolled the transaction back already
        } finally {
          this.conn = undefined;
        }
        const reason = retryable(cause) ?? retryable(err);
        if (reason === undefined || attempt >= maxAttempts) throw err;
        this.options.onRetry?.(reason, attempt);
        sleepSync(retryDelayMs(attempt, 2));
      }
    }
  }

  private savepoint<T>(work: () => T): T {
    const name = `sp${this.depth}`;
    this.query(`SAVEPOINT ${name}`);
    this.depth++;
    try {
      const result = work();
      this.depth--;
      this.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      this.depth--;
      try {
        this.query(`ROLLBACK TO SAVEPOINT ${name}`);
        this.query(`RELEASE SAVEPOINT ${name}`);
      } catch {
        // the connection is lost; the outer level rolls back and retries
      }
      throw err;
    }
  }

  close(): this {
    if (!this.open) return this;
    try {
      this.call({ op: "close" });
    } finally {
      this.open = false;
      void this.worker.terminate();
    }
    return this;
  }
}

/**
 * The transaction of a unit that hands out pool addresses (an order's or an account's create).
 * SQLite: `db.transaction(fn)`. PostgreSQL: READ COMMITTED instead of SERIALIZABLE. Every create
 * scans the same few free rows of the chain's pool and writes one of them: under SERIALIZABLE two
 * instances' creates form a read/write cycle on that index range and one is aborted (measured:
 * retries ran out for dozens of 6,000 creates on 2 instances). Nothing a create decides rests on
 * a read that a row lock or a unique index does not guard: the address is taken `FOR UPDATE SKIP
 * LOCKED` and re-checked under the lock (a row another create just bound is passed over), one live
 * binding per address is a unique index, the same merchant_order_id (customer_id) twice is a
 * unique violation that the retry reads as the existing row, a derivation takes pool_state's row
 * lock and reads next_index under it, and the counters are appended deltas. Every other unit of
 * work stays SERIALIZABLE.
 */
export function handOutTransaction<F extends (...args: never[]) => unknown>(db: object, fn: F): F {
  return db instanceof PgDatabase
    ? db.lockingTransaction(fn)
    : ((db as Database.Database).transaction(fn) as unknown as F);
}

/** Which engine a database handle is. */
export function engineOf(db: object): "sqlite" | "postgres" {
  return db instanceof PgDatabase ? "postgres" : "sqlite";
}
