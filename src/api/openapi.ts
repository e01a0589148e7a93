// The merchant API as an OpenAPI 3.1 document, served at GET /openapi.json. test/ops/openapi.test.ts
// checks it structurally, that every route is documented, and that live answers match the schemas.
import { ORDER_STATUSES } from "../core/reconcile.js";
import { PROBLEMS } from "../ledger/problem.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type OpenApiDocument = { [key: string]: Json };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ "application/json": { schema } });
const problemRef = (name: string) => ({ $ref: `#/components/responses/${name}` });

const DECIMAL = "^(0|[1-9][0-9]*)(\\.[0-9]+)?$";
const TOLERANCE = "^(0|[1-9][0-9]*)(\\.[0-9]+)?%?$";
const EVENT_TYPES = [
  ...ORDER_STATUSES.filter((s) => s !== "pending").map((s) => `order.${s}`),
  "order.unsettled",
  "payment.seen",
  "payment.confirmed",
  "payment.reverted",
  "payment.unattributed",
];
const timestamp = {
  type: "string",
  format: "date-time",
  description: "RFC 3339 UTC with milliseconds",
  examples: ["2026-11-22T10:00:00.000Z"],
};
const decimal = (description: string) => ({ type: "string", pattern: DECIMAL, description });

const orderIdParam = {
  name: "id",
  in: "path",
  required: true,
  description: "order id (ord_…)",
  schema: { type: "string", pattern: "^[A-Za-z0-9_]{1,64}$", examples: ["ord_01JD8X3V7Q4M2N5P6R8S9T0W1Y"] },
};

/** Errors every authenticated operation can answer with, besides its own. */
const commonErrors = {
  "401": problemRef("Unauthorized"),
  "500": problemRef("Internal"),
  "503": problemRef("Unavailable"),
};

/** Errors of operations that read a body. */
const bodyErrors = {
  "400": problemRef("Invalid"),
  "413": problemRef("TooLarge"),
  "415": problemRef("UnsupportedMediaType"),
};

const problemCodes = Object.entries(PROBLEMS)
  .map(([code, p]) => `\`${code}\` (${p.status})`)
  .join(", ");

function problemResponse(description: string): Json {
  return {
    description,
    content: { "application/problem+json": { schema: ref("Problem") } },
  };
}

