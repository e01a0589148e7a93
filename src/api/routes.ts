// The merchant API as data: one entry per operation, with its request and response schemas and
// its handler. server.ts mounts this table on fastify, openapi.ts turns it into the OpenAPI
// document, and the CLI calls entries through invoke(). Adding an endpoint = one entry here: its
// answer's schema registered with named() in schemas.ts, a plain handler (handlers.ts or your own
// folder: ctx + validated input → Reply, or throw ProblemError); routing, auth, body rules,
// problems, /openapi.json and the response checks in tests follow from the entry.
import type { z } from "zod";
import { formatPath } from "../config/load.js";
import { type FieldProblem, type ProblemCode, ProblemError } from "../errors.js";
import { getAudit } from "../audit/api.js";
import * as acc from "./accounts.js";
import * as h from "./handlers.js";
import type { ApiContext, Input, Reply } from "./handlers.js";
import * as s from "./schemas.js";

export interface ResponseSpec {
  description: string;
  /** the body's schema (application/json unless `type` says otherwise) */
  schema?: z.ZodType;
  type?: string;
  /** further media types the same answer may come as (chosen by a query parameter) */
  alsoTypes?: string[];
}

export type Scope = "read" | "write";
export interface Access {
  scope: Scope;
  role?: "operator";
}
/** The key a request came with, as the config describes it (the CLI is an operator with both scopes). */
export interface Caller {
  name: string;
  role: "merchant" | "operator";
  scopes: readonly Scope[];
}

const READ: Access = { scope: "read" };
const WRITE: Access = { scope: "write" };
const OPERATOR_READ: Access = { scope: "read", role: "operator" };
const OPERATOR_WRITE: Access = { scope: "write", role: "operator" };

export interface Route<P = unknown, Q = unknown, B = unknown> {
  operationId: string;
  method: "GET" | "HEAD" | "POST";
  /** fastify path syntax: /v1/orders/:id */
  path: string;
  tags: string[];
  summary: string;
  description?: string;
  /** needs Authorization: Bearer <key>; false for the operations endpoints */
  auth: boolean;
  /**
   * Who may call it, checked in invoke() for the API and the CLI alike: the key scope it needs,
   * and `operator` when a merchant key may not (403 before any input is looked at).
   */
  access?: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** what a bad body is called in the problem's detail ("the order is not valid") */
  bodyNoun?: string;
  /** false: an empty body counts as `{}` */
  bodyRequired?: boolean;
  responses: Record<number, ResponseSpec>;
  /** problems this operation answers with besides those of auth and bodies (added by openapi.ts) */
  problems: ProblemCode[];
  handler(ctx: ApiContext, input: Input<P, Q, B>): Reply | Promise<Reply>;
}

/** Keeps each entry's handler typed by its own schemas, while the table holds plain Routes. */
function route<P = unknown, Q = unknown, B = unknown>(r: Route<P, Q, B>): Route {
  return r as unknown as Route;
}

const order = { description: "the order", schema: s.orderJson };

