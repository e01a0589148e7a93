// Every SQL statement of the ledger, named and prepared once per database. The only SQL text of
// the ledger besides migrations/; where PostgreSQL needs other SQL for the same job, `dialect`
// holds both texts side by side (src/db/pg-sync.ts runs them there).
import { OPEN, type PaymentStatus, TERMINAL } from "../core/reconcile.js";
import type { DB } from "../db/index.js";
import { dialect, inList, perDatabase } from "../db/statements.js";
import type { OptionRow, OrderRow, PaymentRow } from "./view.js";

/** orders examined for expiry per timer pass */
export const EXPIRE_BATCH = 500;
/** bindings ended per timer pass */
const RELEASE_BATCH = 500;

const is = (status: PaymentStatus | "pending") => inList([status]);

export interface ListParams {
  /** null: every merchant's orders (an operator) */
  merchant: string | null;
  status?: string;
  after?: { created: number; id: string };
  limit: number;
}

export type Statements = ReturnType<typeof createStatements>;

export function createStatements(db: DB) {
  const skipLocked = dialect(db, "", " FOR UPDATE SKIP LOCKED");
  // one statement per filter combination, prepared on first use (each uses its own index)
  const lists = new Map<string, ReturnType<typeof db.prepare<Record<string, unknown>, OrderRow>>>();
  const listStatement = (merchant: boolean, status: boolean, cursor: boolean) => {
    const k = `${+merchant}${+status}${+cursor}`;
    let st = lists.get(k);
    if (!st) {
      const where = [
        merchant ? "merchant = @merchant" : "",
        status ? "status = @status" : "",
        cursor ? "(created_at, id) < (@created, @id)" : "",
      ].filter(Boolean);
      st = db.prepare<Record<string, unknown>, OrderRow>(
        `SELECT * FROM orders ${where.length ? "WHERE " + where.join(" AND ") : ""}
         ORDER BY created_at DESC, id DESC LIMIT @limit`,
      );
      lists.set(k, st);
    }
    return st;
  };
  return {
    orderById: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE id = ?"),
    orderByMerchantId: db.prepare<[string, string], OrderRow>(
      "SELECT * FROM orders WHERE merchant = ? AND merchant_order_id = ?",
    ),
    /** orders, newest first, after a cursor */
    listOrders(p: ListParams): OrderRow[] {
      return listStatement(p.merchant !== null, p.status !== undefined, p.after !== undefined).all({
        merchant: p.merchant ?? undefined,
        status: p.status,
        created: p.after?.created,
        id: p.after?.id,
        limit: p.limit,
      });
    },
    /** returns the stored row, so a create needs no read-back */
    insertOrder: db.prepare<Record<string, unknown>, OrderRow>(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, metadata, request_hash, created_at, updated_at,
         expires_at, late_until, checkout_token, return_url)
       VALUES (@id, @merchant, @merchant_order_id, ${is("pending")}, @amount, @currency, @currency_decimals,
         @underpaid_tolerance, @overpaid_tolerance, @callback_url, @metadata, @request_hash, @now, @now,
         @expires_at, @late_until, @checkout_token, @return_url)
       RETURNING *`,
    ),
    insertOption: db.prepare<
      [string, string, string, string, string, number, string, string, number],
      OptionRow
    >(
      `INSERT INTO order_options (order_id, asset, chain, address, amount_due, decimals, rate, rate_sources,
         rate_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING *`,
    ),
    options: db.prepare<[string], OptionRow>("SELECT * FROM order_options WHERE order_id = ? ORDER BY rowid"),
    updateStatus: db.prepare("UPDATE orders SET status = ?, paid_amount = ?, updated_at = ? WHERE id = ?"),
    /** a hand decision; an accept records what it settled (paid_amount now) */
    setResolution: db.prepare(
      `UPDATE orders SET resolution = @resolution, status = @status, updated_at = @now,
         accepted_paid = CASE WHEN @resolution = 'accepted' THEN paid_amount ELSE NULL END
       WHERE id = @id`,
    ),
    dropAccept: db.prepare(
      "UPDATE orders SET resolution = NULL, accepted_paid = NULL, updated_at = ? WHERE id = ?",
    ),
    bumpSeq: db.prepare<[number, string], { event_seq: number }>(
      "UPDATE orders SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq",
    ),

    // each lookup has its own partial index holding only what it may hand out (0005_counters.sql)
    // PostgreSQL: locked, and a row another create has locked is skipped rather than waited for
    // (without it two instances pick the same row and one fails on bindings_one_live_per_address)
    freeUnused: db.prepare<[string], { id: number; address: string; display: string }>(
      `SELECT id, address, display FROM pool_addresses
       WHERE chain = ? AND bound = 0 AND used = 0 ORDER BY id LIMIT 1${skipLocked}`,
    ),
    freeRested: db.prepare<[string, number], { id: number; address: string; display: string }>(
      `SELECT id, address, display FROM pool_addresses
       WHERE chain = ? AND bound = 0 AND rest_until <= ? ORDER BY rest_until, id LIMIT 1${skipLocked}`,
    ),
    bind: db.prepare("INSERT INTO bindings (chain, address, order_id, bound_at) VALUES (?, ?, ?, ?)"),
    markBound: db.prepare("UPDATE pool_addresses SET bound = 1, used = 1 WHERE id = ?"),
    /** the order or the deposit account (exactly one is set) an address is bound to now */
    liveBinding: db.prepare<
      [string, string],
      { order_id: string | null; account_id: string | null; bound_at: number }
    >(
      "SELECT order_id, account_id, bound_at FROM bindings WHERE chain = ? AND address = ? AND released_at IS NULL",
    ),
    dueToRelease: db.prepare<
      [string, number],
      { id: number; chain: string; address: string; order_id: string }
    >(
      `SELECT b.id, b.chain, b.address, b.order_id FROM bindings b JOIN orders o ON o.id = b.order_id
       WHERE b.chain = ? AND b.released_at IS NULL AND o.late_until < ?
         AND o.status IN ${inList(TERMINAL)}
       LIMIT ${RELEASE_BATCH}`,
    ),
    release: db.prepare("UPDATE bindings SET released_at = ? WHERE id = ?"),
    restAddress: db.prepare(
      "UPDATE pool_addresses SET bound = 0, rest_until = ? WHERE chain = ? AND address = ?",
    ),
    poolAddresses: db.prepare<[string, number], { id: number; address: string }>(
      "SELECT id, address FROM pool_addresses WHERE chain = ? AND id > ? ORDER BY id",
    ),
    /**
     * the next WATCHED_CHUNK pool addresses of a chain after row `afterId`, as one newline-joined
     * string and the last id read: the watched set loads a million of them without a row object
     * or a string per address (canonical forms hold no newline); read by id, in id order
     */
    poolAddressChunk: db
      .prepare<[string, number, number], [number | null, string | null]>(
        dialect(
          db,
          `SELECT max(id), group_concat(address, char(10)) FROM
             (SELECT id, address FROM pool_addresses WHERE +chain = ? AND id > ? ORDER BY id LIMIT ?)`,
          `SELECT max(id), string_agg(address, chr(10) ORDER BY id) FROM
             (SELECT id, address FROM pool_addresses WHERE chain = ? AND id > ? ORDER BY id LIMIT ?) chunk`,
        ),
      )
      .raw(),

    insertEvent: db.prepare(
      `INSERT INTO events (id, order_id, seq, type, payment_id, url, body, state, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),

    paymentsOfOrder: db.prepare<[string], PaymentRow>(
      "SELECT * FROM payments WHERE order_id = ? ORDER BY created_at, id",
    ),
    /** a page of an order's payments, oldest first, after (created_at, id) */
    paymentsOfOrderPage: db.prepare<[string, number, string, number], PaymentRow>(
      `SELECT * FROM payments WHERE order_id = ? AND (created_at, id) > (?, ?)
       ORDER BY created_at, id LIMIT ?`,
    ),
    /** counted amounts of an order (TEXT integers: summed exactly in JS) */
    paymentSums: db.prepare<[string], { asset: string; status: string; total: string }>(
      `SELECT asset, status, amount AS total FROM payments
       WHERE order_id = ? AND unexpected_asset = 0 AND status != ${is("reverted")}`,
    ),
    paymentByKey: db.prepare<[string, string, number, string], PaymentRow>(
      "SELECT * FROM payments WHERE chain = ? AND txid = ? AND idx = ? AND asset = ?",
    ),
    paymentById: db.prepare<[string], PaymentRow>("SELECT * FROM payments WHERE id = ?"),
    /** the row as stored (RETURNING *), or undefined when the payment was already stored */
    insertPayment: db.prepare<[Record<string, unknown>], PaymentRow>(
      `INSERT INTO payments (id, chain, txid, idx, asset, address, amount, block_number, block_hash, block_time,
         status, order_id, account_id, unexpected_asset, late, min_confirmations, via, created_at, updated_at)
       VALUES (@id, @chain, @txid, @idx, @asset, @address, @amount, @block_number, @block_hash, @block_time,
         @status, @order_id, @account_id, @unexpected_asset, @late, @min_confirmations, @via, @now, @now)
       ON CONFLICT (chain, txid, idx, asset) DO NOTHING RETURNING *`,
    ),
    movePayment: db.prepare(
      `UPDATE payments SET block_number = ?, block_hash = ?, block_time = ?, status = ?, late = ?, updated_at = ?
       WHERE id = ?`,
    ),
    setPaymentStatus: db.prepare("UPDATE payments SET status = ?, updated_at = ? WHERE id = ?"),
    paymentsAbove: db.prepare<[string, number], PaymentRow>(
      `SELECT * FROM payments WHERE chain = ? AND block_number > ? AND status != ${is("reverted")}`,
    ),
    seenOnChain: db.prepare<[string], PaymentRow>(
      `SELECT * FROM payments WHERE chain = ? AND status = ${is("seen")} AND block_number IS NOT NULL`,
    ),
    mempoolOnChain: db.prepare<[string], PaymentRow>(
      `SELECT * FROM payments WHERE chain = ? AND status = ${is("seen")} AND block_number IS NULL`,
    ),
    /** a page of unattributed payments, newest first, before (created_at, id) */
    unattributed: db.prepare<[number, string, number], PaymentRow>(
      `SELECT * FROM payments WHERE order_id IS NULL AND account_id IS NULL AND (created_at, id) < (?, ?)
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),
    assign: db.prepare(
      "UPDATE payments SET order_id = ?, unexpected_asset = ?, late = ?, updated_at = ? WHERE id = ?",
    ),

    upsertBlock: db.prepare(
      `INSERT INTO chain_blocks (chain, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (chain, number) DO UPDATE
         SET hash = excluded.hash, parent_hash = excluded.parent_hash, timestamp = excluded.timestamp`,
    ),
    deleteBlocksAbove: db.prepare("DELETE FROM chain_blocks WHERE chain = ? AND number > ?"),
    pruneBlocks: db.prepare("DELETE FROM chain_blocks WHERE chain = ? AND number <= ?"),
    recentBlocks: db.prepare<[string], { number: number; hash: string }>(
      "SELECT number, hash FROM chain_blocks WHERE chain = ? ORDER BY number",
    ),
    cursor: db.prepare<[string], { next_block: number; head: number; solid: number | null }>(
      "SELECT next_block, head, solid FROM chain_cursors WHERE chain = ?",
    ),
    chainHead: db.prepare<[string], { head: number }>("SELECT head FROM chain_cursors WHERE chain = ?"),
    initCursor: db.prepare(
      "INSERT INTO chain_cursors (chain, next_block, head, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (chain) DO NOTHING",
    ),
    moveCursor: db.prepare(
      "UPDATE chain_cursors SET next_block = ?, head = ?, solid = ?, updated_at = ? WHERE chain = ?",
    ),
    dueToExpire: db.prepare<
      { now: number; afterExp: number; afterId: string },
      { id: string; expires_at: number }
    >(
      `SELECT id, expires_at FROM orders
       WHERE status IN ${inList(OPEN)} AND expires_at < @now
         AND (expires_at > @afterExp OR (expires_at = @afterExp AND id > @afterId))
       ORDER BY expires_at, id LIMIT ${EXPIRE_BATCH}`,
    ),
  };
}

/** The counts `depositd status` and /metrics read: kept by triggers (0005_counters.sql) or small. */
function prepareCounts(db: DB) {
  return {
    /** per chain and status, `kind` "order" or "payment" */
    statusCounts: db.prepare<[string], { chain: string; status: string; n: number }>(
      dialect(
        db,
        "SELECT chain, status, n FROM status_counts WHERE kind = ?",
        // with the deltas the timer has not folded yet (migrations/postgres/0013, src/db/counters.ts)
        `SELECT chain, status, sum(n)::int8 AS n FROM (
           SELECT chain, status, n FROM status_counts WHERE kind = $1
           UNION ALL SELECT chain, status, n FROM status_count_deltas WHERE kind = $1) c
         GROUP BY chain, status`,
      ),
    ),
    ordersCreatedSince: db.prepare<[number], { status: string; n: number }>(
      "SELECT status, count(*) AS n FROM orders WHERE created_at >= ? GROUP BY status",
    ),
  };
}

export const countStatements = perDatabase(prepareCounts);