export const openapi: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "depositd merchant API",
    version: "1",
    summary: "Per-order deposit addresses, payments and callback events.",
    description:
      "JSON over HTTP, by default on 127.0.0.1:8787. Every request but /healthz, /metrics and " +
      "/openapi.json needs `Authorization: Bearer <key>`; orders are scoped to the key's name. " +
      "Amounts are decimal strings, never numbers. Errors are application/problem+json (RFC 9457) " +
      "with a stable `type` of `urn:depositd:problem:<code>`. Guide: docs/api.md.",
    license: { name: "MIT", identifier: "MIT" },
  },
  servers: [{ url: "http://127.0.0.1:8787", description: "the default api.listen" }],
  security: [{ bearer: [] }],
  tags: [
    { name: "orders", description: "create, read, cancel and settle orders" },
    { name: "payments", description: "on-chain payments" },
    { name: "events", description: "callback events and their delivery" },
    { name: "assets", description: "what can be paid" },
    { name: "operations", description: "health, metrics and this document" },
  ],
  paths: {
    "/v1/orders": {
      post: {
        operationId: "createOrder",
        tags: ["orders"],
        summary: "Create an order",
        description:
          "Binds one free pool address per chain of the chosen assets and locks the rates, in one " +
          "transaction. Idempotent by merchant_order_id: the same body again returns the existing order " +
          "with 200; a different body with the same merchant_order_id is 409.",
        requestBody: { required: true, content: json(ref("CreateOrder")) },
        responses: {
          "201": { description: "created", content: json(ref("Order")) },
          "200": {
            description: "the same request was made before: the existing order",
            content: json(ref("Order")),
          },
          ...bodyErrors,
          "409": problemRef("Conflict"),
          ...commonErrors,
          "503": problemResponse(
            "`pool_exhausted`: a chain has no free deposit address (nothing was bound); " +
              "`rates_unavailable`: a pair the order needs has no fresh, agreed live rate (nothing was " +
              "bound; `errors` names each pair); or `unavailable`",
          ),
        },
      },
      get: {
        operationId: "listOrders",
        tags: ["orders"],
        summary: "List orders, newest first, or look one up by merchant_order_id",
        description:
          "With merchant_order_id: that one order (404 if none). Otherwise a page of orders, newest " +
          "first; pass next_cursor back as cursor for the next page (null on the last page).",
        parameters: [
          {
            name: "merchant_order_id",
            in: "query",
            schema: { type: "string", maxLength: 64 },
            description: "your order id: answers with the order itself instead of a list",
          },
          { name: "status", in: "query", schema: { type: "string", enum: [...ORDER_STATUSES] } },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 500, default: 50 },
          },
          {
            name: "cursor",
            in: "query",
            schema: { type: "string", maxLength: 200 },
            description: "next_cursor of the previous page",
          },
        ],
        responses: {
          "200": {
            description: "a page of orders, or the order with that merchant_order_id",
            content: json({ oneOf: [ref("OrderList"), ref("Order")] }),
          },
          "400": problemRef("Invalid"),
          "404": problemRef("NotFound"),
          ...commonErrors,
        },
      },
    },
    "/v1/orders/{id}": {
      get: {
        operationId: "getOrder",
        tags: ["orders"],
        summary: "One order with its options, totals and payments",
        parameters: [orderIdParam],
        responses: {
          "200": { description: "the order", content: json(ref("OrderWithPayments")) },
          "404": problemRef("NotFound"),
          ...commonErrors,
        },
      },
    },
    "/v1/orders/{id}/cancel": {
      post: {
        operationId: "cancelOrder",
        tags: ["orders"],
        summary: "Cancel an order that is not paid",
        description:
          "Emits order.cancelled. Cancelling a cancelled order returns it unchanged. Payments that " +
          "still arrive in the late window are recorded and reported, the status stays cancelled. " +
          "No body (or an empty JSON object).",
        parameters: [orderIdParam],
        requestBody: { required: false, content: json(ref("Empty")) },
        responses: {
          "200": { description: "the cancelled order", content: json(ref("Order")) },
          ...bodyErrors,
          "404": problemRef("NotFound"),
          "409": problemRef("Conflict"),
          ...commonErrors,
        },
      },
    },
    "/v1/orders/{id}/accept": {
      post: {
        operationId: "acceptOrder",
        tags: ["orders"],
        summary: "Settle an underpaid order by hand",
        description:
          "For a partially_paid order, or an expired one that received money: status becomes paid " +
          'with resolution "accepted", and order.paid is emitted. Any other status is 409. No body.',
        parameters: [orderIdParam],
        requestBody: { required: false, content: json(ref("Empty")) },
        responses: {
          "200": { description: "the accepted order", content: json(ref("Order")) },
          ...bodyErrors,
          "404": problemRef("NotFound"),
          "409": problemRef("Conflict"),
          ...commonErrors,
        },
      },
    },
    "/v1/orders/{id}/payments": {
      get: {
        operationId: "listOrderPayments",
        tags: ["payments"],
        summary: "Every on-chain payment of an order",
        parameters: [orderIdParam],
        responses: {
          "200": {
            description: "the order's payments, oldest first",
            content: json({
              type: "object",
              required: ["payments"],
              properties: { payments: { type: "array", items: ref("Payment") } },
            }),
          },
          "404": problemRef("NotFound"),
          ...commonErrors,
        },
      },
    },
    "/v1/orders/{id}/events": {
      get: {
        operationId: "listOrderEvents",
        tags: ["events"],
        summary: "An order's events with their delivery attempts",
        description:
          "In seq order. A receiver that missed callbacks pulls them with after=<last seq processed>.",
        parameters: [
          orderIdParam,
          {
            name: "after",
            in: "query",
            schema: { type: "integer", minimum: 0 },
            description: "only events with a larger seq",
          },
        ],
        responses: {
          "200": {
            description: "the events",
            content: json({
              type: "object",
              required: ["events"],
              properties: { events: { type: "array", items: ref("OrderEvent") } },
            }),
          },
          "400": problemRef("Invalid"),
          "404": problemRef("NotFound"),
          ...commonErrors,
        },
      },
    },
    "/v1/events/{id}/redeliver": {
      post: {
        operationId: "redeliverEvent",
        tags: ["events"],
        summary: "Queue one event for delivery again, now",
        description:
          "Works for dead and delivered events alike; the attempt history is kept. 409 when the event " +
          "has no callback URL (a payment.unattributed event without notify.unattributed_url). No body.",
        parameters: [
          {
            name: "id",
            in: "path",
            required: true,
            description: "event id (evt_…)",
            schema: { type: "string", pattern: "^[A-Za-z0-9_]{1,64}$" },
          },
        ],
        requestBody: { required: false, content: json(ref("Empty")) },
        responses: {
          "202": {
            description: "queued",
            content: json({
              type: "object",
              required: ["id", "state"],
              properties: { id: { type: "string" }, state: { const: "pending" } },
            }),
          },
          ...bodyErrors,
          "404": problemRef("NotFound"),
          "409": problemRef("Conflict"),
          ...commonErrors,
        },
      },
    },
    "/v1/rates": {
      get: {
        operationId: "listRates",
        tags: ["assets"],
        summary: "Every pair's current rate, its sources and age",
        description:
          "Static pairs as configured; live pairs as the median of fresh markets within max_spread " +
          "(rates.live), with the quotes that were dropped and why. A live pair with `rate: null` " +
          "cannot be offered by new orders until enough markets agree again.",
        responses: {
          "200": {
            description: "the rates",
            content: json({
              type: "object",
              required: ["rates"],
              properties: { rates: { type: "array", items: ref("Rate") } },
            }),
          },
          ...commonErrors,
        },
      },
    },
    "/v1/assets": {
      get: {
        operationId: "listAssets",
        tags: ["assets"],
        summary: "Enabled assets and their rates",
        responses: {
          "200": {
            description: "the assets new orders can offer",
            content: json({
              type: "object",
              required: ["assets"],
              properties: { assets: { type: "array", items: ref("Asset") } },
            }),
          },
          ...commonErrors,
        },
      },
    },
    "/v1/payments": {
      get: {
        operationId: "listUnattributedPayments",
        tags: ["payments"],
        summary: "Payments to addresses no order was bound to",
        parameters: [
          {
            name: "unattributed",
            in: "query",
            required: true,
            schema: { const: "true" },
            description: "must be true (the only listing supported)",
          },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        ],
        responses: {
          "200": {
            description: "unattributed payments, newest first",
            content: json({
              type: "object",
              required: ["payments"],
              properties: { payments: { type: "array", items: ref("Payment") } },
            }),
          },
          "400": problemRef("Invalid"),
          ...commonErrors,
        },
      },
    },
    "/v1/payments/{id}/assign": {
      post: {
        operationId: "assignPayment",
        tags: ["payments"],
        summary: "Attribute an unattributed payment to an order",
        description:
          "Recomputes the order (it may become paid) and emits payment.seen or payment.confirmed. " +
          "409 when the payment already belongs to an order.",
        parameters: [
          {
            name: "id",
            in: "path",
            required: true,
            description: "payment id (pay_…)",
            schema: { type: "string", pattern: "^[A-Za-z0-9_]{1,64}$" },
          },
        ],
        requestBody: { required: true, content: json(ref("AssignPayment")) },
        responses: {
          "200": { description: "the payment, now attributed", content: json(ref("Payment")) },
          ...bodyErrors,
          "404": problemRef("NotFound"),
          "409": problemRef("Conflict"),
          ...commonErrors,
        },
      },
    },
    "/healthz": {
      get: {
        operationId: "health",
        tags: ["operations"],
        summary: "Health: database writable and every chain within max_lag_blocks",
        security: [],
        responses: {
          "200": { description: "healthy", content: json(ref("Health")) },
          "503": { description: "a check fails; see checks", content: json(ref("Health")) },
        },
      },
      head: {
        operationId: "healthHead",
        tags: ["operations"],
        summary: "Health as a status code only",
        security: [],
        responses: { "200": { description: "healthy" }, "503": { description: "a check fails" } },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        tags: ["operations"],
        summary: "Prometheus metrics (text exposition format)",
        description: "Metric names and what to alert on: docs/operations.md.",
        security: [],
        responses: {
          "200": {
            description: "metrics",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        tags: ["operations"],
        summary: "This document",
        security: [],
        responses: {
          "200": { description: "the OpenAPI 3.1 document", content: json({ type: "object" }) },
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        description: "an API key from api.keys (the config stores only its sha256)",
      },
    },
    responses: {
      Invalid: problemResponse(
        "`validation` (errors lists each bad field by path) or `bad_json`: the request is not valid",
      ),
      Unauthorized: problemResponse("`unauthorized`: missing or unknown bearer key"),
      NotFound: problemResponse("`not_found`: no such resource for this key"),
      Conflict: problemResponse("`conflict`: not possible in the resource's current state"),
      TooLarge: problemResponse("`payload_too_large`: the body exceeds api.max_body_bytes"),
      UnsupportedMediaType: problemResponse("`unsupported_media_type`: send Content-Type: application/json"),
      Internal: problemResponse("`internal`: a bug; the daemon's log has the details"),
      Unavailable: problemResponse(
        "`unavailable`: shutting down, or the database cannot be written right now; retry later",
      ),
    },
    schemas: {
      Problem: {
        type: "object",
        description: `RFC 9457 problem details. Codes: ${problemCodes}.`,
        required: ["type", "title", "status", "detail"],
        properties: {
          type: {
            type: "string",
            enum: Object.keys(PROBLEMS).map((c) => `urn:depositd:problem:${c}`),
          },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          errors: {
            type: "array",
            description: "each invalid field",
            items: {
              type: "object",
              required: ["path", "message"],
              properties: {
                path: { type: "string", examples: ["options[0].asset", "callback_url"] },
                message: { type: "string" },
              },
            },
          },
        },
      },
      Empty: { type: "object", maxProperties: 0, description: "no fields" },
      CreateOrder: {
        type: "object",
        additionalProperties: false,
        required: ["merchant_order_id", "amount", "currency", "callback_url"],
        properties: {
          merchant_order_id: {
            type: "string",
            pattern: "^[A-Za-z0-9._:-]{1,64}$",
            description: "your id; unique per API key, makes create idempotent",
            examples: ["A-1001"],
          },
          amount: { ...decimal("amount in currency, > 0"), maxLength: 80, examples: ["100"] },
          currency: {
            type: "string",
            pattern: "^[A-Z0-9][A-Z0-9._-]{0,31}$",
            description: "an asset id (USDT-TRC20) or a currency with configured rates (USD)",
            examples: ["USD"],
          },
          assets: {
            type: "array",
            minItems: 1,
            maxItems: 32,
            items: { type: "string", maxLength: 32 },
            description: "payment options to offer; default every enabled asset that can be priced",
          },
          valid_minutes: {
            type: "integer",
            minimum: 1,
            maximum: 10080,
            description: "default orders.valid_minutes",
          },
          callback_url: {
            type: "string",
            format: "uri",
            maxLength: 2048,
            description: "http(s), no credentials; private/loopback targets only if the config allows them",
          },
          metadata: {
            type: "object",
            description: "any JSON object up to 4 KiB, returned untouched",
          },
          underpaid_tolerance: {
            type: "string",
            pattern: TOLERANCE,
            maxLength: 40,
            description:
              'decimal in currency ("0.5") or a percentage ("0.5%"); default orders.underpaid_tolerance',
          },
          overpaid_tolerance: {
            type: "string",
            pattern: TOLERANCE,
            maxLength: 40,
            description: "as underpaid_tolerance, for paying too much",
          },
        },
      },
      AssignPayment: {
        type: "object",
        additionalProperties: false,
        required: ["order_id"],
        properties: { order_id: { type: "string", minLength: 1, maxLength: 64 } },
      },
      OrderOption: {
        type: "object",
        required: [
          "asset",
          "chain",
          "address",
          "amount_due",
          "rate",
          "rate_sources",
          "rate_at",
          "paid",
          "pending",
        ],
        properties: {
          asset: { type: "string", examples: ["USDT-TRC20"] },
          chain: { type: "string", examples: ["tron"] },
          address: {
            type: "string",
            description: "the deposit address, exclusive to this order on this chain",
          },
          amount_due: decimal("amount to pay in this asset (rounded up to its decimals)"),
          rate: decimal("price of 1 asset in the order's currency, locked at creation"),
          rate_sources: {
            type: "array",
            description:
              "where the rate came from: each market and its price (live), `static` (config), " +
              "or empty when the order is priced in this asset",
            items: ref("RateSource"),
          },
          rate_at: {
            ...timestamp,
            description: "the time of the rate's oldest source (static: the order's creation)",
          },
          paid: decimal("confirmed, in this asset"),
          pending: decimal("seen but not yet confirmed, in this asset"),
        },
      },
      Order: {
        type: "object",
        required: [
          "id",
          "merchant_order_id",
          "status",
          "amount",
          "currency",
          "paid_amount",
          "underpaid_tolerance",
          "overpaid_tolerance",
          "created_at",
          "expires_at",
          "late_until",
          "callback_url",
          "metadata",
          "options",
        ],
        properties: {
          id: { type: "string", pattern: "^ord_[0-9A-Z]{26}$" },
          merchant_order_id: { type: "string" },
          status: { type: "string", enum: [...ORDER_STATUSES] },
          resolution: {
            type: "string",
            enum: ["accepted"],
            description: "present when the merchant settled the order by hand",
          },
          amount: decimal("what the order asks for, in currency"),
          currency: { type: "string" },
          paid_amount: decimal("confirmed total converted to currency at the locked rates"),
          underpaid_tolerance: { type: "string", pattern: TOLERANCE },
          overpaid_tolerance: { type: "string", pattern: TOLERANCE },
          created_at: timestamp,
          expires_at: timestamp,
          late_until: { ...timestamp, description: "payments are still attributed until then" },
          callback_url: { type: "string" },
          metadata: { type: "object" },
          options: { type: "array", items: ref("OrderOption") },
        },
      },
      OrderWithPayments: {
        allOf: [
          ref("Order"),
          {
            type: "object",
            required: ["payments"],
            properties: { payments: { type: "array", items: ref("Payment") } },
          },
        ],
      },
      OrderList: {
        type: "object",
        required: ["orders", "next_cursor"],
        properties: {
          orders: { type: "array", items: ref("Order") },
          next_cursor: { type: ["string", "null"], description: "null on the last page" },
        },
      },
      Payment: {
        type: "object",
        required: [
          "id",
          "order_id",
          "chain",
          "asset",
          "address",
          "txid",
          "index",
          "amount",
          "block_number",
          "block_hash",
          "block_time",
          "confirmations",
          "status",
          "late",
          "unexpected_asset",
          "created_at",
        ],
        properties: {
          id: { type: "string", pattern: "^pay_[0-9A-Z]{26}$" },
          order_id: { type: ["string", "null"], description: "null: unattributed" },
          chain: { type: "string" },
          asset: { type: "string" },
          address: { type: "string" },
          txid: { type: "string" },
          index: {
            type: "integer",
            minimum: 0,
            description: "log index (tokens), output index (Bitcoin), 0 for a native transfer",
          },
          amount: decimal("in the asset"),
          block_number: { type: ["integer", "null"], description: "null while in the mempool" },
          block_hash: { type: ["string", "null"] },
          block_time: { ...timestamp, type: ["string", "null"] },
          confirmations: { type: "integer", minimum: 0, description: "head − block + 1; 0 when reverted" },
          status: { type: "string", enum: ["seen", "confirmed", "reverted"] },
          late: { type: "boolean", description: "its block came after the order's expires_at" },
          unexpected_asset: { type: "boolean", description: "an asset the order did not offer: not counted" },
          created_at: timestamp,
        },
      },
      CallbackBody: {
        type: "object",
        description: "the exact signed body of a callback (docs/webhooks.md)",
        required: ["id", "type", "seq", "created_at", "order", "payment"],
        properties: {
          id: { type: "string", pattern: "^evt_[0-9A-Z]{26}$" },
          type: { type: "string", enum: EVENT_TYPES },
          seq: {
            type: ["integer", "null"],
            description: "1, 2, … per order with no gaps; null without order",
          },
          created_at: timestamp,
          order: { oneOf: [ref("Order"), { type: "null" }] },
          payment: { oneOf: [ref("Payment"), { type: "null" }] },
        },
      },
      DeliveryAttempt: {
        type: "object",
        required: ["attempt", "started_at", "latency_ms", "status_code", "error", "response_body"],
        properties: {
          attempt: { type: "integer", minimum: 1 },
          started_at: timestamp,
          latency_ms: { type: "integer", minimum: 0 },
          status_code: { type: ["integer", "null"], description: "null when no response arrived" },
          error: { type: ["string", "null"] },
          response_body: { type: ["string", "null"], description: "first 1 KiB of the receiver's answer" },
        },
      },
      OrderEvent: {
        type: "object",
        required: [
          "id",
          "seq",
          "type",
          "state",
          "attempts",
          "created_at",
          "delivered_at",
          "next_attempt_at",
          "body",
          "delivery_attempts",
        ],
        properties: {
          id: { type: "string" },
          seq: { type: ["integer", "null"] },
          type: { type: "string", enum: EVENT_TYPES },
          state: {
            type: "string",
            enum: ["pending", "delivered", "dead", "skipped"],
            description: "skipped: there was no URL to deliver to",
          },
          attempts: { type: "integer", minimum: 0 },
          created_at: timestamp,
          delivered_at: { ...timestamp, type: ["string", "null"] },
          next_attempt_at: { ...timestamp, type: ["string", "null"], description: "when pending" },
          body: ref("CallbackBody"),
          delivery_attempts: { type: "array", items: ref("DeliveryAttempt") },
        },
      },
      Asset: {
        type: "object",
        required: ["id", "chain", "chain_kind", "decimals", "confirmations", "contract", "rates", "unpriced"],
        properties: {
          id: { type: "string", examples: ["USDT-ERC20"] },
          chain: { type: "string" },
          chain_kind: { type: "string", enum: ["evm", "tron", "bitcoin"] },
          decimals: { type: "integer", minimum: 0 },
          confirmations: {
            oneOf: [{ type: "integer", minimum: 1 }, { const: "solidified" }],
            description: "confirmations before a payment counts",
          },
          contract: { type: ["string", "null"], description: "null for the native coin" },
          rates: {
            type: "object",
            additionalProperties: decimal("price of 1 asset in this currency"),
            description: "currency → price, for every currency the asset can be priced in right now",
          },
          unpriced: {
            type: "array",
            items: { type: "string" },
            description:
              "configured currencies with no fresh live rate right now: orders in them cannot offer this asset",
          },
        },
      },
      RateSource: {
        type: "object",
        additionalProperties: false,
        required: ["source", "price"],
        properties: {
          source: { type: "string", examples: ["coinbase", "kraken", "static"] },
          price: decimal("that source's price of 1 asset in the currency"),
        },
      },
      RateQuote: {
        type: "object",
        additionalProperties: false,
        required: ["source", "price", "at"],
        properties: {
          source: { type: "string", examples: ["coinbase"] },
          price: decimal("the market's price"),
          at: timestamp,
          reason: {
            type: "string",
            enum: ["stale", "future", "outlier"],
            description: "why it was dropped (dropped quotes only)",
          },
        },
      },
      Rate: {
        type: "object",
        additionalProperties: false,
        required: ["asset", "currency", "source", "rate", "rate_at", "age_seconds", "sources", "dropped"],
        properties: {
          asset: { type: "string" },
          currency: { type: "string" },
          source: { type: "string", enum: ["static", "live"] },
          rate: {
            type: ["string", "null"],
            pattern: DECIMAL,
            description: "null: no fresh, agreed rate now",
          },
          rate_at: { ...timestamp, type: ["string", "null"], description: "the oldest source's time (live)" },
          age_seconds: { type: ["integer", "null"], minimum: 0 },
          sources: { type: "array", items: ref("RateQuote"), description: "fresh sources within max_spread" },
          dropped: { type: "array", items: ref("RateQuote"), description: "stale, future or outlier quotes" },
          reason: { type: "string", description: "why there is no rate" },
        },
      },
      Health: {
        type: "object",
        required: ["ok", "checks"],
        properties: {
          ok: { type: "boolean" },
          checks: {
            type: "object",
            description: "`database` and `chain:<id>` (head, scanned, lag_blocks, last_error, fatal, pool)",
            additionalProperties: {
              type: "object",
              required: ["ok"],
              properties: { ok: { type: "boolean" }, detail: {} },
            },
          },
        },
      },
    },
  },
};
