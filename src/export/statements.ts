// Every SQL statement of the exports (SQLite; PostgreSQL where noted): payments with their order and locked rate, in keyset chunks.
import type { DB } from "../db/index.js";
import { engineOf } from "../db/pg-sync.js";
import { perDatabase } from "../db/statements.js";

/** rows per read; the consumer's backpressure decides when the next read happens */
export const EXPORT_CHUNK = 500;

export interface PaymentExportRow {
  id: string;
  order_id: string | null;
  merchant_order_id: string | null;
  chain: string;
  asset: string;
  address: string;
  amount: string;
  txid: string;
  idx: number;
  block_number: number | null;
  block_time: number | null;
  status: string;
  created_at: number;
  currency: string | null;
  rate: string | null;
}

function prepare(db: DB) {
  // payments drive (in payments_created order, from the cursor): no sort per chunk, so the whole
  // export reads the index once. A merchant's has no unattributed rows: CROSS JOIN keeps p outer.
  // PostgreSQL plans the same from its statistics: no hints (and no ON after a CROSS JOIN there).
  const pg = engineOf(db) === "postgres";
  const sql = (merchant: boolean) =>
    db.prepare<Record<string, unknown>, PaymentExportRow>(
      `SELECT p.id, p.order_id, o.merchant_order_id, p.chain, p.asset, p.address, p.amount, p.txid, p.idx,
              p.block_number, p.block_time, p.status, p.created_at, o.currency, oo.rate
         FROM payments p ${pg ? "" : "INDEXED BY payments_created"}
         ${merchant ? (pg ? "JOIN" : "CROSS JOIN") : "LEFT JOIN"} orders o ON o.id = p.order_id
         LEFT JOIN order_options oo ON oo.order_id = p.order_id AND oo.asset = p.asset
        WHERE (p.created_at, p.id) > (@afterCreated, @afterId) AND p.created_at < @to
          ${merchant ? "AND o.merchant = @merchant" : ""}
        ORDER BY p.created_at, p.id LIMIT ${EXPORT_CHUNK}`,
    );
  return { all: sql(false), merchant: sql(true) };
}

export const exportStatements = perDatabase(prepare);
