// The ledger: every write of money facts goes through here, each in ONE synchronous SQLite
// transaction with the events it causes (the outbox). Callers fetch first, then call in.
import { createHash } from "node:crypto";
import { amountDue, parseAmount, parseUnits } from "../core/amount.js";
import {
  type OrderEventType,
  type OrderStatus,
  type ReconcilePayment,
  parseTolerance,
  reconcileOrder,
} from "../core/reconcile.js";
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { BlockRef, Heads, Transfer } from "../chains/types.js";
import { newId } from "../ids.js";
import { iso } from "../time.js";
import type { Catalog, PriceQuote } from "./catalog.js";
import { type FieldProblem, ProblemError } from "./problem.js";
import {
  type OptionRow,
  type OrderJson,
  type OrderRow,
  type PaymentJson,
  type PaymentRow,
  createViews,
} from "./view.js";

export type { OrderJson, PaymentJson } from "./view.js";

/** A create request after its shape was validated (src/api/schemas.ts). */
export interface CreateOrderInput {
  merchant_order_id: string;
  amount: string;
  currency: string;
  assets?: string[];
  valid_minutes?: number;
  callback_url: string;
  metadata?: Record<string, unknown>;
  underpaid_tolerance?: string;
  overpaid_tolerance?: string;
}

export type PaymentEventType =
  "payment.seen" | "payment.confirmed" | "payment.reverted" | "payment.unattributed";
export type EventType = OrderEventType | PaymentEventType;

export interface ScanWrite {
  chain: string;
  heads: Heads;
  /** blocks scanned, ascending; the cursor moves past the last one */
  blocks: BlockRef[];
  transfers: Transfer[];
  /** a reorg: forget everything above this block first (payments there are reverted unless found again) */
  rollbackTo?: number;
  /** keep this many recent block hashes */
  keepBlocks: number;
}

export interface ListQuery {
  status?: OrderStatus;
  limit: number;
  cursor?: string;
}

export interface Ledger {
  createOrder(merchant: string, input: CreateOrderInput, now: number): { order: OrderJson; created: boolean };
  /**
   * Several creates in ONE transaction (one fsync), each in its own savepoint: a create that fails
   * (409, 503, …) rolls back alone and is returned as its error; the others commit together.
   */
  createOrders(
    batch: { merchant: string; input: CreateOrderInput }[],
    now: number,
  ): ({ ok: true; order: OrderJson; created: boolean } | { ok: false; error: unknown })[];
  getOrder(merchant: string, id: string): OrderJson | undefined;
  findOrder(merchant: string, merchantOrderId: string): OrderJson | undefined;
  listOrders(merchant: string, q: ListQuery): { orders: OrderJson[]; next_cursor: string | null };
  cancelOrder(merchant: string, id: string, now: number): OrderJson;
  acceptOrder(merchant: string, id: string, now: number): OrderJson;
  orderPayments(merchant: string, id: string): PaymentJson[] | undefined;
  ownsOrder(merchant: string, id: string): boolean;
  unattributedPayments(limit: number): PaymentJson[];
  assignPayment(merchant: string, paymentId: string, orderId: string, now: number): PaymentJson;
  /** store a scanned batch: payments, blocks, cursor, confirmations, orders and events together */
  recordScan(w: ScanWrite, now: number): { payments: number; events: number };
  /** mempool view of a chain: new unconfirmed payments, and the ones that left without being mined */
  recordMempool(
    chain: string,
    transfers: Transfer[],
    now: number,
    settleMissing: boolean,
  ): { events: number };
  /** expire orders past their validity and end bindings past their late window */
  tick(now: number): { expired: number; released: number; events: number };
  cursor(chain: string): { next_block: number; head: number; solid: number | null } | undefined;
  /** events this ledger has written so far (callers compare to know whether to wake delivery) */
  eventsWritten(): number;
  initCursor(chain: string, nextBlock: number, now: number): void;
  recentBlocks(chain: string): Map<number, string>;
  /** canonical pool addresses of a chain added after row `afterId` (the watched set grows by these) */
  watchedAddresses(chain: string, afterId?: number): { id: number; address: string }[];
}

/** a pair priced live with no fresh rate right now: the order waits for the markets (503) */
const noRate = (path: string, asset: string, currency: string): FieldProblem => ({
  path,
  message: `${asset}/${currency} has no fresh rate from enough agreeing markets`,
});

/** orders examined for expiry per timer pass */
const EXPIRE_BATCH = 500;

/** block clocks may run behind ours (Bitcoin allows hours of skew): grace before "mined before the order" */
export const BINDING_CLOCK_GRACE_MS = 2 * 3600_000;

