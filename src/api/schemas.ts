// Every shape the merchant API reads or writes, once: zod schemas, the TypeScript types inferred
// from them, and (registered in `components`) the schemas of the generated OpenAPI document.
// Request schemas are shape only; meaning (assets, rates, pool) is checked by the ledger.
// Response schemas are strict: a field an answer has and its schema lacks fails the tests.
import { z } from "zod";
import { DECIMAL, TOLERANCE } from "../core/amount.js";
import { DEPOSIT_EVENT_TYPES } from "../core/account.js";
import { ORDER_STATUSES } from "../core/reconcile.js";
import { PROBLEM_CODES } from "../errors.js";

/** The named schemas of the OpenAPI document (#/components/schemas/<id>). */
export const components = z.registry<{ id: string }>();
function named<T extends z.ZodType>(id: string, schema: T): T {
  components.add(schema, { id });
  return schema;
}

export const METADATA_MAX_DEPTH = 32;

/** True when a parsed JSON value nests at most `max` arrays/objects deep; iterative, so any depth is safe. */
export function nestsAtMost(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) return false;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return true;
}

export const EVENT_TYPES = [
  ...ORDER_STATUSES.filter((s) => s !== "pending").map((s) => `order.${s}` as const),
  "order.unsettled",
  "payment.seen",
  "payment.confirmed",
  "payment.reverted",
  "payment.unattributed",
] as const;

const timestamp = z.iso
  .datetime()
  .meta({ description: "RFC 3339 UTC with milliseconds", examples: ["2026-11-22T10:00:00.000Z"] });
const decimal = (description: string) => z.string().regex(DECIMAL).meta({ description });
const tolerance = z.string().regex(TOLERANCE);
/** an id in a path: what the router accepted before fastify, so other ids stay "no such endpoint" */
const pathId = (description: string, example?: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_]{1,64}$/)
    .meta({ description, ...(example ? { examples: [example] } : {}) });

/** a URL the shop gives us: http(s), no credentials */
const webUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
    } catch {
      return false;
    }
  }, "must be an http(s) URL without credentials");

// ---- requests ----------------------------------------------------------------------------------

const callbackUrl = webUrl.meta({
  format: "uri",
  description: "http(s), no credentials; private/loopback targets only if the config allows them",
});

const metadata = z
  .record(z.string(), z.unknown())
  .superRefine((m, ctx) => {
    // depth first: JSON.stringify (here, and in the request hash) recurses, so a hostile
    // 20,000-deep body would overflow the stack and answer 500
    if (!nestsAtMost(m, METADATA_MAX_DEPTH))
      ctx.addIssue({ code: "custom", message: `must nest at most ${METADATA_MAX_DEPTH} levels deep` });
    else if (Buffer.byteLength(JSON.stringify(m)) > 4096)
      ctx.addIssue({ code: "custom", message: "must be at most 4 KiB of JSON" });
  })
  .optional()
  .meta({ description: "any JSON object up to 4 KiB, returned untouched" });

export const createOrderBody = named(
  "CreateOrder",
  z.strictObject({
    merchant_order_id: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1–64 characters of A-Z a-z 0-9 . _ : -")
      .meta({ description: "your id; unique per API key, makes create idempotent", examples: ["A-1001"] }),
    amount: z
      .string()
      .max(80)
      .regex(DECIMAL, 'must be a decimal string like "12.5" (no sign, no exponent)')
      .meta({ description: "amount in currency, > 0", examples: ["100"] }),
    currency: z
      .string()
      .regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, "must be an asset id or an upper-case currency code")
      .meta({
        description: "an asset id (USDT-TRC20) or a currency with configured rates (USD)",
        examples: ["USD"],
      }),
    assets: z
      .array(z.string().max(32))
      .min(1)
      .max(32)
      .optional()
      .meta({ description: "payment options to offer; default every enabled asset that can be priced" }),
    valid_minutes: z
      .number()
      .int()
      .min(1)
      .max(10080)
      .optional()
      .meta({ description: "default orders.valid_minutes" }),
    callback_url: callbackUrl,
    return_url: webUrl.optional().meta({
      format: "uri",
      description:
        'http(s), no credentials: where the checkout page\'s "back to the shop" button leads once paid',
    }),
    metadata,
    underpaid_tolerance: z
      .string()
      .max(40)
      .regex(TOLERANCE, 'must be a decimal ("1.5") or a percentage ("0.5%")')
      .optional()
      .meta({
        description:
          'decimal in currency ("0.5") or a percentage ("0.5%"); default orders.underpaid_tolerance',
      }),
    overpaid_tolerance: z
      .string()
      .max(40)
      .regex(TOLERANCE, 'must be a decimal ("1.5") or a percentage ("0.5%")')
      .optional()
      .meta({ description: "as underpaid_tolerance, for paying too much" }),
  }),
);
export type CreateOrderBody = z.infer<typeof createOrderBody>;

