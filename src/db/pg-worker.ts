// The thread that owns one PostgreSQL connection for src/db/pg-sync.ts. The ledger's units of work
// are synchronous (load, decide, write: no await inside a transaction, on either engine); on
// PostgreSQL each statement is sent here and the calling thread waits on a shared flag until the
// answer is on the port, as it waits for the disk on SQLite. One statement at a time, in order.
import { type MessagePort, workerData } from "node:worker_threads";
import pg from "pg";
import { pgClientConfig } from "./postgres.js";
import type { PgAnswer, PgEnvelope, PgReply, PgRequest, PgWorkerData } from "./pg-sync.js";

const data = workerData as PgWorkerData;
const port: MessagePort = data.port;
const flag = new Int32Array(data.flag);

let client: pg.Client | null = null;
let broken: Error | null = null;
/** which connection this is (1, 2, …): a transaction's statements are pinned to the one it began on */
let generation = 0;

async function connected(): Promise<pg.Client> {
  if (client && !broken) return client;
  if (client) void client.end().catch(() => undefined);
  broken = null;
  const c = new pg.Client(pgClientConfig(data.config));
  c.on("error", (e) => {
    broken = e; // the next statement reconnects (an open transaction is gone with the connection)
  });
  await c.connect();
  await c.query(data.setup);
  client = c;
  generation++;
  return c;
}

async function answer(req: PgRequest): Promise<PgAnswer> {
  if (req.op === "close") {
    await client?.end().catch(() => undefined);
    client = null;
    return { ok: true, rows: [], rowCount: 0 };
  }
  // Inside a transaction, never reconnect: a new connection has no transaction open, so the rest of
  // the unit of work would commit statement by statement (its fence and its first writes lost with
  // the old session). Every statement until the caller's ROLLBACK fails instead.
  if (req.conn !== undefined && (req.conn !== generation || broken !== null || client === null)) {
    return {
      ok: false,
      error: { message: "the connection was lost inside a transaction", connection: true },
    };
  }
  try {
    const c = await connected();
    const r = await c.query({
      text: req.text,
      values: req.values,
      ...(req.array ? { rowMode: "array" as const } : {}),
    });
    const last = Array.isArray(r) ? (r as pg.QueryResult[]).at(-1)! : r;
    return { ok: true, rows: last.rows as unknown[], rowCount: last.rowCount ?? 0, conn: generation };
  } catch (e) {
    const err = e as pg.DatabaseError;
    return {
      ok: false,
      error: {
        message: err.message,
        code: err.code,
        detail: err.detail,
        constraint: err.constraint,
        // not an answer of the server: the connection failed (the caller's transaction is lost)
        connection: err.code === undefined || client === null || broken !== null,
      },
    };
  }
}

// One request at a time, in the order they came (a request the caller gave up on still runs
// first); each answer carries its request's id, then the answer count moves and the caller wakes.
let queue: Promise<void> = Promise.resolve();
port.on("message", ({ id, req }: PgEnvelope) => {
  queue = queue.then(async () => {
    const a = await answer(req).catch((e: unknown): PgAnswer => ({
      ok: false,
      error: { message: String(e), connection: true },
    }));
    const reply: PgReply = { id, answer: a };
    port.postMessage(reply);
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
});