export const routes: Route[] = [
  route({
    operationId: "createOrder",
    method: "POST",
    path: "/v1/orders",
    tags: ["orders"],
    summary: "Create an order",
    description:
      "Binds one free pool address per chain of the chosen assets and locks the rates, in one " +
      "transaction. Idempotent by merchant_order_id: the same body again returns the existing order " +
      "with 200; a different body with the same merchant_order_id is 409.",
    auth: true,
    access: WRITE,
    body: s.createOrderBody,
    bodyNoun: "order",
    bodyRequired: true,
    responses: {
      201: { description: "created", schema: s.orderJson },
      200: { description: "the same request was made before: the existing order", schema: s.orderJson },
    },
    problems: ["conflict", "pool_exhausted", "rates_unavailable"],
    handler: h.createOrder,
  }),
  route({
    operationId: "listOrders",
    method: "GET",
    path: "/v1/orders",
    tags: ["orders"],
    summary: "List orders, newest first, or look one up by merchant_order_id",
    description:
      "With merchant_order_id: that one order (404 if none). Otherwise a page of orders, newest " +
      "first; pass next_cursor back as cursor for the next page (null on the last page).",
    auth: true,
    access: READ,
    query: s.listQuery,
    responses: {
      200: {
        description: "a page of orders, or the order with that merchant_order_id",
        schema: s.orderListOrOrder,
      },
    },
    problems: ["validation", "not_found"],
    handler: h.listOrders,
  }),
  route({
    operationId: "getOrder",
    method: "GET",
    path: "/v1/orders/:id",
    tags: ["orders"],
    summary: "One order with its options, totals and payments",
    auth: true,
    access: READ,
    params: s.orderIdParams,
    responses: { 200: { description: "the order", schema: s.orderWithPayments } },
    problems: ["not_found"],
    handler: h.getOrder,
  }),
  route({
    operationId: "cancelOrder",
    method: "POST",
    path: "/v1/orders/:id/cancel",
    tags: ["orders"],
    summary: "Cancel an order that is not paid",
    description:
      "Emits order.cancelled. Cancelling a cancelled order returns it unchanged. Payments that " +
      "still arrive in the late window are recorded and reported, the status stays cancelled. " +
      "No body (or an empty JSON object).",
    auth: true,
    access: WRITE,
    params: s.orderIdParams,
    body: s.noFields,
    responses: { 200: { ...order, description: "the cancelled order" } },
    problems: ["not_found", "conflict"],
    handler: h.cancelOrder,
  }),
  route({
    operationId: "acceptOrder",
    method: "POST",
    path: "/v1/orders/:id/accept",
    tags: ["orders"],
    summary: "Settle an underpaid order by hand",
    description:
      "For a partially_paid order, or an expired one that received money: status becomes paid " +
      'with resolution "accepted", and order.paid is emitted. Any other status is 409. No body.',
    auth: true,
    access: WRITE,
    params: s.orderIdParams,
    body: s.noFields,
    responses: { 200: { ...order, description: "the accepted order" } },
    problems: ["not_found", "conflict"],
    handler: h.acceptOrder,
  }),
  route({
    operationId: "listOrderPayments",
    method: "GET",
    path: "/v1/orders/:id/payments",
    tags: ["payments"],
    summary: "Every on-chain payment of an order",
    auth: true,
    access: READ,
    params: s.orderIdParams,
    query: s.pageQuery,
    responses: {
      200: { description: "a page of the order's payments, oldest first", schema: s.paymentList },
    },
    problems: ["validation", "not_found"],
    handler: h.orderPayments,
  }),
  route({
    operationId: "listOrderEvents",
    method: "GET",
    path: "/v1/orders/:id/events",
    tags: ["events"],
    summary: "An order's events with their delivery attempts",
    description: "In seq order. A receiver that missed callbacks pulls them with after=<last seq processed>.",
    auth: true,
    access: READ,
    params: s.orderIdParams,
    query: s.eventsQuery,
    responses: { 200: { description: "a page of the events", schema: s.eventList } },
    problems: ["validation", "not_found"],
    handler: h.orderEvents,
  }),
  route({
    operationId: "redeliverEvent",
    method: "POST",
    path: "/v1/events/:id/redeliver",
    tags: ["events"],
    summary: "Queue one event for delivery again, now",
    description:
      "Works for dead and delivered events alike; the attempt history is kept. 409 when the event " +
      "has no callback URL (a payment.unattributed event without notify.unattributed_url). No body.",
    auth: true,
    access: WRITE,
    params: s.eventIdParams,
    body: s.noFields,
    responses: { 202: { description: "queued", schema: s.redeliverAnswer } },
    problems: ["not_found", "conflict"],
    handler: h.redeliver,
  }),
  route({
    operationId: "createDepositAccount",
    method: "POST",
    path: "/v1/deposit-accounts",
    tags: ["deposit accounts"],
    summary: "Give a customer permanent deposit addresses (top-up)",
    description:
      "Binds one free pool address per chain (default: every chain whose pool serves accounts), " +
      "exclusively, from the same pools as orders. Every payment into them is a deposit, reported " +
      "as deposit.seen / deposit.confirmed / deposit.reverted. Idempotent by customer_id: the same " +
      "body again returns the account with 200; a different body is 409.",
    auth: true,
    access: WRITE,
    body: s.createAccountBody,
    bodyNoun: "deposit account",
    bodyRequired: true,
    responses: {
      201: { description: "created", schema: s.accountJson },
      200: { description: "the same request was made before: the existing account", schema: s.accountJson },
    },
    problems: ["conflict", "pool_exhausted"],
    handler: acc.createAccount,
  }),
  route({
    operationId: "listDepositAccounts",
    method: "GET",
    path: "/v1/deposit-accounts",
    tags: ["deposit accounts"],
    summary: "List deposit accounts, newest first (optionally one customer's)",
    description: "Pass next_cursor back as cursor for the next page (null on the last page).",
    auth: true,
    access: READ,
    query: s.accountListQuery,
    responses: { 200: { description: "a page of accounts", schema: s.accountList } },
    problems: ["validation"],
    handler: acc.listAccounts,
  }),
  route({
    operationId: "getDepositAccount",
    method: "GET",
    path: "/v1/deposit-accounts/:id",
    tags: ["deposit accounts"],
    summary: "One deposit account with its addresses",
    auth: true,
    access: READ,
    params: s.accountIdParams,
    responses: { 200: { description: "the account", schema: s.accountJson } },
    problems: ["not_found"],
    handler: acc.getAccount,
  }),
  route({
    operationId: "listDeposits",
    method: "GET",
    path: "/v1/deposit-accounts/:id/deposits",
    tags: ["deposit accounts"],
    summary: "Every payment into an account's addresses, oldest first",
    auth: true,
    access: READ,
    params: s.accountIdParams,
    query: s.pageQuery.strict(),
    responses: { 200: { description: "a page of deposits", schema: s.depositList } },
    problems: ["validation", "not_found"],
    handler: acc.accountDeposits,
  }),
  route({
    operationId: "closeDepositAccount",
    method: "POST",
    path: "/v1/deposit-accounts/:id/close",
    tags: ["deposit accounts"],
    summary: "Stop attributing payments to an account",
    description:
      "Its addresses are released to their pools' rules: a static address rests for cooldown_minutes, " +
      "an xpub address is never handed out again (unless the pool reuses). A payment after close is " +
      "unattributed. Closing a closed account returns it unchanged. No body.",
    auth: true,
    access: WRITE,
    params: s.accountIdParams,
    body: s.noFields,
    responses: { 200: { description: "the closed account", schema: s.accountJson } },
    problems: ["not_found"],
    handler: acc.closeAccount,
  }),
  route({
    operationId: "listDepositAccountEvents",
    method: "GET",
    path: "/v1/deposit-accounts/:id/events",
    tags: ["events"],
    summary: "An account's deposit events with their delivery attempts",
    description: "In seq order. A receiver that missed callbacks pulls them with after=<last seq processed>.",
    auth: true,
    access: READ,
    params: s.accountIdParams,
    query: s.accountEventsQuery,
    responses: { 200: { description: "the events", schema: s.accountEventList } },
    problems: ["validation", "not_found"],
    handler: acc.accountEvents,
  }),
  route({
    operationId: "listAssets",
    method: "GET",
    path: "/v1/assets",
    tags: ["assets"],
    summary: "Enabled assets and their rates",
    auth: true,
    access: READ,
    responses: { 200: { description: "the assets new orders can offer", schema: s.assetList } },
    problems: [],
    handler: h.listAssets,
  }),
  route({
    operationId: "listRates",
    method: "GET",
    path: "/v1/rates",
    tags: ["assets"],
    summary: "Every pair's current rate, its sources and age",
    description:
      "Static pairs as configured; live pairs as the median of fresh markets within max_spread " +
      "(rates.live), with the quotes that were dropped and why. A live pair with `rate: null` " +
      "cannot be offered by new orders until enough markets agree again.",
    auth: true,
    access: READ,
    responses: { 200: { description: "the rates", schema: s.rateList } },
    problems: [],
    handler: h.listRates,
  }),
  route({
    operationId: "listUnattributedPayments",
    method: "GET",
    path: "/v1/payments",
    tags: ["payments"],
    summary: "Payments to addresses no order was bound to",
    auth: true,
    access: OPERATOR_READ,
    query: s.paymentsQuery,
    responses: {
      200: { description: "a page of unattributed payments, newest first", schema: s.paymentList },
    },
    problems: ["validation"],
    handler: h.unattributedPayments,
  }),
  route({
    operationId: "assignPayment",
    method: "POST",
    path: "/v1/payments/:id/assign",
    tags: ["payments"],
    summary: "Attribute an unattributed payment to an order",
    description:
      "Recomputes the order (it may become paid) and emits payment.seen or payment.confirmed. " +
      "409 when the payment already belongs to an order.",
    auth: true,
    access: OPERATOR_WRITE,
    params: s.paymentIdParams,
    body: s.assignBody,
    bodyNoun: "assignment",
    bodyRequired: true,
    responses: { 200: { description: "the payment, now attributed", schema: s.paymentJson } },
    problems: ["not_found", "conflict"],
    handler: h.assignPayment,
  }),
  route({
    operationId: "getAudit",
    method: "GET",
    path: "/v1/audit",
    tags: ["operations"],
    summary: "The self-audit: per chain its audit cursor and the findings of the last audit of each block",
    description:
      "What the background audit (audit.enabled) and `depositd audit` found when they rescanned stored " +
      "blocks through another RPC URL and compared them with the ledger. A re-audit of a range replaces " +
      "its findings. Nothing here is repaired automatically: `depositd audit --repair` records what is " +
      "missing. Operators only.",
    auth: true,
    access: OPERATOR_READ,
    query: s.auditQuery,
    responses: { 200: { description: "the audit state of every chain", schema: s.auditReportJson } },
    problems: ["validation"],
    handler: getAudit,
  }),
  route({
    operationId: "exportPayments",
    method: "GET",
    path: "/v1/exports/payments",
    tags: ["exports"],
    summary: "Payments with their order, amounts and locked rate, as CSV or NDJSON (streamed)",
    description:
      "One line per payment first seen in [from, to), oldest first: payment_id, order_id, " +
      "merchant_order_id, chain, asset, address, amount_base (base units), amount (decimal), txid, " +
      "index, block_number, block_time, status, created_at, currency and rate (locked at create, " +
      "empty for unattributed payments). A merchant key gets its orders' payments, an operator every " +
      "payment. Streamed: any size, memory stays flat.",
    auth: true,
    access: READ,
    query: s.exportQuery,
    responses: {
      200: {
        description: "CSV (RFC 4180, CRLF, header first) or NDJSON, per format",
        type: "text/csv",
        alsoTypes: ["application/x-ndjson"],
      },
    },
    problems: ["validation"],
    handler: h.exportPayments,
  }),
  route({
    operationId: "health",
    method: "GET",
    path: "/healthz",
    tags: ["operations"],
    summary: "Health: database writable and every chain within max_lag_blocks",
    auth: false,
    responses: {
      200: { description: "healthy", schema: s.healthReport },
      503: { description: "a check fails; see checks", schema: s.healthReport },
    },
    problems: [],
    handler: h.health,
  }),
  route({
    operationId: "healthHead",
    method: "HEAD",
    path: "/healthz",
    tags: ["operations"],
    summary: "Health as a status code only",
    auth: false,
    responses: { 200: { description: "healthy" }, 503: { description: "a check fails" } },
    problems: [],
    handler: h.health,
  }),
  route({
    operationId: "metrics",
    method: "GET",
    path: "/metrics",
    tags: ["operations"],
    summary: "Prometheus metrics (text exposition format)",
    description: "Metric names and what to alert on: docs/operations.md.",
    auth: false,
    responses: { 200: { description: "metrics", type: "text/plain" } },
    problems: [],
    handler: h.metrics,
  }),
  route({
    operationId: "openapi",
    method: "GET",
    path: "/openapi.json",
    tags: ["operations"],
    summary: "This document",
    auth: false,
    responses: { 200: { description: "the OpenAPI 3.1 document" } },
    problems: [],
    handler: h.openapi,
  }),
];

