// The merchant HTTP API (SPEC §5) on fastify: mounts the route table (routes.ts), checks bearer
// keys (stored as sha256, compared in constant time), caps bodies, and answers every error —
// fastify's own included — as application/problem+json. Handlers are synchronous ledger calls,
// except creates, which are group-committed.
import { createHash, timingSafeEqual } from "node:crypto";
import { open } from "node:fs/promises";
import type { Server } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import { engineOf } from "../db/pg-sync.js";
import { PROBLEMS, type ProblemCode, ProblemError } from "../errors.js";
import type { Catalog } from "../ledger/catalog.js";
import { type RpcLog, registerConsole } from "../console/index.js";
import type { AuditFindingsSource } from "../console/data.js";
import type { CreateOrderInput, Ledger, OrderJson } from "../ledger/index.js";
import type { RateBook } from "../rates/index.js";
import type { ApiContext, Reply } from "./handlers.js";
import { buildOpenApi } from "./openapi.js";
import { type Caller, invoke, routes } from "./routes.js";
import type { HealthReport } from "./schemas.js";

export type { HealthReport } from "./schemas.js";

export interface ApiArgs {
  db: DB;
  ledger: Ledger;
  catalog: Catalog;
  common: Common;
  health: () => HealthReport;
  /** called after a write that stored events (wakes the delivery worker) */
  onEvents?: () => void;
  /** check every answer against its documented schema (tests); a mismatch answers 500 */
  checkResponses?: boolean;
  /** live rates, when configured (GET /v1/rates) */
  rates?: RateBook;
  /** the RPC URLs' recent results, for the console's overview */
  rpc?: RpcLog;
  /** the stored audit findings, for the console's overview (when a chain has audit.enabled) */
  audit?: AuditFindingsSource;
}

export interface Api {
  server: Server;
  listen(): Promise<{ host: string; port: number }>;
  /** stop taking requests, let in-flight ones finish */
  close(): Promise<void>;
}

const JSON_TYPE = /^application\/([a-z.+-]*\+)?json\b/i;
/** what the hand-written router accepted as a path id; anything else is "no such endpoint" */
const PATH_ID = "[A-Za-z0-9_]{1,64}";
const SQLITE_UNWRITABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN)/;