/** cancel, accept, redeliver: an empty body or `{}` */
export const noFields = named("Empty", z.strictObject({}).meta({ description: "no fields" }));

export const assignBody = named("AssignPayment", z.strictObject({ order_id: z.string().min(1).max(64) }));

/** Every list's paging (docs/api.md "Paging"): pass next_cursor back as cursor for the next page. */
export const pageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .meta({ description: "page size, 1–1000, default 100" }),
  cursor: z
    .string()
    .max(512)
    .optional()
    .meta({ description: "next_cursor of the previous page (opaque); absent for the first page" }),
});
const nextCursor = z
  .string()
  .nullable()
  .meta({ description: "pass as cursor for the next page; null on the last page" });

export const listQuery = z.strictObject({
  merchant_order_id: z
    .string()
    .max(64)
    .optional()
    .meta({ description: "your order id: answers with the order itself instead of a list" }),
  status: z.enum(ORDER_STATUSES).optional(),
  ...pageQuery.shape,
});

export const eventsQuery = z.object({
  after: z
    .string()
    .regex(/^[0-9]{1,9}$/, "must be a non-negative integer (an event seq)")
    .transform(Number)
    .optional()
    .meta({ description: "only events with a larger seq" }),
  ...pageQuery.shape,
});

export const paymentsQuery = z.object({
  unattributed: z
    .literal("true", { error: "only unattributed=true is supported" })
    .meta({ description: "must be true (the only listing supported)" }),
  ...pageQuery.shape,
});

const exportTime = (description: string) =>
  z.iso
    .datetime({ offset: true })
    .transform((s) => Date.parse(s))
    .optional()
    .meta({ description, examples: ["2026-11-01T00:00:00Z"] });

export const exportQuery = z.strictObject({
  from: exportTime("payments first seen at or after this time (RFC 3339); default: the first"),
  to: exportTime("payments first seen before this time (RFC 3339); default: now and later"),
  format: z
    .enum(["csv", "ndjson"])
    .default("csv")
    .meta({ description: "csv (with a header line) or ndjson" }),
});

export const orderIdParams = z.object({ id: pathId("order id (ord_…)", "ord_01JD8X3V7Q4M2N5P6R8S9T0W1Y") });
export const eventIdParams = z.object({ id: pathId("event id (evt_…)") });
export const paymentIdParams = z.object({ id: pathId("payment id (pay_…)") });

// ---- responses ---------------------------------------------------------------------------------

export const rateSourceJson = named(
  "RateSource",
  z.strictObject({
    source: z.string().meta({ examples: ["coinbase", "kraken", "static"] }),
    price: decimal("that source's price of 1 asset in the currency"),
  }),
);

export const orderOption = named(
  "OrderOption",
  z.strictObject({
    asset: z.string().meta({ examples: ["USDT-TRC20"] }),
    chain: z.string().meta({ examples: ["tron"] }),
    address: z.string().meta({ description: "the deposit address, exclusive to this order on this chain" }),
    amount_due: decimal("amount to pay in this asset (rounded up to its decimals)"),
    rate: decimal("price of 1 asset in the order's currency, locked at creation"),
    rate_sources: z.array(rateSourceJson).meta({
      description:
        "where the rate came from: each market and its price (live), `static` (config), " +
        "or empty when the order is priced in this asset",
    }),
    rate_at: timestamp.meta({
      description: "the time of the rate's oldest source (static: the order's creation)",
    }),
    paid: decimal("confirmed, in this asset"),
    pending: decimal("seen but not yet confirmed, in this asset"),
  }),
);

