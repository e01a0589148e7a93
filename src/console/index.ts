// The operator console at /console on the merchant API's fastify instance (never the checkout
// listener): sign-in with an operator key, server-side sessions, CSRF tokens on every form.
// Pages are server-rendered (render.ts); data comes from counters and indexes (data.ts); every
// write goes through the ledger or src/notify/redeliver.ts, as the API's would.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { HealthReport } from "../api/schemas.js";
import { decideAccept, decideCancel } from "../core/resolution.js";
import { ORDER_STATUSES, type OrderStatus } from "../core/reconcile.js";
import { ProblemError } from "../errors.js";
import type { Catalog } from "../ledger/catalog.js";
import type { Ledger } from "../ledger/index.js";
import type { RateBook } from "../rates/index.js";
import { eventOwner, redeliverEvent } from "../notify/redeliver.js";
import { SCRIPT, STYLESHEET, type StaticAsset, staticAsset } from "./assets.js";
import {
  loadDeliveries,
  loadInbox,
  loadOrder,
  type AuditFindingsSource,
  filterOrders,
  loadAudit,
  loadJob,
  loadRates,
  loadOverview,
  merchantOfOrder,
  type OrderFilter,
  parseCursor,
  REDELIVER_MAX,
  searchOrders,
  startRedeliverHost,
} from "./data.js";
import {
  type Frame,
  renderConfirm,
  renderDeliveries,
  renderInbox,
  renderJob,
  renderLogin,
  renderMessage,
  renderOrder,
  renderOrders,
  renderOverview,
} from "./render.js";
import type { RpcLog } from "./rpc.js";
import { consoleStatements } from "./statements.js";

export { createRpcLog, type RpcLog } from "./rpc.js";
export { type AuditFindingsSource, recordLagSamples } from "./data.js";

export interface ConsoleArgs {
  db: DB;
  ledger: Ledger;
  common: Common;
  health: () => HealthReport;
  /** after a write that stored events (wakes the delivery worker) */
  onEvents?: () => void;
  rpc?: RpcLog;
  catalog: Catalog;
  /** live rates, when configured */
  rates?: RateBook;
  /** persisted audit findings, when the background audit keeps them (else "audit: not enabled") */
  audit?: AuditFindingsSource;
}

const COOKIE = "depositd_console";
const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const HEADERS: Record<string, string> = {
  "content-security-policy": CSP,
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
  "cache-control": "no-store",
};

const sha256 = (s: string) => createHash("sha256").update(s).digest();
const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");

/** The CSRF token is derived from the session id, so it needs no storage and dies with the session. */
const csrfOf = (sessionId: string) => sha256hex(`depositd-console-csrf\n${sessionId}`);

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(req: FastifyRequest): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return v.join("=");
  }
  return null;
}

function formOf(req: FastifyRequest): URLSearchParams {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return new URLSearchParams();
  return new URLSearchParams(typeof req.body === "string" ? req.body : "");
}

interface Session {
  id: string;
  operator: string;
  csrf: string;
}

