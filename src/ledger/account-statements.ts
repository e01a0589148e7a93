// Every SQL statement of deposit accounts, named and prepared once (SQLite); the bindings they make
// live in the same table as the orders' (migrations/0007_deposit_accounts.sql).
import type { DB } from "../db/index.js";
import type { PaymentRow } from "./view.js";

export interface AccountRow {
  id: string;
  merchant: string;
  customer_id: string;
  status: "open" | "closed";
  callback_url: string;
  metadata: string;
  request_hash: string;
  event_seq: number;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
}

export interface AccountListParams {
  merchant: string;
  customerId?: string;
  after?: { created: number; id: string };
  limit: number;
}

export type AccountStatements = ReturnType<typeof createAccountStatements>;

export function createAccountStatements(db: DB) {
  const list = (withCustomer: boolean, withCursor: boolean) =>
    db.prepare<Record<string, unknown>, AccountRow>(
      `SELECT * FROM deposit_accounts WHERE merchant = @merchant
         ${withCustomer ? "AND customer_id = @customer" : ""}
         ${withCursor ? "AND (created_at < @created OR (created_at = @created AND id < @id))" : ""}
       ORDER BY created_at DESC, id DESC LIMIT @limit`,
    );
  const lists = [list(false, false), list(false, true), list(true, false), list(true, true)];
  const deposits = (withCursor: boolean) =>
    db.prepare<Record<string, unknown>, PaymentRow>(
      `SELECT * FROM payments WHERE account_id = @account
         ${withCursor ? "AND (created_at > @created OR (created_at = @created AND id > @id))" : ""}
       ORDER BY created_at, id LIMIT @limit`,
    );
  const depositPages = [deposits(false), deposits(true)];
  return {
    accountById: db.prepare<[string], AccountRow>("SELECT * FROM deposit_accounts WHERE id = ?"),
    accountByCustomer: db.prepare<[string, string], AccountRow>(
      "SELECT * FROM deposit_accounts WHERE merchant = ? AND customer_id = ?",
    ),
    /** a merchant's accounts, newest first, after a cursor */
    listAccounts(p: AccountListParams): AccountRow[] {
      return lists[(p.customerId !== undefined ? 2 : 0) + (p.after ? 1 : 0)]!.all({
        merchant: p.merchant,
        customer: p.customerId,
        created: p.after?.created,
        id: p.after?.id,
        limit: p.limit,
      });
    },
    insertAccount: db.prepare(
      `INSERT INTO deposit_accounts (id, merchant, customer_id, status, callback_url, metadata, request_hash,
         created_at, updated_at)
       VALUES (@id, @merchant, @customer_id, 'open', @callback_url, @metadata, @request_hash, @now, @now)`,
    ),
    close: db.prepare(
      "UPDATE deposit_accounts SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?",
    ),
    bumpSeq: db.prepare<[number, string], { event_seq: number }>(
      "UPDATE deposit_accounts SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq",
    ),
    bind: db.prepare("INSERT INTO bindings (chain, address, account_id, bound_at) VALUES (?, ?, ?, ?)"),
    /** the account's addresses as shown to customers, in binding order (kept after close) */
    addresses: db.prepare<[string], { chain: string; address: string }>(
      `SELECT b.chain, p.display AS address FROM bindings b
         JOIN pool_addresses p ON p.chain = b.chain AND p.address = b.address
       WHERE b.account_id = ? ORDER BY b.id`,
    ),
    liveBindings: db.prepare<[string], { id: number; chain: string; address: string }>(
      "SELECT id, chain, address FROM bindings WHERE account_id = ? AND released_at IS NULL",
    ),
    /** an account's payments, oldest first, after a cursor */
    deposits(
      account: string,
      after: { created: number; id: string } | undefined,
      limit: number,
    ): PaymentRow[] {
      return depositPages[after ? 1 : 0]!.all({
        account,
        created: after?.created,
        id: after?.id,
        limit,
      });
    },
    insertEvent: db.prepare(
      `INSERT INTO events (id, account_id, seq, type, payment_id, url, body, state, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    ),
  };
}
