// The checkout's reads (SQL lives here): one order by token or id, with its options and payments.
import type { DB } from "../db/index.js";
import type { OptionRow, OrderRow } from "../ledger/view.js";

export interface CheckoutPayment {
  asset: string;
  chain: string;
  amount: string;
  status: "seen" | "confirmed";
  block_number: number | null;
  unexpected_asset: number;
}

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
  const q = {
    byToken: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE checkout_token = ?"),
    byId: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE id = ?"),
    options: db.prepare<[string], OptionRow>("SELECT * FROM order_options WHERE order_id = ? ORDER BY rowid"),
    payments: db.prepare<[string], CheckoutPayment>(
      `SELECT asset, chain, amount, status, block_number, unexpected_asset FROM payments
       WHERE order_id = ? AND status != 'reverted' ORDER BY created_at, id`,
    ),
    heads: db.prepare<[], { chain: string; head: number; solid: number | null }>(
      "SELECT chain, head, solid FROM chain_cursors",
    ),
  };
  const load = (order: OrderRow | undefined): CheckoutData | undefined =>
    order && { order, options: q.options.all(order.id), payments: q.payments.all(order.id) };
  return {
    byToken: (token) => load(q.byToken.get(token)),
    byId: (id) => load(q.byId.get(id)),
    heads: () => new Map(q.heads.all().map((h) => [h.chain, { head: h.head, solid: h.solid }])),
  };
}
