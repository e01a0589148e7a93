// Creating orders: load (an earlier create under the same merchant_order_id) → price in core →
// write the order, its address bindings and its options.
import { createHash, randomBytes } from "node:crypto";
import { type PriceRequest, priceOrder } from "../core/pricing.js";
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

/** The same request body always hashes the same (keys sorted at every level). */
export function requestHash(input: CreateOrderInput): string {
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

export function createOrderCreation(ctx: LedgerContext) {
  const { db, s, catalog, hooks, views } = ctx;
  const orders = ctx.common.config.orders;

  /** One free address per chain, bound to the order; an xpub pool used up derives more now. */
  function bindAddresses(orderId: string, chains: readonly string[], now: number): Map<string, string> {
    const addresses = new Map<string, string>();
    for (const chain of chains) {
      const pool = catalog.chain(chain)?.pool;
      const reuse = pool !== undefined && poolReuses(pool);
      // never-used addresses first, in pool order; a reusing pool then the one rested longest
      const free = () => (reuse ? s.freeRested.get(chain, now) : s.freeUnused.get(chain));
      const candidate = free() ?? (hooks.topUpPool?.(chain, now) ? free() : undefined);
      if (!candidate) throw new ProblemError("pool_exhausted", `no free deposit address on chain ${chain}`);
      s.bind.run(chain, candidate.address, orderId, now);
      s.markBound.run(candidate.id);
      addresses.set(chain, candidate.display);
    }
    return addresses;
  }

  const createOne = db.transaction((merchant: string, input: CreateOrderInput, now: number): Created => {
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
    if (!priced.ok) throw new ProblemError("validation", priced.detail, priced.errors);
    const p = priced.order;
    const id = newId("ord", now);
    s.insertOrder.run({
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
      checkout_token: randomBytes(24).toString("hex"),
      return_url: input.return_url ?? null,
    });
    const addresses = bindAddresses(id, p.chains, now);
    for (const o of p.options) {
      s.insertOption.run(
        id,
        o.asset,
        o.chain,
        addresses.get(o.chain)!,
        o.amountDue.toString(),
        o.decimals,
        o.rate,
      );
    }
    return { order: views.order(ctx.loadOrder(id)), created: true };
  });

  /** Several creates in one transaction, each in its own savepoint (see Ledger.createOrders). */
  const createBatch = (batch: CreateBatch, now: number) =>
    db.transaction(() =>
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
