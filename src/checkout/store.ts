// The checkout's reads: one order by token or id, with its options and payments (SQL: ./statements.ts).
import type { DB } from "../db/index.js";
import type { OptionRow, OrderRow } from "../ledger/view.js";
import { type CheckoutPayment, checkoutStatements } from "./statements.js";

export type { CheckoutPayment };

/** everything the page is computed from, loaded in one go */
export interface CheckoutData {
  order: OrderRow;
  options: OptionRow[];
  payments: CheckoutPayment[];
}

export interface CheckoutStore {
  byToken(token: string): CheckoutData | undefined;
  byId(id: string): CheckoutData | undefined;
  heads(): Map<string, { head: number; solid: number | null }>;
}

export function createCheckoutStore(db: DB): CheckoutStore {
  const q = checkoutStatements(db);
  const load = (order: OrderRow | undefined): CheckoutData | undefined =>
    order && { order, options: q.options.all(order.id), payments: q.payments.all(order.id) };
  return {
    byToken: (token) => load(q.byToken.get(token)),
    byId: (id) => load(q.byId.get(id)),
    heads: () => new Map(q.heads.all().map((h) => [h.chain, { head: h.head, solid: h.solid }])),
  };
}
