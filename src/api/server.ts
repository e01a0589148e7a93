// The merchant HTTP API (SPEC §5) on node:http: a small router, bearer keys stored as sha256,
// problem+json for every error, bodies capped. Handlers are synchronous calls into the ledger.
import { createHash, timingSafeEqual } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { z } from "zod";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { Catalog } from "../ledger/catalog.js";
import type { CreateOrderInput, Ledger, OrderJson } from "../ledger/index.js";
import { type FieldProblem, ProblemError } from "../ledger/problem.js";
import { checkCallbackTarget } from "../notify/targets.js";
import { listOrderEvents, redeliverEvent } from "../notify/redeliver.js";
import { formatPath } from "../config/load.js";
import type { RateBook } from "../rates/index.js";
import { listAssets, listRates } from "../rates/handlers.js";
import { openapi } from "./openapi.js";
import { assignBody, createOrderBody, listQuery, noFields } from "./schemas.js";

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: unknown }>;
}

export interface ApiArgs {
  db: DB;
  ledger: Ledger;
  catalog: Catalog;
  common: Common;
  health: () => HealthReport;
  /** called after a write that stored events (wakes the delivery worker) */
  onEvents?: () => void;
  /** live rates, when configured (GET /v1/rates) */
  rates?: RateBook;
}

export interface Api {
  server: Server;
  listen(): Promise<{ host: string; port: number }>;
  /** stop taking requests, let in-flight ones finish */
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown };
type Handler = (
  req: IncomingMessage,
  ctx: { merchant: string; params: string[]; url: URL; body: unknown },
) => Reply | Promise<Reply>;

interface Route {
  method: string;
  pattern: RegExp;
  auth: boolean;
  body: boolean;
  handler: Handler;
}

function zodProblems(error: z.ZodError, prefix = ""): FieldProblem[] {
  return error.issues.map((i) => {
    const path = formatPath([...(prefix ? [prefix] : []), ...i.path]);
    if (i.code === "unrecognized_keys") return { path, message: `unknown field(s): ${i.keys.join(", ")}` };
    return { path, message: i.message };
  });
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProblemError("validation", `the ${what} is not valid`, zodProblems(r.error));
  return r.data;
}

