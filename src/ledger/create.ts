// Creating orders: load (an earlier create under the same merchant_order_id) → price in core →
// write the order, its address bindings and its options.
import { createHash, randomFillSync } from "node:crypto";
import { type PriceRequest, priceOrder } from "../core/pricing.js";
import { handOutTransaction } from "../db/pg-sync.js";
import { newId } from "../ids.js";
import { poolReuses } from "../pool/index.js";
import type { LedgerContext } from "./context.js";
import { ProblemError } from "../errors.js";
import type { OrderJson } from "./view.js";

/** A create request after its shape was validated (src/api/schemas.ts). */
export interface CreateOrderInput extends PriceRequest {
  merchant_order_id: string;
  assets?: string[];
  callback_url: string;
  /** where the checkout page's "back to the shop" button leads */
  return_url?: string;
  metadata?: Record<string, unknown>;
}

export type Created = { order: OrderJson; created: boolean };
export type CreateBatch = { merchant: string; input: CreateOrderInput }[];

// Checkout tokens (24 random bytes each) are cut from a pool: one syscall per 256 tokens.
const TOKEN_BYTES = 24;
const tokenPool = Buffer.alloc(TOKEN_BYTES * 256);
let tokenOffset = tokenPool.length;

function checkoutToken(): string {
  if (tokenOffset + TOKEN_BYTES > tokenPool.length) {
    randomFillSync(tokenPool);
    tokenOffset = 0;
  }
  const token = tokenPool.toString("hex", tokenOffset, tokenOffset + TOKEN_BYTES);
  tokenOffset += TOKEN_BYTES;
  return token;
}

/** The same request body always hashes the same (keys sorted at every level). */
export function requestHash(input: object): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return createHash("sha256")
    .update(JSON.stringify(canonical(input)))
    .digest("hex");
}

/**
 * Take a chain's next free pool address for a new binding (an order's or an account's; the caller
 * inserts the binding): never-used addresses first, in pool order; a reusing pool then the one
 * rested longest; an xpub pool used up derives more now.
 */
export function claimFreeAddress(
  ctx: LedgerContext,
  chain: string,
  now: number,
): { id: number; address: string; display: string } {
  const { s, catalog, hooks } = ctx;
  const pool = catalog.chain(chain)?.pool;
  const reuse = pool !== undefined && poolReuses(pool);
  const free = () => (reuse ? s.freeRested.get(chain, now) : s.freeUnused.get(chain));
  const candidate = free() ?? (hooks.topUpPool?.(chain, now) ? free() : undefined);
  if (!candidate) throw new ProblemError("pool_exhausted", `no free deposit address on chain ${chain}`);
  s.markBound.run(candidate.id);
  return candidate;
}

export function createOrderCreation(ctx: LedgerContext) {
  const { db, s, catalog, views, rememberOptions } = ctx;
  const orders = ctx.common.config.orders;

  /** One free address per chain, bound to the order; an xpub pool used up derives more now. */
  function bindAddresses(orderId: string, chains: readonly string[], now: number): Map<string, string> {
    const addresses = new Map<string, string>();
    for (const chain of chains) {
      if (catalog.chain(chain)?.pool.purpose === "accounts")
        throw new ProblemError("validation", "the order is not valid", [
          { path: "assets", message: `the pool of chain ${chain} serves deposit accounts only` },
        ]);
      const candidate = claimFreeAddress(ctx, chain, now);
      s.bind.run(chain, candidate.address, orderId, now);
      addresses.set(chain, candidate.display);
    }
    return addresses;
  }

  const createOne = handOutTransaction(
    db,
    (merchant: string, input: CreateOrderInput, now: number): Created => {
      const hash = requestHash(input);
      const existing = s.orderByMerchantId.get(merchant, input.merchant_order_id);
      if (existing) {
        if (existing.request_hash !== hash) {
          throw new ProblemError(
            "conflict",
            `merchant_order_id ${input.merchant_order_id} already exists with a different body`,
          );
        }
        return { order: views.order(existing), created: false };
      }
      const priced = priceOrder(input, catalog, orders, now);
      if (!priced.ok) throw new ProblemError(priced.problem, priced.detail, priced.errors);
      const p = priced.order;
      const id = newId("ord", now);
      const row = s.insertOrder.get({
        id,
        merchant,
        merchant_order_id: input.merchant_order_id,
        amount: p.amount.toString(),
        currency: input.currency,
        currency_decimals: p.currencyDecimals,
        underpaid_tolerance: p.underpaidTolerance,
        overpaid_tolerance: p.overpaidTolerance,
        callback_url: input.callback_url,
        metadata: JSON.stringify(input.metadata ?? {}),
        request_hash: hash,
        now,
        expires_at: p.expiresAt,
        late_until: p.lateUntil,
        checkout_token: checkoutToken(),
        return_url: input.return_url ?? null,
      })!;
      const addresses = bindAddresses(id, p.chains, now);
      const options = p.options.map((o) =>
        s.insertOption.get(
          id,
          o.asset,
          o.chain,
          addresses.get(o.chain)!,
          o.amountDue.toString(),
          o.decimals,
          o.rate,
          JSON.stringify(o.rateSources),
          o.rateAt,
        )!,
      );
      // the rows as stored (RETURNING): the answer's view reads nothing back
      rememberOptions(id, options);
      return { order: views.order(row), created: true };
    },
  );

  /** Several creates in one transaction, each in its own savepoint (see Ledger.createOrders). */
  const createBatch = (batch: CreateBatch, now: number) =>
    handOutTransaction(db, () =>
      batch.map(({ merchant, input }) => {
        try {
          return { ok: true as const, ...createOne(merchant, input, now) };
        } catch (error) {
          // the savepoint of this create was rolled back; a broken database fails them all
          if (!(error instanceof ProblemError)) throw error;
          return { ok: false as const, error };
        }
      }),
    )();

  return { createOne, createBatch };
}