export function registerConsole(app: FastifyInstance, args: ConsoleArgs): void {
  const { db, ledger, common } = args;
  const cfg = common.config;
  const s = consoleStatements(db);
  const ttlMs = cfg.api.console_session_minutes * 60_000;
  const operators = cfg.api.keys
    .filter((k) => k.role === "operator")
    .map((k) => ({ name: k.name, hash: Buffer.from(k.sha256, "hex") }));
  const merchants = cfg.api.keys
    .filter((k) => k.role !== "operator")
    .map((k) => Buffer.from(k.sha256, "hex"));
  const css = staticAsset("console", "css", "text/css; charset=utf-8", STYLESHEET);
  const js = staticAsset("console", "js", "text/javascript; charset=utf-8", SCRIPT);
  const explorer = (chain: string) => cfg.chains.find((c) => c.id === chain)?.explorer_url;

  const frame = (session: Session | null): Frame => ({
    css: css.path,
    js: js.path,
    csrf: session?.csrf ?? null,
    operator: session?.operator ?? null,
    now: common.now(),
  });

  function page(reply: FastifyReply, status: number, body: string): FastifyReply {
    return reply.code(status).headers(HEADERS).header("content-type", "text/html; charset=utf-8").send(body);
  }
  const redirect = (reply: FastifyReply, to: string) =>
    reply.code(303).headers(HEADERS).header("location", to).send();

  function secure(req: FastifyRequest): boolean {
    return req.protocol === "https";
  }
  function setCookie(reply: FastifyReply, req: FastifyRequest, value: string, maxAgeS: number): void {
    reply.header(
      "set-cookie",
      `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure(req) ? "; Secure" : ""}`,
    );
  }

  function sessionOf(req: FastifyRequest): Session | null {
    const id = cookieValue(req);
    if (!id || !ID_RE.test(id)) return null;
    const hash = sha256hex(id);
    const row = s.session.get(hash);
    if (!row) return null;
    // expired, or its key is no longer an operator key in the config: over
    if (row.expires_at <= common.now() || !operators.some((o) => o.name === row.key_name)) {
      s.deleteSession.run(hash);
      return null;
    }
    return { id, operator: row.key_name, csrf: csrfOf(id) };
  }

  /** A page for signed-in operators; a state change also needs the session's CSRF token. */
  function guarded(
    method: "GET" | "POST",
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply, session: Session, form: URLSearchParams) => unknown,
  ): void {
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        const session = sessionOf(req);
        if (!session) {
          if (method === "GET") return redirect(reply, "/console/login?expired=1");
          return page(reply, 403, renderLogin(frame(null), "Your session has ended: sign in again.", null));
        }
        const form = method === "POST" ? formOf(req) : new URLSearchParams();
        if (method === "POST" && !sameBytes(form.get("csrf") ?? "", session.csrf))
          return page(
            reply,
            403,
            renderMessage(
              frame(session),
              "Refused",
              "This form was not sent from the console (missing or wrong CSRF token). Nothing was changed.",
            ),
          );
        try {
          return await handler(req, reply, session, form);
        } catch (e) {
          if (e instanceof ProblemError)
            return page(reply, e.status, renderMessage(frame(session), "Not done", e.message));
          throw e;
        }
      },
    });
  }

  for (const a of [css, js] as StaticAsset[])
    app.get(a.path, (_req, reply) =>
      reply
        .headers(HEADERS)
        .header("content-type", a.type)
        .header("cache-control", "public, max-age=31536000, immutable")
        .send(a.body),
    );

  app.get("/console", (req, reply) =>
    redirect(reply, sessionOf(req) ? "/console/overview" : "/console/login"),
  );

  app.get("/console/login", (req, reply) => {
    if (sessionOf(req)) return redirect(reply, "/console/overview");
    const q = req.query as Record<string, string | undefined>;
    const notice = q.expired ? "Your session has ended: sign in again." : q.out ? "Signed out." : null;
    return page(reply, 200, renderLogin(frame(null), null, notice));
  });

  app.post("/console/login", (req, reply) => {
    const key = formOf(req).get("key") ?? "";
    const presented = sha256(key);
    let who: string | undefined;
    for (const o of operators) if (timingSafeEqual(presented, o.hash) && !who) who = o.name;
    if (!who) {
      const merchant = merchants.some((m) => timingSafeEqual(presented, m));
      return page(
        reply,
        401,
        renderLogin(
          frame(null),
          merchant ? "That is a merchant key: the console needs an operator key." : "That key is not valid.",
          null,
        ),
      );
    }
    const now = common.now();
    s.pruneSessions.run(now);
    const id = randomBytes(32).toString("base64url");
    s.insertSession.run({ hash: sha256hex(id), key: who, now, expires: now + ttlMs });
    setCookie(reply, req, id, Math.floor(ttlMs / 1000));
    common.logger.info({ mod: "console", operator: who }, "operator signed in");
    return redirect(reply, "/console/overview");
  });

  guarded("POST", "/console/logout", (req, reply, session) => {
    s.deleteSession.run(sha256hex(session.id));
    setCookie(reply, req, "", 0);
    return redirect(reply, "/console/login?out=1");
  });

  guarded("GET", "/console/overview", (_req, reply, session) =>
    page(
      reply,
      200,
      renderOverview(
        frame(session),
        loadOverview(db, common, args.health(), args.rpc),
        loadRates(args.catalog, cfg, args.rates, common.now()),
        loadAudit(args.audit),
      ),
    ),
  );

  const merchantNames = [...new Set(cfg.api.keys.filter((k) => k.role !== "operator").map((k) => k.name))];
  const chainIds = cfg.chains.map((c) => c.id);

  guarded("GET", "/console/orders", (req, reply, session) => {
    const q = req.query as Record<string, string | undefined>;
    const { filter, errors, form } = parseOrderFilter(q, merchantNames, chainIds);
    const result = filterOrders(db, filter);
    if (filter.q && result.rows.length === 1 && errors.length === 0)
      return redirect(reply, `/console/orders/${result.rows[0]!.id}`);
    return page(
      reply,
      errors.length ? 400 : 200,
      renderOrders(frame(session), { form, errors, merchants: merchantNames, chains: chainIds }, result),
    );
  });

  const actionsOf = (status: OrderStatus, paid: string) => ({
    cancel: decideCancel(status).kind === "resolve",
    accept: decideAccept(status, /^0(\.0*)?$/.test(paid) ? 0n : 1n).kind === "resolve",
  });

  guarded("GET", "/console/orders/:id", (req, reply, session) => {
    const id = (req.params as { id: string }).id;
    const p = loadOrder(db, ledger, id);
    if (!p)
      return page(reply, 404, renderMessage(frame(session), "No such order", `There is no order ${id}.`));
    const q = req.query as Record<string, string | undefined>;
    const notice = q.done ? String(q.done).slice(0, 200) : null;
    return page(
      reply,
      200,
      renderOrder(frame(session), p, explorer, actionsOf(p.order.status, p.order.paid_amount), notice),
    );
  });

  for (const action of ["cancel", "accept"] as const)
    guarded("POST", `/console/orders/:id/${action}`, (_req, reply, session, form) => {
      const id = (_req.params as { id: string }).id;
      const merchant = merchantOfOrder(db, id);
      const order = merchant ? ledger.getOrder(merchant, id) : undefined;
      if (!merchant || !order)
        return page(reply, 404, renderMessage(frame(session), "No such order", `There is no order ${id}.`));
      if (form.get("confirm") !== "yes")
        return page(reply, 200, renderConfirm(frame(session), order, action));
      const now = common.now();
      const done =
        action === "cancel" ? ledger.cancelOrder(merchant, id, now) : ledger.acceptOrder(merchant, id, now);
      common.logger.info(
        { mod: "console", operator: session.operator, order: id, action },
        "operator changed an order",
      );
      args.onEvents?.();
      return redirect(
        reply,
        `/console/orders/${id}?done=${encodeURIComponent(`Order is now ${done.status}.`)}`,
      );
    });

  guarded("POST", "/console/events/:id/redeliver", (req, reply, session) => {
    const id = (req.params as { id: string }).id;
    const orderId = eventOwner(db, id)?.order_id;
    const queued = redeliverEvent(db, id, common.now());
    common.logger.info(
      { mod: "console", operator: session.operator, event: id, queued },
      "operator redelivered an event",
    );
    if (queued) args.onEvents?.();
    const msg = queued ? "The event is queued for delivery now." : "That event has nowhere to go.";
    return orderId
      ? redirect(reply, `/console/orders/${orderId}?done=${encodeURIComponent(msg)}`)
      : redirect(reply, `/console/deliveries?done=${encodeURIComponent(msg)}`);
  });

  guarded("GET", "/console/deliveries", (req, reply, session) => {
    const q = req.query as Record<string, string | undefined>;
    return page(
      reply,
      200,
      renderDeliveries(
        frame(session),
        loadDeliveries(db),
        q.done ? String(q.done).slice(0, 200) : null,
        common.now(),
      ),
    );
  });

  guarded("POST", "/console/deliveries/redeliver-host", (_req, reply, session, form) => {
    const host = (form.get("host") ?? "").slice(0, 300);
    const now = common.now();
    const job = startRedeliverHost(db, host, session.operator, now, (id) => redeliverEvent(db, id, now));
    common.logger.info(
      { mod: "console", operator: session.operator, host, queued: job?.queued ?? 0, job: job?.id },
      "operator redelivered a host's dead events",
    );
    if (!job)
      return redirect(
        reply,
        `/console/deliveries?done=${encodeURIComponent(`No dead event to ${host} to queue.`)}`,
      );
    args.onEvents?.();
    return redirect(reply, `/console/deliveries/jobs/${job.id}`);
  });

  guarded("GET", "/console/deliveries/jobs/:id", (req, reply, session) => {
    const id = (req.params as { id: string }).id;
    const job = /^[A-Za-z0-9_-]{16}$/.test(id) ? loadJob(db, id) : null;
    if (!job)
      return page(
        reply,
        404,
        renderMessage(frame(session), "No such job", `There is no redelivery job ${id}.`),
      );
    return page(reply, 200, renderJob(frame(session), job, REDELIVER_MAX));
  });

  guarded("GET", "/console/inbox", (req, reply, session) => {
    const q = req.query as Record<string, string | undefined>;
    const message = q.done
      ? { ok: true, text: String(q.done).slice(0, 200) }
      : q.error
        ? { ok: false, text: String(q.error).slice(0, 300) }
        : null;
    return page(reply, 200, renderInbox(frame(session), loadInbox(db, ledger), explorer, message));
  });

  guarded("POST", "/console/inbox/:id/assign", (req, reply, session, form) => {
    const paymentId = (req.params as { id: string }).id;
    const target = (form.get("order") ?? "").trim().slice(0, 200);
    const hits = target ? searchOrders(db, target) : [];
    const back = (error: string) => redirect(reply, `/console/inbox?error=${encodeURIComponent(error)}`);
    if (hits.length !== 1)
      return back(
        hits.length
          ? `“${target}” matches ${hits.length} orders: use the order id.`
          : `No order matches “${target}”.`,
      );
    const order = hits[0]!;
    try {
      ledger.assignPayment(order.merchant, paymentId, order.id, common.now());
    } catch (e) {
      if (e instanceof ProblemError) return back(e.message);
      throw e;
    }
    common.logger.info(
      { mod: "console", operator: session.operator, payment: paymentId, order: order.id },
      "operator assigned a payment",
    );
    args.onEvents?.();
    return redirect(
      reply,
      `/console/orders/${order.id}?done=${encodeURIComponent(`Payment ${paymentId} assigned.`)}`,
    );
  });
}