export const orderJson = named(
  "Order",
  z.strictObject({
    id: z.string().regex(/^ord_[0-9A-Z]{26}$/),
    merchant_order_id: z.string(),
    status: z.enum(ORDER_STATUSES),
    resolution: z
      .literal("accepted")
      .optional()
      .meta({ description: "present when the merchant settled the order by hand" }),
    amount: decimal("what the order asks for, in currency"),
    currency: z.string(),
    paid_amount: decimal("confirmed total converted to currency at the locked rates"),
    underpaid_tolerance: tolerance,
    overpaid_tolerance: tolerance,
    created_at: timestamp,
    expires_at: timestamp,
    late_until: timestamp.meta({ description: "payments are still attributed until then" }),
    callback_url: z.string(),
    checkout_url: z.string().meta({
      format: "uri",
      description:
        "the customer's payment page: checkout.public_url + /pay/ + an unguessable per-order token (docs/checkout.md)",
    }),
    return_url: z.string().optional().meta({ description: "present when the create request gave one" }),
    metadata: z.record(z.string(), z.unknown()),
    options: z.array(orderOption),
  }),
);
export type OrderJson = z.infer<typeof orderJson>;

const paymentVia = z.enum(["transaction", "log", "trace", "output"]).meta({
  description:
    "how it was found: a top-level transaction's value, a token Transfer log, a call frame inside contract execution (EVM native_internal: trace), a Bitcoin output",
});

export const paymentJson = named(
  "Payment",
  z.strictObject({
    id: z.string().regex(/^pay_[0-9A-Z]{26}$/),
    order_id: z.string().nullable().meta({ description: "null: unattributed" }),
    chain: z.string(),
    asset: z.string(),
    address: z.string(),
    txid: z.string(),
    index: z.number().int().min(0).meta({
      description:
        "log index (tokens), output index (Bitcoin), 0 for a native transfer, the call frame's depth-first position (≥ 1) for a traced one",
    }),
    via: paymentVia,
    amount: decimal("in the asset"),
    block_number: z.number().int().nullable().meta({ description: "null while in the mempool" }),
    block_hash: z.string().nullable(),
    block_time: timestamp.nullable(),
    confirmations: z.number().int().min(0).meta({ description: "head − block + 1; 0 when reverted" }),
    status: z.enum(["seen", "confirmed", "reverted"]),
    late: z.boolean().meta({ description: "its block came after the order's expires_at" }),
    unexpected_asset: z.boolean().meta({ description: "an asset the order did not offer: not counted" }),
    created_at: timestamp,
  }),
);
export type PaymentJson = z.infer<typeof paymentJson>;

export const orderWithPayments = named(
  "OrderWithPayments",
  orderJson.extend({ payments: z.array(paymentJson) }),
);
export const orderList = named(
  "OrderList",
  z.strictObject({
    orders: z.array(orderJson),
    next_cursor: nextCursor,
  }),
);
/** GET /v1/orders answers a page, or with merchant_order_id the one order */
export const orderListOrOrder = named("OrderListOrOrder", z.union([orderList, orderJson]));
export const paymentList = named(
  "PaymentList",
  z.strictObject({ payments: z.array(paymentJson), next_cursor: nextCursor }),
);

/** The exact signed body of a callback (docs/webhooks.md); built by the ledger, byte for byte. */
export const callbackBody = named(
  "CallbackBody",
  z
    .strictObject({
      id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
      type: z.enum(EVENT_TYPES),
      seq: z
        .number()
        .int()
        .nullable()
        .meta({ description: "1, 2, … per order with no gaps; null without order" }),
      created_at: timestamp,
      order: orderJson.nullable(),
      payment: paymentJson.nullable(),
    })
    .meta({ description: "the exact signed body of a callback (docs/webhooks.md)" }),
);
export type CallbackBody = z.infer<typeof callbackBody>;

export const deliveryAttemptJson = named(
  "DeliveryAttempt",
  z.strictObject({
    attempt: z.number().int().min(1),
    started_at: timestamp,
    latency_ms: z.number().int().min(0),
    status_code: z.number().int().nullable().meta({ description: "null when no response arrived" }),
    error: z.string().nullable(),
    response_body: z.string().nullable().meta({ description: "first 1 KiB of the receiver's answer" }),
  }),
);
export type DeliveryAttemptJson = z.infer<typeof deliveryAttemptJson>;

export const EVENT_STATES = ["pending", "delivered", "dead", "skipped"] as const;
export const orderEventJson = named(
  "OrderEvent",
  z.strictObject({
    id: z.string(),
    seq: z.number().int().nullable(),
    type: z.enum(EVENT_TYPES),
    state: z.enum(EVENT_STATES).meta({ description: "skipped: there was no URL to deliver to" }),
    attempts: z.number().int().min(0),
    created_at: timestamp,
    delivered_at: timestamp.nullable(),
    next_attempt_at: timestamp.nullable().meta({ description: "when pending" }),
    body: callbackBody,
    delivery_attempts: z.array(deliveryAttemptJson),
  }),
);
export type OrderEventJson = z.infer<typeof orderEventJson>;
export const eventList = named(
  "OrderEventList",
  z.strictObject({ events: z.array(orderEventJson), next_cursor: nextCursor }),
);

