// Every SQL statement of the checkout page (SQLite): reads only.
import type { PaymentStatus } from "../core/reconcile.js";
import type { DB } from "../db/index.js";
import { inList, perDatabase } from "../db/statements.js";
import type { OptionRow, OrderRow } from "../ledger/view.js";

/** a reverted payment pays nothing and is not shown */
const REVERTED: PaymentStatus[] = ["reverted"];

export interface CheckoutPayment {
  asset: string;
  chain: string;
  amount: string;
  status: "seen" | "confirmed";
  block_number: number | null;
  unexpected_asset: number;
}

function prepare(db: DB) {
  return {
    byToken: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE checkout_token = ?"),
    byId: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE id = ?"),
    options: db.prepare<[string], OptionRow>("SELECT * FROM order_options WHERE order_id = ? ORDER BY rowid"),
    payments: db.prepare<[string], CheckoutPayment>(
      `SELECT asset, chain, amount, status, block_number, unexpected_asset FROM payments
       WHERE order_id = ? AND status NOT IN ${inList(REVERTED)} ORDER BY created_at, id`,
    ),
    heads: db.prepare<[], { chain: string; head: number; solid: number | null }>(
      "SELECT chain, head, solid FROM chain_cursors",
    ),
  };
}

export const checkoutStatements = perDatabase(prepare);
