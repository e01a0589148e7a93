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
import { checkCallbackTarget } from "../notify/targets.js";
import { listOrderEvents, redeliverEvent } from "../notify/redeliver.js";
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
  /** media type when not application/json (the body is then sent as the string it is) */
  type?: string;
}

export interface Input<P = unknown, Q = unknown, B = unknown> {
  /** the API key's name; "" on routes without auth */
  merchant: string;
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

export function listOrders(
  ctx: ApiContext,
  {
    merchant,
    query,
  }: Input<unknown, { merchant_order_id?: string; status?: OrderStatus; limit?: number; cursor?: string }>,
): Reply {
  if (query.merchant_order_id !== undefined) {
    const order = ctx.ledger.findOrder(merchant, query.merchant_order_id);
    if (!order)
      throw new ProblemError("not_found", `no order with merchant_order_id ${query.merchant_order_id}`);
    return { status: 200, body: order };
  }
  const { status, limit = 50, cursor } = query;
  return { status: 200, body: ctx.ledger.listOrders(merchant, { status, limit, cursor }) };
}

export function getOrder(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  const order = ctx.ledger.getOrder(merchant, params.id);
  if (!order) throw new ProblemError("not_found", `order ${params.id} not found`);
  return { status: 200, body: { ...order, payments: ctx.ledger.orderPayments(merchant, params.id) ?? [] } };
}

export function cancelOrder(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  return { status: 200, body: ctx.ledger.cancelOrder(merchant, params.id, ctx.common.now()) };
}

export function acceptOrder(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  return { status: 200, body: ctx.ledger.acceptOrder(merchant, params.id, ctx.common.now()) };
}

export function orderPayments(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  const payments = ctx.ledger.orderPayments(merchant, params.id);
  if (!payments) throw new ProblemError("not_found", `order ${params.id} not found`);
  return { status: 200, body: { payments } };
}

export function orderEvents(
  ctx: ApiContext,
  { merchant, params, query }: Input<Id, { after?: number }>,
): Reply {
  if (!ctx.ledger.ownsOrder(merchant, params.id))
    throw new ProblemError("not_found", `order ${params.id} not found`);
  return { status: 200, body: { events: listOrderEvents(ctx.db, params.id, query.after) } };
}

export function redeliver(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  const ev = ctx.db
    .prepare<[string], { order_id: string | null; account_id: string | null }>(
      "SELECT order_id, account_id FROM events WHERE id = ?",
    )
    .get(params.id);
  if (
    !ev ||
    (ev.order_id && !ctx.ledger.ownsOrder(merchant, ev.order_id)) ||
    (ev.account_id && !ctx.ledger.ownsAccount(merchant, ev.account_id))
  )
    throw new ProblemError("not_found", `event ${params.id} not found`);
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

export function unattributedPayments(ctx: ApiContext, { query }: Input<unknown, { limit?: number }>): Reply {
  return { status: 200, body: { payments: ctx.ledger.unattributedPayments(query.limit ?? 100) } };
}

export function assignPayment(
  ctx: ApiContext,
  { merchant, params, body }: Input<Id, unknown, { order_id: string }>,
) {
  return {
    status: 200,
    body: ctx.ledger.assignPayment(merchant, params.id, body.order_id, ctx.common.now()),
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