export const redeliverAnswer = named(
  "RedeliverQueued",
  z.strictObject({ id: z.string(), state: z.literal("pending") }),
);

export const assetJson = named(
  "Asset",
  z.strictObject({
    id: z.string().meta({ examples: ["USDT-ERC20"] }),
    chain: z.string(),
    chain_kind: z.enum(["evm", "tron", "bitcoin"]),
    decimals: z.number().int().min(0),
    confirmations: z
      .union([z.number().int().min(1), z.literal("solidified")])
      .meta({ description: "confirmations before a payment counts" }),
    contract: z.string().nullable().meta({ description: "null for the native coin" }),
    rates: z
      .record(z.string(), decimal("price of 1 asset in this currency"))
      .meta({ description: "currency → price, for every currency the asset can be priced in right now" }),
    unpriced: z.array(z.string()).meta({
      description:
        "configured currencies with no fresh live rate right now: orders in them cannot offer this asset",
    }),
  }),
);
export type AssetJson = z.infer<typeof assetJson>;
export const assetList = named("AssetList", z.strictObject({ assets: z.array(assetJson) }));

export const rateQuoteJson = named(
  "RateQuote",
  z.strictObject({
    source: z.string().meta({ examples: ["coinbase"] }),
    price: decimal("the market's price"),
    at: timestamp,
    reason: z
      .enum(["stale", "future", "outlier"])
      .optional()
      .meta({ description: "why it was dropped (dropped quotes only)" }),
  }),
);
export const rateJson = named(
  "Rate",
  z.strictObject({
    asset: z.string(),
    currency: z.string(),
    source: z.enum(["static", "live"]),
    rate: z.string().regex(DECIMAL).nullable().meta({ description: "null: no fresh, agreed rate now" }),
    rate_at: timestamp.nullable().meta({ description: "the oldest source's time (live)" }),
    age_seconds: z.number().int().min(0).nullable(),
    sources: z.array(rateQuoteJson).meta({ description: "fresh sources within max_spread" }),
    dropped: z.array(rateQuoteJson).meta({ description: "stale, future or outlier quotes" }),
    reason: z.string().optional().meta({ description: "why there is no rate" }),
  }),
);
export type RateJson = z.infer<typeof rateJson>;
export const rateList = named("RateList", z.strictObject({ rates: z.array(rateJson) }));

const auditKind = z.enum(["missing", "extra", "mismatch", "wrong_status"]).meta({
  description:
    "missing: on chain, not in the ledger; extra: in the ledger, not on chain; mismatch: another amount or " +
    "address; wrong_status: stored reverted in a canonical block, or stored in a block no longer canonical",
});
export const auditFindingJson = named(
  "AuditFinding",
  z.strictObject({
    kind: auditKind,
    txid: z.string(),
    index: z.number().int().min(0),
    asset: z.string(),
    block: z.number().int().min(0),
    payment_id: z.string().nullable().meta({ description: "the stored payment, when there is one" }),
    detail: z.string(),
    found_at: timestamp,
  }),
);
export const auditQuery = z
  .object({
    chain: z.string().max(64).optional().meta({ description: "only this chain" }),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .meta({ description: "findings per chain, newest block first (default 100)" }),
  })
  .strict();
export const auditReportJson = named(
  "AuditReport",
  z.strictObject({
    chains: z.array(
      z.strictObject({
        chain: z.string(),
        enabled: z.boolean().meta({ description: "audit.enabled: the background audit runs" }),
        next_block: z
          .number()
          .int()
          .nullable()
          .meta({ description: "the next block the background audit checks; null before its first pass" }),
        blocks_audited: z.number().int().min(0),
        last_run_at: timestamp.nullable(),
        last_error: z.string().nullable(),
        counts: z
          .strictObject({
            missing: z.number().int(),
            extra: z.number().int(),
            mismatch: z.number().int(),
            wrong_status: z.number().int(),
          })
          .meta({ description: "stored findings (the last audit of each block), by kind" }),
        findings: z.array(auditFindingJson),
      }),
    ),
  }),
);
export type AuditReportJson = z.infer<typeof auditReportJson>;