export interface LedgerHooks {
  /** called after every write transaction with its kind and duration (metrics) */
  onWrite?: (kind: "create" | "scan" | "mempool" | "tick" | "other", ms: number) => void;
  /** derive more addresses for an xpub pool that ran out; true when some were added */
  topUpPool?: (chain: string, now: number) => boolean;
}

export function createLedger(db: DB, common: Common, catalog: Catalog, hooks: LedgerHooks = {}): Ledger {
  const timed = <T>(kind: Parameters<NonNullable<LedgerHooks["onWrite"]>>[0], fn: () => T): T => {
    if (!hooks.onWrite) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      hooks.onWrite(kind, performance.now() - t0);
    }
  };
  const cfg = common.config;
  const views = createViews(
    db,
    (asset) => catalog.asset(asset)?.decimals ?? 0,
    (orderId) => optionsOf(orderId),
  );
  const q = {
    orderById: db.prepare<[string], OrderRow>("SELECT * FROM orders WHERE id = ?"),
    orderByMerchantId: db.prepare<[string, string], OrderRow>(
      "SELECT * FROM orders WHERE merchant = ? AND merchant_order_id = ?",
    ),
    insertOrder: db.prepare(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, metadata, request_hash, created_at, updated_at,
         expires_at, late_until)
       VALUES (@id, @merchant, @merchant_order_id, 'pending', @amount, @currency, @currency_decimals,
         @underpaid_tolerance, @overpaid_tolerance, @callback_url, @metadata, @request_hash, @now, @now,
         @expires_at, @late_until)`,
    ),
    insertOption: db.prepare(
      `INSERT INTO order_options (order_id, asset, chain, address, amount_due, decimals, rate, rate_sources, rate_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    options: db.prepare<[string], OptionRow>("SELECT * FROM order_options WHERE order_id = ? ORDER BY rowid"),
    freeAddress: db.prepare<[string, number, number], { id: number; address: string; display: string }>(
      `SELECT id, address, display FROM pool_addresses
       WHERE chain = ? AND bound = 0 AND rest_until <= ? AND (used = 0 OR ?) ORDER BY id LIMIT 1`,
    ),
    bind: db.prepare("INSERT INTO bindings (chain, address, order_id, bound_at) VALUES (?, ?, ?, ?)"),
    markBound: db.prepare("UPDATE pool_addresses SET bound = 1, used = 1 WHERE id = ?"),
    liveBinding: db.prepare<[string, string], { order_id: string; bound_at: number }>(
      "SELECT order_id, bound_at FROM bindings WHERE chain = ? AND address = ? AND released_at IS NULL",
    ),
    updateStatus: db.prepare("UPDATE orders SET status = ?, paid_amount = ?, updated_at = ? WHERE id = ?"),
    setResolution: db.prepare("UPDATE orders SET resolution = ?, status = ?, updated_at = ? WHERE id = ?"),
    bumpSeq: db.prepare<[number, string], { event_seq: number }>(
      "UPDATE orders SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq",
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (id, order_id, seq, type, payment_id, url, body, state, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    paymentsOfOrder: db.prepare<[string], PaymentRow>(
      "SELECT * FROM payments WHERE order_id = ? ORDER BY created_at, id",
    ),
    paymentByKey: db.prepare<[string, string, number, string], PaymentRow>(
      "SELECT * FROM payments WHERE chain = ? AND txid = ? AND idx = ? AND asset = ?",
    ),
    paymentById: db.prepare<[string], PaymentRow>("SELECT * FROM payments WHERE id = ?"),
    insertPayment: db.prepare(
      `INSERT INTO payments (id, chain, txid, idx, asset, address, amount, block_number, block_hash, block_time,
         status, order_id, unexpected_asset, late, min_confirmations, created_at, updated_at)
       VALUES (@id, @chain, @txid, @idx, @asset, @address, @amount, @block_number, @block_hash, @block_time,
         @status, @order_id, @unexpected_asset, @late, @min_confirmations, @now, @now)
       ON CONFLICT (chain, txid, idx, asset) DO NOTHING`,
    ),
    movePayment: db.prepare(
      `UPDATE payments SET block_number = ?, block_hash = ?, block_time = ?, status = ?, late = ?, updated_at = ?
       WHERE id = ?`,
    ),
    setPaymentStatus: db.prepare("UPDATE payments SET status = ?, updated_at = ? WHERE id = ?"),
    paymentsAbove: db.prepare<[string, number], PaymentRow>(
      "SELECT * FROM payments WHERE chain = ? AND block_number > ? AND status != 'reverted'",
    ),
    seenOnChain: db.prepare<[string], PaymentRow>(
      "SELECT * FROM payments WHERE chain = ? AND status = 'seen' AND block_number IS NOT NULL",
    ),
    mempoolOnChain: db.prepare<[string], PaymentRow>(
      "SELECT * FROM payments WHERE chain = ? AND status = 'seen' AND block_number IS NULL",
    ),
    upsertBlock: db.prepare(
      "INSERT OR REPLACE INTO chain_blocks (chain, number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?, ?)",
    ),
    deleteBlocksAbove: db.prepare("DELETE FROM chain_blocks WHERE chain = ? AND number > ?"),
    pruneBlocks: db.prepare("DELETE FROM chain_blocks WHERE chain = ? AND number <= ?"),
    recentBlocks: db.prepare<[string], { number: number; hash: string }>(
      "SELECT number, hash FROM chain_blocks WHERE chain = ? ORDER BY number",
    ),
    cursor: db.prepare<[string], { next_block: number; head: number; solid: number | null }>(
      "SELECT next_block, head, solid FROM chain_cursors WHERE chain = ?",
    ),
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
       WHERE status IN ('pending','processing','partially_paid') AND expires_at < @now
         AND (expires_at > @afterExp OR (expires_at = @afterExp AND id > @afterId))
       ORDER BY expires_at, id LIMIT ${EXPIRE_BATCH}`,
    ),
    dueToRelease: db.prepare<[number], { id: number; chain: string; address: string; order_id: string }>(
      `SELECT b.id, b.chain, b.address, b.order_id FROM bindings b JOIN orders o ON o.id = b.order_id
       WHERE b.released_at IS NULL AND o.late_until < ?
         AND o.status IN ('paid','overpaid','expired','paid_late','cancelled')
       LIMIT 500`,
    ),
    release: db.prepare("UPDATE bindings SET released_at = ? WHERE id = ?"),
    restAddress: db.prepare(
      "UPDATE pool_addresses SET bound = 0, rest_until = ? WHERE chain = ? AND address = ?",
    ),
    poolAddresses: db.prepare<[string, number], { id: number; address: string }>(
      "SELECT id, address FROM pool_addresses WHERE chain = ? AND id > ? ORDER BY id",
    ),
    unattributed: db.prepare<[number], PaymentRow>(
      "SELECT * FROM payments WHERE order_id IS NULL ORDER BY created_at DESC, id DESC LIMIT ?",
    ),
    assign: db.prepare(
      "UPDATE payments SET order_id = ?, unexpected_asset = ?, late = ?, updated_at = ? WHERE id = ?",
    ),
  };

  // An order's options never change after create: cache them (bounded) for the hot write paths.
  const optionCache = new Map<string, OptionRow[]>();
  function optionsOf(orderId: string): OptionRow[] {
    let o = optionCache.get(orderId);
    if (!o) {
      o = q.options.all(orderId);
      if (o.length === 0) return o; // not created yet, or rolled back: never cache
      if (optionCache.size >= 20_000) optionCache.clear();
      optionCache.set(orderId, o);
    }
    return o;
  }

  const chainOf = (id: string) => catalog.chain(id);
  const poolReuse = (chain: string): boolean => {
    const p = chainOf(chain)?.pool;
    return p?.source === "static" || (p?.source === "xpub" && p.reuse);
  };
  const cooldownMs = (chain: string): number => (chainOf(chain)?.pool.cooldown_minutes ?? 0) * 60_000;

  function requestHash(input: CreateOrderInput): string {
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

  function loadOrder(id: string): OrderRow {
    const row = q.orderById.get(id);
    if (!row) throw new ProblemError("not_found", `order ${id} not found`);
    return row;
  }

  function ownedOrder(merchant: string, id: string): OrderRow {
    const row = q.orderById.get(id);
    if (!row || row.merchant !== merchant) throw new ProblemError("not_found", `order ${id} not found`);
    return row;
  }

  /** Append one event to the outbox (inside the caller's transaction). */
  function appendEvent(
    type: EventType,
    orderId: string | null,
    payment: PaymentRow | null,
    now: number,
    order?: { json: string; url: string },
    seqGiven?: number,
    paymentJson?: string,
  ): void {
    const id = newId("evt", now);
    let seq: number | null = null;
    let url: string | null;
    let orderJson = "null";
    if (orderId) {
      seq = seqGiven ?? q.bumpSeq.get(1, orderId)!.event_seq;
      const rendered = order ?? renderOrder(orderId);
      orderJson = rendered.json;
      url = rendered.url;
    } else {
      url = cfg.notify.unattributed_url ?? null;
    }
    // compact JSON, assembled from pre-serialized parts: the exact bytes that are signed and sent
    const body =
      `{"id":${JSON.stringify(id)},"type":${JSON.stringify(type)},"seq":${seq === null ? "null" : seq},` +
      `"created_at":${JSON.stringify(iso(now))},"order":${orderJson},` +
      `"payment":${payment ? (paymentJson ?? JSON.stringify(views.payment(payment))) : "null"}}`;
    q.insertEvent.run(
      id,
      orderId,
      seq,
      type,
      payment?.id ?? null,
      url,
      body,
      url ? "pending" : "skipped",
      now,
      now,
    );
    eventsWritten++;
  }

  /** The order as callbacks carry it, serialized once for several events of the same moment. */
  function renderOrder(orderId: string): { json: string; url: string } {
    const row = loadOrder(orderId);
    return { json: JSON.stringify(views.order(row)), url: row.callback_url };
  }
  let eventsWritten = 0;

  /**
   * Run the state machine for one order and store its status; returns the order events it causes
   * and the order row as stored after it.
   */
  function reconcileRow(orderId: string, now: number): { events: OrderEventType[]; row: OrderRow } {
    const row = loadOrder(orderId);
    const options = optionsOf(orderId);
    const optionByAsset = new Map(options.map((o) => [o.asset, o]));
    const payments = q.paymentsOfOrder.all(orderId);
    const amount = parseUnits(row.amount);
    const input: ReconcilePayment[] = payments.map((p) => ({
      asset: p.asset,
      amount: parseUnits(p.amount),
      status: p.status,
      blockTime: p.block_time,
      unexpectedAsset: p.unexpected_asset === 1 || !optionByAsset.has(p.asset),
    }));
    const result = reconcileOrder(
      {
        status: row.status as OrderStatus,
        resolution: row.resolution === "accepted" ? "accepted" : null,
        expiresAt: row.expires_at,
        underTolerance: parseTolerance(row.underpaid_tolerance, amount, row.currency_decimals),
        overTolerance: parseTolerance(row.overpaid_tolerance, amount, row.currency_decimals),
        options: options.map((o) => ({ asset: o.asset, amountDue: parseUnits(o.amount_due) })),
      },
      input,
      now,
    );
    const paid = (amount * result.paidFraction.num) / result.paidFraction.den;
    if (result.status !== row.status || paid.toString() !== row.paid_amount) {
      q.updateStatus.run(result.status, paid.toString(), now, orderId);
    }
    if (result.status !== row.status) {
      common.logger.info({ order: orderId, from: row.status, to: result.status }, "order status changed");
    }
    return {
      events: result.events,
      row: { ...row, status: result.status, paid_amount: paid.toString(), updated_at: now },
    };
  }

  /** Recompute an order and append the events of its new status. */
  function recompute(orderId: string, now: number): void {
    for (const type of reconcileRow(orderId, now).events) appendEvent(type, orderId, null, now);
  }

  /**
   * A payment of an order changed (already written): recompute the order first, so every event
   * body shows the state after this change, then append the payment's events and the order's.
   */
  function paymentChanged(paymentId: string, orderId: string, types: PaymentEventType[], now: number): void {
    const { events: orderEvents, row } = reconcileRow(orderId, now);
    if (types.length === 0 && orderEvents.length === 0) return;
    const stored = q.paymentById.get(paymentId)!;
    // nothing in the order or the payment changes between these events: serialize them once
    const order = { json: JSON.stringify(views.order(row)), url: row.callback_url };
    const paymentJson = JSON.stringify(views.payment(stored));
    // one seq bump for all of them
    let seq =
      q.bumpSeq.get(types.length + orderEvents.length, orderId)!.event_seq -
      types.length -
      orderEvents.length;
    for (const type of types) appendEvent(type, orderId, stored, now, order, ++seq, paymentJson);
    for (const type of orderEvents) appendEvent(type, orderId, null, now, order, ++seq);
  }

  function isConfirmed(
    p: { asset: string; block_number: number | null; min_confirmations: number },
    heads: Heads,
  ): boolean {
    if (p.block_number === null) return false;
    const depth = heads.head - p.block_number + 1;
    if (depth < p.min_confirmations) return false; // e.g. an immature coinbase output
    const need = catalog.asset(p.asset)?.confirmations ?? 1;
    if (need === "solidified") return heads.solid !== undefined && p.block_number <= heads.solid;
    return depth >= need;
  }

  /** Insert a newly found transfer, attributed to the order bound to its address (if any). */
  function insertTransfer(chain: string, t: Transfer, now: number, heads: Heads | null): void {
    const live = q.liveBinding.get(chain, t.address);
    // A transfer mined well before the address was bound to its order was meant for someone else
    // (a watcher catching up after an outage reaches it only now): it stays unattributed.
    const binding =
      live && !(t.block && t.block.timestamp < live.bound_at - BINDING_CLOCK_GRACE_MS) ? live : undefined;
    const order = binding ? loadOrder(binding.order_id) : undefined;
    const offered = order ? optionsOf(order.id).some((o) => o.asset === t.asset) : false;
    const blockTime = t.block?.timestamp ?? null;
    // Found already deep enough (catch-up): stored confirmed, reported seen and confirmed at once.
    const minConfirmations = t.minConfirmations ?? 0;
    const confirmed =
      heads !== null &&
      isConfirmed(
        { asset: t.asset, block_number: t.block?.number ?? null, min_confirmations: minConfirmations },
        heads,
      );
    const row = {
      id: newId("pay", now),
      chain,
      txid: t.txid,
      idx: t.index,
      asset: t.asset,
      address: t.address,
      amount: t.amount.toString(),
      block_number: t.block?.number ?? null,
      block_hash: t.block?.hash ?? null,
      block_time: blockTime,
      order_id: order?.id ?? null,
      unexpected_asset: order && !offered ? 1 : 0,
      late: order && (blockTime ?? now) > order.expires_at ? 1 : 0,
      status: confirmed ? "confirmed" : "seen",
      min_confirmations: minConfirmations,
      now,
    };
    if (q.insertPayment.run(row).changes === 0) return;
    common.logger.info(
      { chain, txid: t.txid, index: t.index, asset: t.asset, amount: row.amount, order: row.order_id },
      "payment seen",
    );
    if (order) {
      paymentChanged(
        row.id,
        order.id,
        confirmed ? ["payment.seen", "payment.confirmed"] : ["payment.seen"],
        now,
      );
    } else {
      appendEvent("payment.unattributed", null, q.paymentById.get(row.id)!, now);
    }
  }

  function bindAddresses(orderId: string, chains: string[], now: number): Map<string, string> {
    const addresses = new Map<string, string>();
    for (const chain of chains) {
      const reuse = poolReuse(chain) ? 1 : 0;
      // an xpub pool used up between timer passes derives more now (inside this transaction)
      const candidate =
        q.freeAddress.get(chain, now, reuse) ??
        (hooks.topUpPool?.(chain, now) ? q.freeAddress.get(chain, now, reuse) : undefined);
      if (!candidate) throw new ProblemError("pool_exhausted", `no free deposit address on chain ${chain}`);
      q.bind.run(chain, candidate.address, orderId, now);
      q.markBound.run(candidate.id);
      addresses.set(chain, candidate.display);
    }
    return addresses;
  }

  const createTx = db.transaction((merchant: string, input: CreateOrderInput, now: number) => {
    const hash = requestHash(input);
    const existing = q.orderByMerchantId.get(merchant, input.merchant_order_id);
    if (existing) {
      if (existing.request_hash !== hash) {
        throw new ProblemError(
          "conflict",
          `merchant_order_id ${input.merchant_order_id} already exists with a different body`,
        );
      }
      return { order: views.order(existing), created: false };
    }
    const errors: { path: string; message: string }[] = [];
    const currencyDecimals = catalog.currencyDecimals(input.currency);
    if (currencyDecimals === undefined) {
      throw new ProblemError("validation", "unknown currency", [
        {
          path: "currency",
          message: `"${input.currency}" is neither an asset nor a currency with configured rates`,
        },
      ]);
    }
    let amount = 0n;
    try {
      amount = parseAmount(input.amount, currencyDecimals);
      if (amount <= 0n) errors.push({ path: "amount", message: "must be > 0" });
    } catch (e) {
      errors.push({ path: "amount", message: (e as Error).message });
    }
    // Without an `assets` list the order offers what can be priced now; a listed asset must be.
    const assetIds = input.assets ?? catalog.priceable(input.currency).map((a) => a.id);
    const unpriced: FieldProblem[] = [];
    if (assetIds.length === 0) {
      const waiting = catalog.configured(input.currency).filter((a) => catalog.isLive(input.currency, a.id));
      if (waiting.length) unpriced.push(...waiting.map((a) => noRate("assets", a.id, input.currency)));
      else errors.push({ path: "assets", message: `no enabled asset can be priced in ${input.currency}` });
    }
    const chosen: { id: string; chain: string; decimals: number; rate: PriceQuote }[] = [];
    assetIds.forEach((id, i) => {
      const asset = catalog.asset(id);
      if (!asset || !asset.enabled)
        return void errors.push({ path: `assets[${i}]`, message: `unknown or disabled asset "${id}"` });
      const rate = catalog.rate(input.currency, id);
      if (!rate && catalog.isLive(input.currency, id))
        return void unpriced.push(noRate(`assets[${i}]`, id, input.currency));
      if (!rate)
        return void errors.push({ path: `assets[${i}]`, message: `no rate for ${id} in ${input.currency}` });
      if (chosen.some((c) => c.id === id))
        return void errors.push({ path: `assets[${i}]`, message: `duplicate asset "${id}"` });
      chosen.push({ id, chain: asset.chain, decimals: asset.decimals, rate });
    });
    const under = input.underpaid_tolerance ?? cfg.orders.underpaid_tolerance;
    const over = input.overpaid_tolerance ?? cfg.orders.overpaid_tolerance;
    for (const [path, text] of [
      ["underpaid_tolerance", under],
      ["overpaid_tolerance", over],
    ] as const) {
      try {
        if (amount > 0n) parseTolerance(text, amount, currencyDecimals);
      } catch (e) {
        errors.push({ path, message: (e as Error).message });
      }
    }
    if (errors.length) throw new ProblemError("validation", "the order is not valid", errors);
    if (unpriced.length)
      throw new ProblemError(
        "rates_unavailable",
        `no fresh rate for ${unpriced.map((u) => u.message.split(" ")[0]).join(", ")}; try again shortly`,
        unpriced,
      );

    const id = newId("ord", now);
    const validMs = (input.valid_minutes ?? cfg.orders.valid_minutes) * 60_000;
    const expiresAt = now + validMs;
    q.insertOrder.run({
      id,
      merchant,
      merchant_order_id: input.merchant_order_id,
      amount: amount.toString(),
      currency: input.currency,
      currency_decimals: currencyDecimals,
      underpaid_tolerance: under,
      overpaid_tolerance: over,
      callback_url: input.callback_url,
      metadata: JSON.stringify(input.metadata ?? {}),
      request_hash: hash,
      now,
      expires_at: expiresAt,
      late_until: expiresAt + cfg.orders.late_window_minutes * 60_000,
    });
    const chains = [...new Set(chosen.map((c) => c.chain))];
    const addresses = bindAddresses(id, chains, now);
    for (const c of chosen) {
      const due = amountDue(amount, currencyDecimals, c.rate.ratio, c.decimals);
      q.insertOption.run(
        id,
        c.id,
        c.chain,
        addresses.get(c.chain)!,
        due.toString(),
        c.decimals,
        c.rate.text,
        JSON.stringify(c.rate.sources),
        c.rate.at ?? now,
      );
    }
    return { order: views.order(loadOrder(id)), created: true };
  });

  const createOrdersTx = (batch: { merchant: string; input: CreateOrderInput }[], now: number) =>
    db.transaction(() =>
      batch.map(({ merchant, input }) => {
        try {
          return { ok: true as const, ...createTx(merchant, input, now) };
        } catch (error) {
          // the savepoint of this create was rolled back; a broken database fails them all
          if (!(error instanceof ProblemError)) throw error;
          return { ok: false as const, error };
        }
      }),
    )();

  function eventsOf<T>(fn: () => T): { result: T; events: number } {
    const before = eventsWritten;
    const result = fn();
    return { result, events: eventsWritten - before };
  }

  const recordScanTx = db.transaction((w: ScanWrite, now: number) => {
    const key = (txid: string, index: number, asset: string) => `${txid}:${index}:${asset}`;
    const incoming = new Set(w.transfers.map((t) => key(t.txid, t.index, t.asset)));
    if (w.rollbackTo !== undefined) {
      q.deleteBlocksAbove.run(w.chain, w.rollbackTo);
      for (const p of q.paymentsAbove.all(w.chain, w.rollbackTo)) {
        if (incoming.has(key(p.txid, p.idx, p.asset))) continue; // found again in the new chain: moved below
        q.setPaymentStatus.run("reverted", now, p.id);
        common.logger.warn({ chain: w.chain, txid: p.txid, order: p.order_id }, "payment reverted by reorg");
        if (p.order_id) paymentChanged(p.id, p.order_id, ["payment.reverted"], now);
      }
    }
    for (const t of w.transfers) {
      const existing = q.paymentByKey.get(w.chain, t.txid, t.index, t.asset);
      if (!existing) {
        insertTransfer(w.chain, t, now, w.heads);
        continue;
      }
      if (t.block && (existing.block_hash !== t.block.hash || existing.status === "reverted")) {
        const order = existing.order_id ? loadOrder(existing.order_id) : undefined;
        const late = order && t.block.timestamp > order.expires_at ? 1 : 0;
        // moved to another block by a reorg, or back after being reverted: confirmations count from
        // the new block; a payment that stays confirmed is not reported again
        const confirmed = isConfirmed({ ...existing, block_number: t.block.number }, w.heads);
        const status = confirmed ? "confirmed" : "seen";
        q.movePayment.run(t.block.number, t.block.hash, t.block.timestamp, status, late, now, existing.id);
        if (existing.order_id) {
          const types: PaymentEventType[] =
            existing.status === "reverted"
              ? confirmed
                ? ["payment.seen", "payment.confirmed"]
                : ["payment.seen"]
              : existing.status === "seen" && confirmed
                ? ["payment.confirmed"]
                : [];
          paymentChanged(existing.id, existing.order_id, types, now);
        }
      }
    }
    const last = w.blocks.at(-1);
    if (last) {
      // only the newest keepBlocks hashes are ever compared: older ones of a long batch are not stored
      const keepFrom = last.number - w.keepBlocks + 1;
      for (const b of w.blocks) {
        if (b.number >= keepFrom) q.upsertBlock.run(w.chain, b.number, b.hash, b.parentHash, b.timestamp);
      }
      q.pruneBlocks.run(w.chain, last.number - w.keepBlocks);
    }
    const cur = q.cursor.get(w.chain);
    const next = last
      ? last.number + 1
      : w.rollbackTo !== undefined
        ? w.rollbackTo + 1
        : (cur?.next_block ?? 0);
    q.moveCursor.run(next, w.heads.head, w.heads.solid ?? null, now, w.chain);
    // Confirmations: every seen payment of this chain whose block is deep enough now.
    for (const p of q.seenOnChain.all(w.chain)) {
      if (p.block_number === null || p.block_number >= next) continue;
      if (!isConfirmed(p, w.heads)) continue;
      q.setPaymentStatus.run("confirmed", now, p.id);
      common.logger.info({ chain: w.chain, txid: p.txid, order: p.order_id }, "payment confirmed");
      if (p.order_id) paymentChanged(p.id, p.order_id, ["payment.confirmed"], now);
    }
  });

  const recordMempoolTx = db.transaction(
    (chain: string, transfers: Transfer[], now: number, settleMissing: boolean) => {
      const present = new Set(transfers.map((t) => `${t.txid}:${t.index}:${t.asset}`));
      for (const t of transfers) {
        if (!q.paymentByKey.get(chain, t.txid, t.index, t.asset))
          insertTransfer(chain, { ...t, block: null }, now, null);
      }
      // Left the mempool without being mined (replaced or dropped): never counted.
      for (const p of settleMissing ? q.mempoolOnChain.all(chain) : []) {
        if (present.has(`${p.txid}:${p.idx}:${p.asset}`)) continue;
        q.setPaymentStatus.run("reverted", now, p.id);
        common.logger.warn({ chain, txid: p.txid, order: p.order_id }, "payment left the mempool unmined");
        if (p.order_id) paymentChanged(p.id, p.order_id, ["payment.reverted"], now);
      }
    },
  );

  // Orders past expiry that stay open (an on-time payment still confirming) must not starve the
  // rest: each pass continues after the last order it looked at, and wraps around.
  let expireCursor = { afterExp: -1, afterId: "" };
  const tickTx = db.transaction((now: number) => {
    let expired = 0;
    const due = q.dueToExpire.all({ now, ...expireCursor });
    for (const { id } of due) {
      recompute(id, now);
      if (loadOrder(id).status === "expired") expired++;
    }
    const last = due.at(-1);
    expireCursor =
      due.length === EXPIRE_BATCH && last
        ? { afterExp: last.expires_at, afterId: last.id }
        : { afterExp: -1, afterId: "" };
    let released = 0;
    for (const b of q.dueToRelease.all(now)) {
      q.release.run(now, b.id);
      q.restAddress.run(now + cooldownMs(b.chain), b.chain, b.address);
      released++;
    }
    return { expired, released };
  });

  return {
    createOrder(merchant, input, now) {
      return createTx(merchant, input, now);
    },
    createOrders(batch, now) {
      return timed("create", () => createOrdersTx(batch, now));
    },
    getOrder(merchant, id) {
      const row = q.orderById.get(id);
      return row && row.merchant === merchant ? views.order(row) : undefined;
    },
    findOrder(merchant, merchantOrderId) {
      const row = q.orderByMerchantId.get(merchant, merchantOrderId);
      return row ? views.order(row) : undefined;
    },
    listOrders(merchant, query) {
      let after: { created: number; id: string } | undefined;
      if (query.cursor) {
        const [c, id] = Buffer.from(query.cursor, "base64url").toString().split(":");
        if (!c || !id || !/^\d+$/.test(c))
          throw new ProblemError("validation", "bad cursor", [
            { path: "cursor", message: "not a cursor from this API" },
          ]);
        after = { created: Number(c), id };
      }
      const where = ["merchant = @merchant"];
      if (query.status) where.push("status = @status");
      if (after) where.push("(created_at < @created OR (created_at = @created AND id < @id))");
      const rows = db
        .prepare<Record<string, unknown>, OrderRow>(
          `SELECT * FROM orders WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT @limit`,
        )
        .all({
          merchant,
          status: query.status,
          created: after?.created,
          id: after?.id,
          limit: query.limit + 1,
        });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        orders: page.map((r) => views.order(r)),
        next_cursor:
          rows.length > query.limit && last
            ? Buffer.from(`${last.created_at}:${last.id}`).toString("base64url")
            : null,
      };
    },
    cancelOrder(merchant, id, now) {
      return db.transaction(() => {
        const row = ownedOrder(merchant, id);
        if (row.status === "cancelled") return views.order(row);
        if (row.status === "paid" || row.status === "overpaid" || row.status === "paid_late") {
          throw new ProblemError("conflict", `order is ${row.status}; a paid order cannot be cancelled`);
        }
        q.setResolution.run(null, "cancelled", now, id);
        appendEvent("order.cancelled", id, null, now);
        common.logger.info({ order: id }, "order cancelled");
        return views.order(loadOrder(id));
      })();
    },
    acceptOrder(merchant, id, now) {
      return db.transaction(() => {
        const row = ownedOrder(merchant, id);
        const received = parseUnits(row.paid_amount) > 0n;
        if (!(row.status === "partially_paid" || (row.status === "expired" && received))) {
          throw new ProblemError(
            "conflict",
            `only a partially_paid order, or an expired one with money received, can be accepted (order is ${row.status})`,
          );
        }
        q.setResolution.run("accepted", "paid", now, id);
        appendEvent("order.paid", id, null, now);
        common.logger.info({ order: id }, "underpayment accepted");
        return views.order(loadOrder(id));
      })();
    },
    orderPayments(merchant, id) {
      const row = q.orderById.get(id);
      if (!row || row.merchant !== merchant) return undefined;
      return q.paymentsOfOrder.all(id).map((p) => views.payment(p));
    },
    ownsOrder(merchant, id) {
      return q.orderById.get(id)?.merchant === merchant;
    },
    unattributedPayments(limit) {
      return q.unattributed.all(limit).map((p) => views.payment(p));
    },
    assignPayment(merchant, paymentId, orderId, now) {
      return db.transaction(() => {
        const p = q.paymentById.get(paymentId);
        if (!p) throw new ProblemError("not_found", `payment ${paymentId} not found`);
        if (p.order_id) throw new ProblemError("conflict", `payment is already attributed to ${p.order_id}`);
        const order = ownedOrder(merchant, orderId);
        const offered = optionsOf(orderId).some((o) => o.asset === p.asset);
        const late = (p.block_time ?? now) > order.expires_at ? 1 : 0;
        q.assign.run(orderId, offered ? 0 : 1, late, now, paymentId);
        paymentChanged(
          paymentId,
          orderId,
          p.status === "confirmed" ? ["payment.confirmed"] : ["payment.seen"],
          now,
        );
        common.logger.info({ payment: paymentId, order: orderId }, "payment assigned by hand");
        return views.payment(q.paymentById.get(paymentId)!);
      })();
    },
    recordScan(w, now) {
      const { events } = timed("scan", () => eventsOf(() => recordScanTx(w, now)));
      return { payments: w.transfers.length, events };
    },
    recordMempool(chain, transfers, now, settleMissing) {
      return {
        events: timed("mempool", () => eventsOf(() => recordMempoolTx(chain, transfers, now, settleMissing)))
          .events,
      };
    },
    tick(now) {
      const { result, events } = timed("tick", () => eventsOf(() => tickTx(now)));
      return { ...result, events };
    },
    cursor: (chain) => q.cursor.get(chain),
    eventsWritten: () => eventsWritten,
    initCursor(chain, nextBlock, now) {
      q.initCursor.run(chain, nextBlock, Math.max(0, nextBlock - 1), now);
    },
    recentBlocks(chain) {
      return new Map(q.recentBlocks.all(chain).map((b) => [b.number, b.hash]));
    },
    watchedAddresses: (chain, afterId = 0) => q.poolAddresses.all(chain, afterId),
  };
}