/** The Orders screen's query string, checked field by field: what is wrong is named and left out. */
export function parseOrderFilter(
  q: Record<string, string | undefined>,
  merchants: readonly string[],
  chains: readonly string[],
): { filter: OrderFilter; errors: string[]; form: Record<string, string> } {
  const errors: string[] = [];
  const form: Record<string, string> = {};
  for (const k of ["q", "status", "merchant", "chain", "from", "to"])
    form[k] = (q[k] ?? "").trim().slice(0, 200);
  const oneOf = <T extends string>(field: string, allowed: readonly T[]): T | null => {
    const v = form[field]!;
    if (!v) return null;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    errors.push(`${field}: “${v}” is not one of ${allowed.join(", ") || "(none)"}.`);
    return null;
  };
  const time = (field: "from" | "to"): number | null => {
    const v = form[field]!;
    if (!v) return null;
    const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?)?$/.exec(v);
    const ms = m ? Date.parse(`${m[1]}T${m[2] ?? "00:00"}${m[3] ?? ":00"}.000Z`) : NaN;
    if (!Number.isFinite(ms)) {
      errors.push(`${field}: “${v}” is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC).`);
      return null;
    }
    // "to" includes the day or minute it names
    return field === "to"
      ? ms + (m![2] === undefined ? 86_400_000 : m![3] === undefined ? 60_000 : 1000)
      : ms;
  };
  const before = q.before ? parseCursor(q.before) : null;
  if (q.before && !before) errors.push("before: not a page cursor of this screen.");
  const filter: OrderFilter = {
    q: form.q!,
    status: oneOf("status", ORDER_STATUSES),
    merchant: oneOf("merchant", merchants),
    chain: oneOf("chain", chains),
    from: time("from"),
    to: time("to"),
    before,
  };
  if (filter.from !== null && filter.to !== null && filter.from >= filter.to)
    errors.push("to: must be after from.");
  return { filter, errors, form };
}