export const healthReport = named(
  "Health",
  z.strictObject({
    ok: z.boolean(),
    checks: z.record(z.string(), z.strictObject({ ok: z.boolean(), detail: z.unknown().optional() })).meta({
      description:
        "`database` and `chain:<id>` (head, scanned, lag_blocks, last_error, fatal, pool, and with rpc_quorum ≥ 2 " +
        "`quorum`: size, per URL its disagreements, the disagreement in progress — which fails the chain); " +
        "`rates` (always ok: pairs without a fresh rate are warnings) when rates.live is configured; " +
        "`audit` (always ok: findings of the background audit are warnings) when a chain has audit.enabled",
    }),
  }),
);
export type HealthReport = z.infer<typeof healthReport>;

export const problemJson = named(
  "Problem",
  z
    .strictObject({
      type: z.enum(PROBLEM_CODES.map((c) => `urn:depositd:problem:${c}`) as [string, ...string[]]),
      title: z.string(),
      status: z.number().int(),
      detail: z.string(),
      errors: z
        .array(
          z.strictObject({
            path: z.string().meta({ examples: ["options[0].asset", "callback_url"] }),
            message: z.string(),
          }),
        )
        .optional()
        .meta({ description: "each invalid field" }),
    })
    .meta({ description: "RFC 9457 problem details; `type` carries a stable problem code (docs/api.md)" }),
);

// ---- deposit accounts (top-up addresses) ------------------------------------------------------

export const createAccountBody = named(
  "CreateDepositAccount",
  z.strictObject({
    customer_id: z
      .string()
      .regex(/^[A-Za-z0-9._:@-]{1,64}$/, "must be 1–64 characters of A-Z a-z 0-9 . _ : @ -")
      .meta({
        description: "your customer's id; unique per API key, makes create idempotent",
        examples: ["u-42"],
      }),
    chains: z
      .array(z.string().max(32))
      .min(1)
      .max(32)
      .optional()
      .meta({ description: "chains to get an address on; default every chain whose pool serves accounts" }),
    callback_url: callbackUrl,
    metadata,
  }),
);
export type CreateAccountBody = z.infer<typeof createAccountBody>;

export const accountIdParams = z.object({ id: pathId("deposit account id (acc_…)") });
export const accountListQuery = pageQuery
  .extend({
    customer_id: z.string().max(64).optional().meta({ description: "only this customer's account" }),
  })
  .strict();
export const accountEventsQuery = eventsQuery;

export const accountJson = named(
  "DepositAccount",
  z.strictObject({
    id: z.string().regex(/^acc_[0-9A-Z]{26}$/),
    customer_id: z.string(),
    status: z.enum(["open", "closed"]).meta({ description: "closed: payments are no longer attributed" }),
    addresses: z.array(
      z.strictObject({
        chain: z.string(),
        address: z.string().meta({ description: "exclusive to this account while it is open" }),
      }),
    ),
    callback_url: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: timestamp,
    closed_at: timestamp.nullable(),
  }),
);
export type AccountJson = z.infer<typeof accountJson>;

export const accountList = named(
  "DepositAccountList",
  z.strictObject({
    accounts: z.array(accountJson),
    next_cursor: nextCursor,
  }),
);

/** A payment into a deposit account: a Payment's on-chain fields, its account instead of an order. */
export const depositJson = named(
  "Deposit",
  paymentJson.omit({ order_id: true, late: true, unexpected_asset: true }).extend({ account_id: z.string() }),
);
export type DepositJson = z.infer<typeof depositJson>;

export const depositList = named(
  "DepositList",
  z.strictObject({
    deposits: z.array(depositJson),
    next_cursor: nextCursor,
  }),
);

/** The exact signed body of a deposit callback (docs/webhooks.md). */
export const depositCallbackBody = named(
  "DepositCallbackBody",
  z.strictObject({
    id: z.string().regex(/^evt_[0-9A-Z]{26}$/),
    type: z.enum(DEPOSIT_EVENT_TYPES as [string, ...string[]]),
    seq: z.number().int().meta({ description: "1, 2, … per account with no gaps" }),
    created_at: timestamp,
    account: accountJson,
    deposit: depositJson,
  }),
);

export const accountEventJson = named(
  "DepositAccountEvent",
  orderEventJson.extend({
    seq: z.number().int(),
    type: z.enum(DEPOSIT_EVENT_TYPES as [string, ...string[]]),
    body: depositCallbackBody,
  }),
);
export type AccountEventJson = z.infer<typeof accountEventJson>;
export const accountEventList = named(
  "DepositAccountEventList",
  z.strictObject({ events: z.array(accountEventJson) }),
);