export function createApi({
  db,
  ledger,
  catalog,
  common,
  health,
  onEvents,
  checkResponses,
  rates,
  rpc,
  audit,
}: ApiArgs): Api {
  const cfg = common.config;
  const keys = cfg.api.keys.map((k) => ({
    caller: { name: k.name, role: k.role, scopes: k.scopes } satisfies Caller,
    hash: Buffer.from(k.sha256, "hex"),
  }));
  const log = common.logger.child({ mod: "api" });
  const limit = cfg.api.max_body_bytes;
  let accepting = true;
  let openapiText: string | undefined;
  const ctx: ApiContext = {
    db,
    ledger,
    catalog,
    common,
    log,
    health,
    rates,
    createOrder: createOrderBatcher(db, ledger, common.now).add,
    openapi: () => (openapiText ??= JSON.stringify(buildOpenApi(routes))),
  };

  function authenticate(header: string | undefined): Caller {
    const m = typeof header === "string" ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(header) : null;
    if (!m) throw new ProblemError("unauthorized", "send Authorization: Bearer <key>");
    const presented = createHash("sha256").update(m[1]!).digest();
    let who: Caller | undefined;
    for (const k of keys) if (timingSafeEqual(presented, k.hash) && !who) who = k.caller;
    if (!who) throw new ProblemError("unauthorized", "unknown API key");
    return who;
  }

  const app = Fastify({
    // no fastify logger, so no request logging: the API logs through the daemon's pino logger
    // itself (one line per create), as before
    logger: false,
    bodyLimit: limit,
    exposeHeadRoutes: false, // HEAD only where the table says (/healthz)
    return503OnClosing: false, // closing answers the `unavailable` problem instead (onRequest)
    keepAliveTimeout: 5_000,
    requestTimeout: 30_000,
    // last value wins for a repeated key, as URLSearchParams did in the hand-written router
    routerOptions: { querystringParser: (q: string) => Object.fromEntries(new URLSearchParams(q)) },
    clientErrorHandler: clientError,
    frameworkErrors: (err, _req, reply) => {
      // a URL fastify cannot decode: as if no such endpoint
      void sendProblem(
        reply,
        new ProblemError("not_found", `no such endpoint (${err.message.slice(0, 120)})`),
      );
    },
  });
  app.server.headersTimeout = 10_000;

  // Every body arrives as text, whatever its type; readBody() below decides (415 / bad_json / {}).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));

  const callerOf = new WeakMap<FastifyRequest, Caller>();
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.path,
      onRequest: r.auth
        ? (req, _reply, done) => {
            // before the body is read: no key, no reading 64 KiB
            try {
              if (!accepting) throw new ProblemError("unavailable", "shutting down");
              callerOf.set(req, authenticate(req.headers.authorization));
              done();
            } catch (e) {
              done(e as Error);
            }
          }
        : undefined,
      handler: async (req, reply) => {
        const before = ledger.eventsWritten();
        const out = await invoke(
          r,
          ctx,
          {
            caller: callerOf.get(req),
            params: req.params,
            query: req.query,
            body: r.body ? readBody(req) : undefined,
            url: req.url.split("?")[0],
          },
          checkResponses,
        );
        if (ledger.eventsWritten() !== before) onEvents?.();
        return send(reply, out);
      },
    });
  }

  registerConsole(app, { db, ledger, common, health, onEvents, rpc, catalog, rates, audit });

  // unknown path → 404; a known path with another method → 405 with Allow
  const patterns = routes.map((r) => ({
    method: r.method,
    re: new RegExp("^" + r.path.replace(/:[A-Za-z_]+/g, PATH_ID) + "$"),
  }));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0]!;
    const allowed = [...new Set(patterns.filter((p) => p.re.test(path)).map((p) => p.method))];
    if (allowed.length === 0)
      return sendProblem(reply, new ProblemError("not_found", `no such endpoint: ${path}`));
    reply.header("allow", allowed.join(", "));
    return sendProblem(
      reply,
      new ProblemError("method_not_allowed", `${req.method} is not allowed on ${path}`),
    );
  });

  app.setErrorHandler((err, _req, reply) => sendProblem(reply, toProblem(err)));

  function toProblem(e: unknown): ProblemError {
    if (e instanceof ProblemError) return e;
    const err = e as Error & { code?: string; statusCode?: number };
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE")
      return new ProblemError("payload_too_large", `bodies are limited to ${limit} bytes`);
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE")
      return new ProblemError("unsupported_media_type", "send Content-Type: application/json");
    if (err.code && SQLITE_UNWRITABLE.test(err.code)) {
      log.error({ err: err.message, code: err.code }, "database cannot be written");
      return new ProblemError("unavailable", "the database cannot be written right now; try again later");
    }
    // fastify's other client errors (bad Content-Length, aborted body …): the code of that status
    const status = err.statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      const code = (Object.keys(PROBLEMS) as ProblemCode[]).find((c) => PROBLEMS[c].status === status);
      return new ProblemError(code ?? "validation", err.message.slice(0, 200));
    }
    log.error({ err: err.message, stack: err.stack }, "unhandled API error");
    return new ProblemError("internal", "internal error; see the daemon's log");
  }

  function readBody(req: FastifyRequest): unknown {
    const text = typeof req.body === "string" ? req.body : "";
    if (text.trim().length === 0) return undefined; // no body: `{}` for the schema
    if (!JSON_TYPE.test(req.headers["content-type"] ?? ""))
      throw new ProblemError("unsupported_media_type", "send Content-Type: application/json");
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new ProblemError("bad_json", `the body is not valid JSON: ${(e as Error).message.slice(0, 120)}`);
    }
  }

  function send(reply: FastifyReply, out: Reply): FastifyReply {
    if (out.stream)
      // Readable.from pulls the next chunk only when the socket drained (backpressure)
      return reply
        .code(out.status)
        .header("content-type", out.type ?? "application/octet-stream")
        .header("cache-control", "no-store")
        .send(Readable.from(out.stream));
    const text = typeof out.body === "string" ? out.body : JSON.stringify(out.body);
    // bytes, so fastify sends the media type as given (it appends "; charset=utf-8" to JSON strings)
    return reply
      .code(out.status)
      .header("content-type", out.type ?? "application/json")
      .header("cache-control", "no-store")
      .send(Buffer.from(text));
  }

  function sendProblem(reply: FastifyReply, p: ProblemError): FastifyReply {
    return send(reply, { status: p.status, body: p.toJSON(), type: "application/problem+json" });
  }

  return {
    server: app.server,
    async listen() {
      const [host, port] = splitListen(cfg.api.listen);
      await app.listen({ host, port });
      const a = app.server.address();
      return { host, port: typeof a === "object" && a ? a.port : port };
    },
    async close() {
      accepting = false;
      await app.close();
    },
  };
}