export const routeById = (operationId: string): Route => {
  const r = routes.find((x) => x.operationId === operationId);
  if (!r) throw new Error(`no route ${operationId}`);
  return r;
};

export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => {
    const path = formatPath(i.path);
    if (i.code === "unrecognized_keys") return { path, message: `unknown field(s): ${i.keys.join(", ")}` };
    return { path, message: i.message };
  });
}

/**
 * The one place roles and scopes are enforced: before any input is parsed or any row is read, so a
 * refused key learns nothing (not even whether the id exists). A route without `access` is
 * operator-only (fail closed).
 */
export function checkAccess(r: Route, caller: Caller | undefined): Caller {
  if (!caller) throw new ProblemError("unauthorized", "send Authorization: Bearer <key>");
  const access = r.access ?? OPERATOR_WRITE;
  if (access.role === "operator" && caller.role !== "operator")
    throw new ProblemError("forbidden", "this operation needs an operator key");
  if (!caller.scopes.includes(access.scope))
    throw new ProblemError("forbidden", `this key does not have the ${access.scope} scope`);
  return caller;
}

export interface RawInput {
  /** the key the request came with; absent on routes without auth */
  caller?: Caller;
  params?: unknown;
  query?: unknown;
  /** the parsed JSON body; undefined when there was none */
  body?: unknown;
  /** the request path, for "no such endpoint" */
  url?: string;
}

