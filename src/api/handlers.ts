// What each API operation does, as plain functions: validated input in, a reply (status + body)
// out, or a ProblemError. No HTTP here: the fastify server (server.ts) and the CLI (main.ts) call
// these same functions through invoke() in routes.ts.
import type { Logger } from "pino";
import type { Common } from "../common.js";
import type { OrderStatus } from "../core/reconcile.js";
import type { DB } from "../db/index.js";
import { ProblemError } from "../errors.js";
import type { Catalog } from "../ledger/catalog.js";
import type { Ledger } from "../ledger/index.js";
import { cursorKey, paged } from "../ledger/page.js";
import { checkCallbackTarget } from "../notify/targets.js";
import { exportPayments as streamPayments } from "../export/payments.js";
import { eventOwner, listOrderEvents, redeliverEvent } from "../notify/redeliver.js";
import type { RateBook } from "../rates/index.js";
import { listAssets as assetsOf, listRates as ratesOf } from "../rates/handlers.js";
import type { CreateOrderBody, HealthReport, OrderJson } from "./schemas.js";

export interface ApiContext {
  db: DB;
  ledger: Ledger;
  catalog: Catalog;
  common: Common;
  log: Logger;
  health: () => HealthReport;
  /** live rates, when configured (GET /v1/rates) */
  rates?: RateBook;
  /** writes one create: the API batches them (group commit), the CLI writes it alone */
  createOrder(merchant: string, input: CreateOrderBody): Promise<{ order: OrderJson; created: boolean }>;
  /** the OpenAPI document, serialized once */
  openapi: () => string;
}

export interface Reply {
  status: number;
  body: unknown;
  /** a streamed body instead (exports): sent chunk by chunk with backpressure */
  stream?: AsyncIterable<string>;
  /** media type when not application/json (the body is then sent as the string it is) */
  type?: string;
}

export interface Input<P = unknown, Q = unknown, B = unknown> {
  /** the API key's name (new orders belong to it); "" on routes without auth */
  merchant: string;
  /** whose orders this key sees and changes: its own name, or null (every order) for an operator */
  owner: string | null;
  params: P;
  query: Q;
  body: B;
}

type Id = { id: string };

export async function createOrder(
  ctx: ApiContext,
  { merchant, body }: Input<unknown, unknown, CreateOrderBody>,
) {
  await checkCreateTarget(body, ctx.common.config.notify.allow_private_targets);
  const { order, created } = await ctx.createOrder(merchant, body);
  if (created) ctx.log.info({ order: order.id, merchant_order_id: order.merchant_order_id }, "order created");
  return { status: created ? 201 : 200, body: order };
}

type Page = { limit: number; cursor?: string };

export function listOrders(
  ctx: ApiContext,
  { merchant, owner, query }: Input<unknown, { merchant_order_id?: string; status?: OrderStatus } & Page>,
): Reply {
  if (query.merchant_order_id !== undefined) {
    // merchant_order_id is unique per key: an operator looks up its own, as a merchant does
    const order = ctx.ledger.findOrder(merchant, query.merchant_order_id);
    if (!order)
      throw new ProblemError("not_found", `no order with merchant_order_id ${query.merchant_order_id}`);
    return { status: 200, body: order };
  }
  const { status, limit, cursor } = query;
  return { status: 200, body: ctx.ledger.listOrders(owner, { status, limit, cursor }) };
}

export function getOrder(ctx: ApiContext, { owner, params }: Input<Id>): Reply {
  const order = ctx.ledger.getOrder(owner, params.id);
  if (!order) throw new ProblemError("not_found", `order ${params.id} not found`);
  return { status: 200, body: { ...order, payments: ctx.ledger.orderPayments(owner, params.id) ?? [] } };
}

export function cancelOrder(ctx: ApiContext, { owner, params }: Input<Id>): Reply {
  return { status: 200, body: ctx.ledger.cancelOrder(owner, params.id, ctx.common.now()) };
}

export function acceptOrder(ctx: ApiContext, { owner, params }: Input<Id>): Reply {
  return { status: 200, body: ctx.ledger.acceptOrder(owner, params.id, ctx.common.now()) };
}