/** A request node's HTTP parser refused (bad header bytes, huge headers): answered as node would. */
function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  const status =
    err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
}

/**
 * Group commit for order creates: creates that arrive while the event loop is busy are written
 * in one transaction, each in its own savepoint, and answered after the commit is durable.
 *
 * With synchronous=FULL on a WAL file, that transaction commits with synchronous=NORMAL (the WAL
 * frames are written, not yet synced) and the WAL is then fdatasync'ed on libuv's thread pool
 * before anyone is answered: the same durability for every answer, but the 1–3 ms fsync no
 * longer blocks the event loop, which meanwhile reads, validates and writes the next batch.
 * Every other write on the connection keeps synchronous=FULL (and syncs the creates' frames too).
 */
function createOrderBatcher(db: DB, ledger: Ledger, now: () => number) {
  type Pending = {
    merchant: string;
    input: CreateOrderInput;
    resolve: (r: { order: OrderJson; created: boolean }) => void;
    reject: (e: unknown) => void;
  };
  const wal = deferredSync(db);
  let queue: Pending[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    let results: ReturnType<Ledger["createOrders"]>;
    try {
      if (wal) db.pragma("synchronous = NORMAL");
      try {
        results = ledger.createOrders(batch, now());
      } finally {
        if (wal) db.pragma("synchronous = FULL");
      }
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    const answer = () => results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r) : batch[i]!.reject(r.error)));
    if (!wal || !results.some((r) => r.ok)) return answer();
    wal().then(answer, (e: unknown) => {
      // committed but maybe not durable: answer nothing as created; a retry with the same
      // merchant_order_id is idempotent
      const err = Object.assign(new Error(`fsync of the WAL failed: ${(e as Error).message}`), {
        code: "SQLITE_IOERR_FSYNC",
      });
      for (const p of batch) p.reject(err);
    });
  };
  return {
    add(merchant: string, input: CreateOrderInput): Promise<{ order: OrderJson; created: boolean }> {
      return new Promise((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ merchant, input, resolve, reject });
      });
    },
  };
}

/**
 * An fdatasync of the database's WAL file off the event loop, when the connection is a file in
 * WAL mode with synchronous=FULL (or EXTRA); else undefined (nothing to defer).
 */
function deferredSync(db: DB): (() => Promise<void>) | undefined {
  // PostgreSQL: COMMIT returns once the server made it durable (synchronous_commit)
  if (db.memory || db.readonly || engineOf(db) === "postgres") return undefined;
  const mode = String(db.pragma("journal_mode", { simple: true })).toLowerCase();
  const sync = Number(db.pragma("synchronous", { simple: true }));
  if (mode !== "wal" || sync !== 2) return undefined; // EXTRA (3) and NORMAL/OFF: as configured
  const path = `${db.name}-wal`;
  return async () => {
    // opened per sync: the WAL file is recreated if another connection closes the database
    const fh = await open(path, "r+");
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  };
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(":");
  return [listen.slice(0, i).replace(/^\[|\]$/g, ""), Number(listen.slice(i + 1))];
}