/**
 * Validate the raw input with the route's schemas and run its handler: the one way in, for the
 * HTTP server and the CLI alike. With `checkResponses` the answer is checked against its
 * documented schema too (the tests run the API this way; a mismatch is a 500).
 */
export async function invoke(
  r: Route,
  ctx: ApiContext,
  raw: RawInput,
  checkResponses = false,
): Promise<Reply> {
  const caller = r.auth ? checkAccess(r, raw.caller) : undefined;
  let params: unknown = {};
  if (r.params) {
    const p = r.params.safeParse(raw.params ?? {});
    // an id the router never accepted: as if the path did not exist
    if (!p.success)
      throw new ProblemError("not_found", `no such endpoint: ${raw.url ?? JSON.stringify(raw.params)}`);
    params = p.data;
  }
  let query: unknown = {};
  if (r.query) {
    const q = r.query.safeParse(raw.query ?? {});
    if (!q.success) throw new ProblemError("validation", "the query is not valid", zodProblems(q.error));
    query = q.data;
  }
  let body: unknown = undefined;
  if (r.body) {
    const b = r.body.safeParse(raw.body === undefined ? {} : raw.body);
    if (!b.success)
      throw new ProblemError(
        "validation",
        `the ${r.bodyNoun ?? "request"} is not valid`,
        zodProblems(b.error),
      );
    body = b.data;
  }
  const out = await r.handler(ctx, {
    merchant: caller?.name ?? "",
    owner: caller?.role === "operator" ? null : (caller?.name ?? ""),
    params,
    query,
    body,
  });
  if (checkResponses) {
    const spec = r.responses[out.status];
    if (!spec) throw new Error(`${r.operationId} answered ${out.status}, which is not documented`);
    const checked = spec.schema?.safeParse(out.body);
    if (checked && !checked.success)
      throw new Error(
        `${r.operationId} ${out.status} does not match its schema: ${JSON.stringify(zodProblems(checked.error))}`,
      );
  }
  return out;
}
