// The customer's checkout page on its own fastify listener (checkout.listen), so the merchant API
// can stay on loopback while this is public. No API key: the order's unguessable token is the key.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { Catalog } from "../ledger/catalog.js";
import { type Lang, pickLanguage } from "./i18n.js";
import { createLiveHub, type LiveHub, type StreamClient } from "./live.js";
import { renderMain, renderNotFound, renderPage } from "./render.js";
import { SCRIPT, type StaticAsset, staticAsset, stylesheet } from "./assets.js";
import { type CheckoutData, createCheckoutStore } from "./store.js";
import { TOKEN_RE } from "./url.js";
import { type ViewContext, checkoutState } from "./view.js";

export interface Checkout {
  listen(): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
  /** the ledger's onCommit hook: drives every open page's live status */
  onCommit(c: { orders: string[]; chain?: string; head?: number }): void;
  hub: LiveHub;
}

export interface CheckoutArgs {
  db: DB;
  catalog: Catalog;
  common: Common;
}

const OPTION_RE = /^[A-Z0-9][A-Z0-9._-]{0,31}$/;
const LOGO_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
};

/** A token bucket per client IP: `perMinute` requests, refilled continuously. */
export function createRateLimiter(perMinute: number, clock: () => number = () => performance.now()) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (ip: string): boolean => {
    const now = clock();
    let b = buckets.get(ip);
    if (!b) {
      if (buckets.size >= 50_000) buckets.clear(); // a flood of addresses must not grow memory
      buckets.set(ip, (b = { tokens: perMinute, at: now }));
    }
    b.tokens = Math.min(perMinute, b.tokens + ((now - b.at) / 60_000) * perMinute);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  };
}

export function securityHeaders(frameAncestors: readonly string[]): Record<string, string> {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors.length ? frameAncestors.join(" ") : "'none'"}`,
  ].join("; ");
  return {
    "content-security-policy": csp,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
  };
}

export function createCheckout(args: CheckoutArgs): Checkout {
  const { db, catalog, common } = args;
  const cfg = common.config.checkout;
  const store = createCheckoutStore(db);
  const css = staticAsset("app", "css", "text/css; charset=utf-8", stylesheet(cfg.brand.color));
  const js = staticAsset("app", "js", "text/javascript; charset=utf-8", SCRIPT);
  const assets = new Map<string, StaticAsset>([
    [css.path, css],
    [js.path, js],
  ]);
  let logoUrl: string | null = null;
  if (cfg.brand.logo_file) {
    const ext = extname(cfg.brand.logo_file).toLowerCase();
    const logo = staticAsset("logo", ext.slice(1), LOGO_TYPES[ext]!, readFileSync(cfg.brand.logo_file));
    assets.set(logo.path, logo);
    logoUrl = logo.path;
  }
  const context = (heads: ViewContext["heads"]): ViewContext => ({
    checkout: cfg,
    chain: (id) => catalog.chain(id),
    asset: (id) => catalog.asset(id),
    heads,
    now: common.now(),
    logoUrl,
  });
  const hub = createLiveHub({ store, context, render: renderMain });
  const headers = securityHeaders(cfg.frame_ancestors);
  const allow = createRateLimiter(cfg.rate_limit_per_minute);

  const app = Fastify({
    logger: false,
    bodyLimit: 1024,
    routerOptions: { maxParamLength: 200 },
    // behind a configured proxy the customer's IP (for the per-IP limits) is in X-Forwarded-For
    trustProxy: cfg.trust_proxy.length ? cfg.trust_proxy : false,
  });

  interface PageQuery {
    lang?: unknown;
    option?: unknown;
  }
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  function ask(req: FastifyRequest) {
    const q = (req.query ?? {}) as PageQuery;
    const langQ = str(q.lang);
    const lang: Lang = pickLanguage(langQ, req.headers["accept-language"], cfg.default_language);
    const opt = str(q.option);
    return { lang, langInUrl: langQ !== undefined, option: opt && OPTION_RE.test(opt) ? opt : undefined };
  }
  function notFound(req: FastifyRequest, reply: FastifyReply, json: boolean) {
    // one answer for a missing, malformed or unknown token: nothing tells them apart
    reply.code(404).header("cache-control", "no-store");
    if (json) return reply.type("application/json").send('{"error":"not_found"}');
    return reply.type("text/html; charset=utf-8").send(renderNotFound(ask(req).lang, css.path));
  }
  function load(token: string): CheckoutData | undefined {
    return TOKEN_RE.test(token) ? store.byToken(token) : undefined;
  }

  app.addHook("onRequest", async (req, reply) => {
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    if (!allow(req.ip)) {
      await reply.code(429).header("retry-after", "10").type("text/plain").send("too many requests");
      return reply;
    }
  });

  app.get<{ Params: { token: string } }>("/pay/:token", (req, reply) => {
    const data = load(req.params.token);
    if (!data) return notFound(req, reply, false);
    const a = ask(req);
    const state = checkoutState(data, context(store.heads()), a.option);
    return reply
      .header("cache-control", "no-store")
      .type("text/html; charset=utf-8")
      .send(renderPage(state, a.lang, { langInUrl: a.langInUrl, assets: { css: css.path, js: js.path } }));
  });

  app.get<{ Params: { token: string } }>("/pay/:token/checkout.json", (req, reply) => {
    const data = load(req.params.token);
    if (!data) return notFound(req, reply, true);
    const state = checkoutState(data, context(store.heads()), ask(req).option);
    // a shop's own page may read it from the browser: the token is the key, no cookie is involved
    return reply
      .header("cache-control", "no-store")
      .header("access-control-allow-origin", "*")
      .type("application/json")
      .send(JSON.stringify(state));
  });

  app.get<{ Params: { token: string } }>("/pay/:token/events", (req, reply) => {
    const data = load(req.params.token);
    if (!data) return notFound(req, reply, false);
    if (
      hub.streams() >= common.config.checkout.max_streams ||
      hub.streamsOf(req.ip) >= cfg.max_streams_per_ip
    )
      return reply.code(429).header("retry-after", "30").type("text/plain").send("too many open pages");
    const a = ask(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no", // nginx: do not buffer the stream
      connection: "keep-alive",
    });
    const client: StreamClient = {
      orderId: data.order.id,
      ip: req.ip,
      ...a,
      write: (frame) => void (res.writableEnded || res.write(frame)),
    };
    // the page may have been rendered just before a change: start with the state now
    res.write(`retry: 5000\n\n${hub.frame(client, data)}`);
    const remove = hub.add(client, data);
    res.on("close", remove);
  });

  app.get("/checkout/*", (req, reply) => {
    const asset = assets.get(req.url.split("?")[0]!);
    if (!asset) return notFound(req, reply, false);
    if (req.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply
      .header("cache-control", "public, max-age=31536000, immutable")
      .header("etag", asset.etag)
      .type(asset.type)
      .send(asset.body);
  });

  app.setNotFoundHandler((req, reply) => notFound(req, reply, false));

  return {
    hub,
    onCommit: (c) => hub.onCommit(c),
    async listen() {
      const m = /^(.*):(\d+)$/.exec(cfg.listen)!;
      const host = m[1]!.replace(/^\[|\]$/g, "");
      await app.listen({ host, port: Number(m[2]) });
      const addr = app.server.address();
      const port = typeof addr === "object" && addr ? addr.port : Number(m[2]);
      return { host, port };
    },
    async close() {
      hub.close();
      const closing = app.close();
      // open event streams would hold close() forever
      app.server.closeAllConnections();
      await closing;
    },
  };
}