export function createApi({ db, ledger, catalog, common, health, onEvents, rates }: ApiArgs): Api {
  const cfg = common.config;
  const keys = cfg.api.keys.map((k) => ({ name: k.name, hash: Buffer.from(k.sha256, "hex") }));
  const log = common.logger.child({ mod: "api" });
  let accepting = true;

  function authenticate(req: IncomingMessage): string {
    const h = req.headers.authorization;
    const m = typeof h === "string" ? /^Bearer ([\x21-\x7e]{1,512})$/.exec(h) : null;
    if (!m) throw new ProblemError("unauthorized", "send Authorization: Bearer <key>");
    const presented = createHash("sha256").update(m[1]!).digest();
    let who: string | undefined;
    for (const k of keys) if (timingSafeEqual(presented, k.hash) && !who) who = k.name;
    if (!who) throw new ProblemError("unauthorized", "unknown API key");
    return who;
  }

  const createBatch = createOrderBatcher(ledger, common.now);
  const routes: Route[] = [];
  const route = (
    method: string,
    path: string,
    handler: Handler,
    opts: { auth?: boolean; body?: boolean } = {},
  ) =>
    routes.push({
      method,
      pattern: new RegExp("^" + path.replace(/:[a-z]+/g, "([A-Za-z0-9_]{1,64})") + "$"),
      auth: opts.auth ?? true,
      body: opts.body ?? false,
      handler,
    });

  route(
    "POST",
    "/v1/orders",
    async (_req, { merchant, body }) => {
      const input = parse(createOrderBody, body, "order") as CreateOrderInput;
      await checkCreateTarget(input, cfg.notify.allow_private_targets);
      const { order, created } = await createBatch.add(merchant, input);
      if (created) log.info({ order: order.id, merchant_order_id: order.merchant_order_id }, "order created");
      return { status: created ? 201 : 200, body: order };
    },
    { body: true },
  );
  route("GET", "/v1/orders", (_req, { merchant, url }) => {
    const query = parse(listQuery, Object.fromEntries(url.searchParams), "query");
    if (query.merchant_order_id !== undefined) {
      const order = ledger.findOrder(merchant, query.merchant_order_id);
      if (!order)
        throw new ProblemError("not_found", `no order with merchant_order_id ${query.merchant_order_id}`);
      return { status: 200, body: order };
    }
    return {
      status: 200,
      body: ledger.listOrders(merchant, {
        status: query.status,
        limit: query.limit ?? 50,
        cursor: query.cursor,
      }),
    };
  });
  route("GET", "/v1/orders/:id", (_req, { merchant, params }) => {
    const order = ledger.getOrder(merchant, params[0]!);
    if (!order) throw new ProblemError("not_found", `order ${params[0]} not found`);
    return { status: 200, body: { ...order, payments: ledger.orderPayments(merchant, params[0]!) ?? [] } };
  });
  route(
    "POST",
    "/v1/orders/:id/cancel",
    (_req, { merchant, params, body }) => {
      parse(noFields, body, "request");
      return { status: 200, body: ledger.cancelOrder(merchant, params[0]!, common.now()) };
    },
    { body: true },
  );
  route(
    "POST",
    "/v1/orders/:id/accept",
    (_req, { merchant, params, body }) => {
      parse(noFields, body, "request");
      return { status: 200, body: ledger.acceptOrder(merchant, params[0]!, common.now()) };
    },
    { body: true },
  );
  route("GET", "/v1/orders/:id/payments", (_req, { merchant, params }) => {
    const payments = ledger.orderPayments(merchant, params[0]!);
    if (!payments) throw new ProblemError("not_found", `order ${params[0]} not found`);
    return { status: 200, body: { payments } };
  });
  route("GET", "/v1/orders/:id/events", (_req, { merchant, params, url }) => {
    if (!ledger.ownsOrder(merchant, params[0]!))
      throw new ProblemError("not_found", `order ${params[0]} not found`);
    const after = url.searchParams.get("after");
    if (after !== null && !/^[0-9]{1,9}$/.test(after)) {
      throw new ProblemError("validation", "bad query", [
        { path: "after", message: "must be a non-negative integer (an event seq)" },
      ]);
    }
    return {
      status: 200,
      body: { events: listOrderEvents(db, params[0]!, after === null ? undefined : Number(after)) },
    };
  });
  route(
    "POST",
    "/v1/events/:id/redeliver",
    (_req, { merchant, params, body }) => {
      parse(noFields, body, "request");
      const ev = db
        .prepare<[string], { order_id: string | null }>("SELECT order_id FROM events WHERE id = ?")
        .get(params[0]!);
      if (!ev || (ev.order_id && !ledger.ownsOrder(merchant, ev.order_id)))
        throw new ProblemError("not_found", `event ${params[0]} not found`);
      if (!redeliverEvent(db, params[0]!, common.now()))
        throw new ProblemError("conflict", "this event has no callback URL to deliver to");
      onEvents?.();
      return { status: 202, body: { id: params[0], state: "pending" } };
    },
    { body: true },
  );
  route("GET", "/v1/assets", () => ({ status: 200, body: listAssets(catalog, cfg) }));
  route("GET", "/v1/rates", () => ({ status: 200, body: listRates(catalog, cfg, rates, common.now()) }));
  route("GET", "/v1/payments", (_req, { url }) => {
    if (url.searchParams.get("unattributed") !== "true") {
      throw new ProblemError("validation", "bad query", [
        { path: "unattributed", message: "only unattributed=true is supported" },
      ]);
    }
    const limit = Number(url.searchParams.get("limit") ?? "100");
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ProblemError("validation", "bad query", [{ path: "limit", message: "must be 1–1000" }]);
    }
    return { status: 200, body: { payments: ledger.unattributedPayments(limit) } };
  });
  route(
    "POST",
    "/v1/payments/:id/assign",
    (_req, { merchant, params, body }) => {
      const input = parse(assignBody, body, "assignment");
      const payment = ledger.assignPayment(merchant, params[0]!, input.order_id, common.now());
      return { status: 200, body: payment };
    },
    { body: true },
  );

  function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, {
      "content-type": type,
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-store",
    });
    res.end(res.req.method === "HEAD" ? undefined : text);
  }

  function sendProblem(res: ServerResponse, p: ProblemError): void {
    send(res, p.status, p.toJSON(), "application/problem+json");
  }

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const limit = cfg.api.max_body_bytes;
      const declared = Number(req.headers["content-length"] ?? "0");
      if (declared > limit)
        return reject(new ProblemError("payload_too_large", `bodies are limited to ${limit} bytes`));
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          reject(new ProblemError("payload_too_large", `bodies are limited to ${limit} bytes`));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
      const h = health();
      return send(res, h.ok ? 200 : 503, h);
    }
    if (url.pathname === "/openapi.json" && req.method === "GET") return send(res, 200, openapi);
    if (url.pathname === "/metrics" && req.method === "GET") {
      return send(res, 200, await common.metrics.metrics(), common.metrics.contentType);
    }
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) throw new ProblemError("not_found", `no such endpoint: ${url.pathname}`);
    const r = candidates.find((c) => c.method === req.method);
    if (!r) {
      res.setHeader("allow", candidates.map((c) => c.method).join(", "));
      throw new ProblemError("method_not_allowed", `${req.method} is not allowed on ${url.pathname}`);
    }
    if (!accepting) throw new ProblemError("unavailable", "shutting down");
    const merchant = r.auth ? authenticate(req) : "";
    let body: unknown = undefined;
    if (r.body) {
      const text = await readBody(req);
      if (text.trim().length > 0) {
        const ct = String(req.headers["content-type"] ?? "");
        if (!/^application\/([a-z.+-]*\+)?json\b/i.test(ct)) {
          throw new ProblemError("unsupported_media_type", "send Content-Type: application/json");
        }
        try {
          body = JSON.parse(text);
        } catch (e) {
          throw new ProblemError(
            "bad_json",
            `the body is not valid JSON: ${(e as Error).message.slice(0, 120)}`,
          );
        }
      } else {
        body = {};
      }
    }
    const m = r.pattern.exec(url.pathname)!;
    const before = ledger.eventsWritten();
    const out = await r.handler(req, { merchant, params: m.slice(1), url, body });
    if (ledger.eventsWritten() !== before) onEvents?.();
    send(res, out.status, out.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof ProblemError) return sendProblem(res, e);
      const err = e as Error & { code?: string };
      if (
        err.code === "SQLITE_FULL" ||
        err.code === "SQLITE_READONLY" ||
        err.code === "SQLITE_IOERR" ||
        err.code?.startsWith("SQLITE_IOERR") ||
        err.code === "SQLITE_CANTOPEN"
      ) {
        log.error({ err: err.message, code: err.code }, "database cannot be written");
        return sendProblem(
          res,
          new ProblemError("unavailable", "the database cannot be written right now; try again later"),
        );
      }
      log.error({ err: err.message, stack: err.stack }, "unhandled API error");
      sendProblem(res, new ProblemError("internal", "internal error; see the daemon's log"));
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  return {
    server,
    listen() {
      const [host, port] = splitListen(cfg.api.listen);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const a = server.address();
          resolve({ host, port: typeof a === "object" && a ? a.port : port });
        });
      });
    },
    close() {
      accepting = false;
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * Group commit for order creates: creates that arrive while the event loop is busy are written
 * in one transaction (one fsync), each in its own savepoint, and answered after the commit.
 */
function createOrderBatcher(ledger: Ledger, now: () => number) {
  type Pending = {
    merchant: string;
    input: CreateOrderInput;
    resolve: (r: { order: OrderJson; created: boolean }) => void;
    reject: (e: unknown) => void;
  };
  let queue: Pending[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    try {
      const results = ledger.createOrders(batch, now());
      results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r) : batch[i]!.reject(r.error)));
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
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

export function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(":");
  return [listen.slice(0, i).replace(/^\[|\]$/g, ""), Number(listen.slice(i + 1))];
}

/** Validate the callback target at create time (async DNS), before the synchronous ledger call. */
export async function checkCreateTarget(body: unknown, allowPrivate: boolean): Promise<void> {
  const url = (body as { callback_url?: unknown } | null)?.callback_url;
  if (typeof url !== "string") return;
  const problem = await checkCallbackTarget(url, allowPrivate);
  if (problem)
    throw new ProblemError("validation", "the order is not valid", [
      { path: "callback_url", message: problem },
    ]);
}
