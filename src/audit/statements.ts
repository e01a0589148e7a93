// Every SQL statement of the audit (SQLite): what the ledger stored, to compare with the chain.
import type { StoredPayment } from "../core/audit.js";
import type { DB } from "../db/index.js";
import { perDatabase } from "../db/statements.js";

function prepare(db: DB) {
  return {
    /** the lowest block a payment of the chain is in (null: none) */
    lowestBlock: db
      .prepare<[string], number | null>("SELECT min(block_number) FROM payments WHERE chain = ?")
      .pluck(),
    storedPayments: db.prepare<[string, number, number], StoredPayment>(
      `SELECT id, txid, idx, asset, address, amount, block_number, block_hash, status FROM payments
       WHERE chain = ? AND block_number BETWEEN ? AND ? ORDER BY block_number, id`,
    ),
  };
}

export const auditStatements = perDatabase(prepare);