export function orderPayments(ctx: ApiContext, { owner, params, query }: Input<Id, Page>): Reply {
  const page = ctx.ledger.orderPaymentsPage(owner, params.id, query);
  if (!page) throw new ProblemError("not_found", `order ${params.id} not found`);
  return { status: 200, body: page };
}

/** An events page's key: the seq of its last event. */
const EVENT_KEY = ["number"] as const;

export function orderEvents(
  ctx: ApiContext,
  { owner, params, query }: Input<Id, { after?: number } & Page>,
): Reply {
  const key = cursorKey(query.cursor, EVENT_KEY);
  if (!ctx.ledger.ownsOrder(owner, params.id))
    throw new ProblemError("not_found", `order ${params.id} not found`);
  const after = Math.max(query.after ?? -1, (key?.[0] as number | undefined) ?? -1);
  const rows = listOrderEvents(ctx.db, params.id, after, query.limit + 1);
  const { items, next_cursor } = paged(
    rows,
    query.limit,
    (e) => [e.seq ?? 0],
    (e) => e,
  );
  return { status: 200, body: { events: items, next_cursor } };
}

export function redeliver(ctx: ApiContext, { owner, params }: Input<Id>): Reply {
  const ev = eventOwner(ctx.db, params.id);
  // a merchant redelivers its own orders' and accounts' events; events of neither (unattributed)
  // are the operator's
  const visible =
    ev !== undefined &&
    (owner === null ||
      (ev.order_id !== null && ctx.ledger.ownsOrder(owner, ev.order_id)) ||
      (ev.account_id !== null &&
        ev.account_id !== undefined &&
        ctx.ledger.ownsAccount(owner, ev.account_id)));
  if (!visible) throw new ProblemError("not_found", `event ${params.id} not found`);
  if (!redeliverEvent(ctx.db, params.id, ctx.common.now()))
    throw new ProblemError("conflict", "this event has no callback URL to deliver to");
  return { status: 202, body: { id: params.id, state: "pending" } };
}

export function listAssets(ctx: ApiContext): Reply {
  return { status: 200, body: assetsOf(ctx.catalog, ctx.common.config) };
}

export function listRates(ctx: ApiContext): Reply {
  return { status: 200, body: ratesOf(ctx.catalog, ctx.common.config, ctx.rates, ctx.common.now()) };
}

export function unattributedPayments(ctx: ApiContext, { query }: Input<unknown, Page>): Reply {
  return { status: 200, body: ctx.ledger.unattributedPayments(query) };
}

export function assignPayment(
  ctx: ApiContext,
  { owner, params, body }: Input<Id, unknown, { order_id: string }>,
) {
  return {
    status: 200,
    body: ctx.ledger.assignPayment(owner, params.id, body.order_id, ctx.common.now()),
  };
}

export function health(ctx: ApiContext): Reply {
  const h = ctx.health();
  return { status: h.ok ? 200 : 503, body: h };
}

export async function metrics(ctx: ApiContext): Promise<Reply> {
  return { status: 200, body: await ctx.common.metrics.metrics(), type: ctx.common.metrics.contentType };
}

export function openapi(ctx: ApiContext): Reply {
  return { status: 200, body: ctx.openapi() };
}

/** Validate the callback target at create time (async DNS), before the synchronous ledger call. */
export async function checkCreateTarget(
  body: { callback_url: string },
  allowPrivate: boolean,
): Promise<void> {
  const problem = await checkCallbackTarget(body.callback_url, allowPrivate);
  if (problem)
    throw new ProblemError("validation", "the order is not valid", [
      { path: "callback_url", message: problem },
    ]);
}

export function exportPayments(
  ctx: ApiContext,
  { owner, query }: Input<unknown, { from?: number; to?: number; format: "csv" | "ndjson" }>,
): Reply {
  const q = { owner, from: query.from ?? 0, to: query.to ?? Number.MAX_SAFE_INTEGER, format: query.format };
  if (q.to <= q.from)
    throw new ProblemError("validation", "the query is not valid", [
      { path: "to", message: "must be after from" },
    ]);
  const decimalsOf = (asset: string) => ctx.catalog.asset(asset)?.decimals ?? 0;
  return {
    status: 200,
    body: null,
    type: query.format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
    stream: streamPayments(ctx.db, q, decimalsOf),
  };
}
