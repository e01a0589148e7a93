// Chain facts into the ledger: scanned batches, the mempool, and payments assigned by hand. Each
// loads the payment and binding rows, lets core decide (attribution, confirmations, events), and
// writes payments, blocks, the cursor, orders and outbox events in the caller's one transaction.
import {
  type ChainHeads,
  assignedPayment,
  belongsToBinding,
  isConfirmed,
  isLate,
  movedPayment,
  newPayment,
  type PaymentEventType,
} from "../core/payment.js";
import { depositEvents, newDeposit } from "../core/account.js";
import type { BlockRef, Heads, Transfer } from "../chains/types.js";
import { watcherRole } from "../db/lease.js";
import { newId } from "../ids.js";
import type { LedgerContext } from "./context.js";
import { ProblemError } from "../errors.js";
import type { Accounts } from "./accounts.js";
import type { Settlement } from "./settle.js";
import type { PaymentJson, PaymentRow } from "./view.js";

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

const keyOf = (txid: string, index: number, asset: string) => `${txid}:${index}:${asset}`;

export function createPaymentWrites(ctx: LedgerContext, settle: Settlement, accounts: Accounts) {
  const { db, s, catalog, outbox } = ctx;
  const log = ctx.common.logger;

  const confirmedAt = (
    asset: string,
    blockNumber: number | null,
    minConfirmations: number,
    heads: ChainHeads,
  ) => isConfirmed(blockNumber, minConfirmations, catalog.asset(asset)?.confirmations ?? 1, heads);

  /** Store a newly found transfer, attributed to the order bound to its address (if any). */
  function insertTransfer(chain: string, t: Transfer, now: number, heads: ChainHeads | null): void {
    const blockTime = t.block?.timestamp ?? null;
    const live = s.liveBinding.get(chain, t.address);
    // the same rule routes a transfer to a live order binding or a live account binding
    const bound = live && belongsToBinding(live.bound_at, blockTime) ? live : undefined;
    const order = bound?.order_id ? ctx.loadOrder(bound.order_id) : undefined;
    const accountId = bound?.account_id ?? null;
    const minConfirmations = t.minConfirmations ?? 0;
    const confirmed =
      heads !== null && confirmedAt(t.asset, t.block?.number ?? null, minConfirmations, heads);
    const assets = order ? ctx.optionsOf(order.id).map((o) => o.asset) : [];
    // every asset of an account counts; it has no expiry, so nothing is late
    const deposit = accountId ? newDeposit(confirmed) : undefined;
    const found = deposit
      ? { status: deposit.status, late: false, unexpectedAsset: false, events: [] as PaymentEventType[] }
      : newPayment(
          { asset: t.asset, blockTime, confirmed },
          order && { expiresAt: order.expires_at, assets },
          now,
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
      account_id: accountId,
      unexpected_asset: found.unexpectedAsset ? 1 : 0,
      late: found.late ? 1 : 0,
      status: found.status,
      min_confirmations: minConfirmations,
      via: t.via ?? null,
      now,
    };
    const stored = s.insertPayment.get(row);
    if (!stored) return;
    log.info(
      {
        chain,
        txid: t.txid,
        index: t.index,
        asset: t.asset,
        amount: row.amount,
        order: row.order_id,
        account: accountId,
      },
      "payment seen",
    );
    if (accountId && deposit) accounts.depositChanged(row.id, accountId, deposit.events, now);
    // the rows as they stand in this transaction: the order is untouched by the insert
    else if (order) settle.paymentChanged(row.id, order.id, found.events, now, { payment: stored, order });
    else for (const type of found.events) outbox.append({ type, orderId: null, payment: stored, now });
  }

  /** A payment's change reported to its order or its deposit account (events in payment terms). */
  function changed(p: PaymentRow, types: readonly PaymentEventType[], now: number): void {
    if (p.order_id) settle.paymentChanged(p.id, p.order_id, types, now);
    else if (p.account_id) accounts.depositChanged(p.id, p.account_id, depositEvents(types), now);
  }

  function revert(p: PaymentRow, now: number, why: string): void {
    s.setPaymentStatus.run("reverted", now, p.id);
    log.warn({ chain: p.chain, txid: p.txid, order: p.order_id, account: p.account_id }, why);
    changed(p, ["payment.reverted"], now);
  }

  /** A reorg: forget the blocks above `to`; payments there are reverted unless this batch finds them again. */
  function rollBack(w: ScanWrite, to: number, now: number): void {
    const incoming = new Set(w.transfers.map((t) => keyOf(t.txid, t.index, t.asset)));
    s.deleteBlocksAbove.run(w.chain, to);
    for (const p of s.paymentsAbove.all(w.chain, to)) {
      if (incoming.has(keyOf(p.txid, p.idx, p.asset))) continue; // found again in the new chain: moved below
      revert(p, now, "payment reverted by reorg");
    }
  }

  /** A stored payment found in another block, or again after it was reverted. */
  function move(
    existing: PaymentRow,
    block: NonNullable<Transfer["block"]>,
    heads: Heads,
    now: number,
  ): void {
    const order = existing.order_id ? ctx.loadOrder(existing.order_id) : undefined;
    const late = order && isLate(block.timestamp, order.expires_at, now) ? 1 : 0;
    const confirmed = confirmedAt(existing.asset, block.number, existing.min_confirmations, heads);
    const moved = movedPayment(existing.status, confirmed);
    s.movePayment.run(block.number, block.hash, block.timestamp, moved.status, late, now, existing.id);
    changed(existing, moved.events, now);
  }

  /** Keep the newest keepBlocks hashes (only those are ever compared) and move the cursor; returns the next block. */
  function advance(w: ScanWrite, now: number): number {
    const last = w.blocks.at(-1);
    if (last) {
      const keepFrom = last.number - w.keepBlocks + 1;
      for (const b of w.blocks) {
        if (b.number >= keepFrom) s.upsertBlock.run(w.chain, b.number, b.hash, b.parentHash, b.timestamp);
      }
      s.pruneBlocks.run(w.chain, last.number - w.keepBlocks);
    }
    const next = last
      ? last.number + 1
      : w.rollbackTo !== undefined
        ? w.rollbackTo + 1
        : (s.cursor.get(w.chain)?.next_block ?? 0);
    s.moveCursor.run(next, w.heads.head, w.heads.solid ?? null, now, w.chain);
    return next;
  }

  /** Every seen payment of this chain below the cursor whose block is deep enough now. */
  function confirmDeepEnough(chain: string, heads: Heads, next: number, now: number): void {
    for (const p of s.seenOnChain.all(chain)) {
      if (p.block_number === null || p.block_number >= next) continue;
      if (!confirmedAt(p.asset, p.block_number, p.min_confirmations, heads)) continue;
      s.setPaymentStatus.run("confirmed", now, p.id);
      log.info({ chain, txid: p.txid, order: p.order_id, account: p.account_id }, "payment confirmed");
      changed(p, ["payment.confirmed"], now);
    }
  }

  const fence = (chain: string) => ctx.hooks.fence?.(watcherRole(chain));
  const recordScan = db.transaction((w: ScanWrite, now: number) => {
    fence(w.chain);
    if (w.rollbackTo !== undefined) rollBack(w, w.rollbackTo, now);
    for (const t of w.transfers) {
      const existing = s.paymentByKey.get(w.chain, t.txid, t.index, t.asset);
      if (!existing) insertTransfer(w.chain, t, now, w.heads);
      else if (t.block && (existing.block_hash !== t.block.hash || existing.status === "reverted"))
        move(existing, t.block, w.heads, now);
    }
    confirmDeepEnough(w.chain, w.heads, advance(w, now), now);
  });

  const recordMempool = db.transaction(
    (chain: string, transfers: Transfer[], now: number, settleMissing: boolean) => {
      fence(chain);
      const present = new Set(transfers.map((t) => keyOf(t.txid, t.index, t.asset)));
      for (const t of transfers) {
        if (!s.paymentByKey.get(chain, t.txid, t.index, t.asset))
          insertTransfer(chain, { ...t, block: null }, now, null);
      }
      // Left the mempool without being mined (replaced or dropped): never counted.
      for (const p of settleMissing ? s.mempoolOnChain.all(chain) : []) {
        if (!present.has(keyOf(p.txid, p.idx, p.asset))) revert(p, now, "payment left the mempool unmined");
      }
    },
  );

  /** depositd audit --repair: transfers a rescan found and the ledger lacks (or holds reverted), written
   *  the way a scan writes them, events and all; the cursor and block hashes stay. Returns how many. */
  const recordRepair = db.transaction((chain: string, transfers: Transfer[], heads: Heads, now: number) => {
    let n = 0;
    for (const t of transfers) {
      const existing = s.paymentByKey.get(chain, t.txid, t.index, t.asset);
      if (!existing) insertTransfer(chain, t, now, heads);
      else if (t.block && existing.status === "reverted") move(existing, t.block, heads, now);
      else continue;
      n++;
    }
    return n;
  });

  return { recordScan, recordMempool, recordRepair };
}

/** An unattributed payment assigned to an order by the operator. */
export function createAssignment(ctx: LedgerContext, settle: Settlement) {
  const { db, s, views } = ctx;
  const log = ctx.common.logger;
  return (owner: string | null, paymentId: string, orderId: string, now: number): PaymentJson =>
    db.transaction(() => {
      const p = s.paymentById.get(paymentId);
      if (!p) throw new ProblemError("not_found", `payment ${paymentId} not found`);
      if (p.order_id) throw new ProblemError("conflict", `payment is already attributed to ${p.order_id}`);
      if (p.account_id) throw new ProblemError("conflict", `payment is a deposit of account ${p.account_id}`);
      const order = ctx.ownedOrder(owner, orderId);
      const assets = ctx.optionsOf(orderId).map((o) => o.asset);
      const a = assignedPayment(
        { asset: p.asset, status: p.status, blockTime: p.block_time },
        { expiresAt: order.expires_at, assets },
        now,
      );
      if ("refused" in a) throw new ProblemError("conflict", a.refused);
      s.assign.run(orderId, a.unexpectedAsset ? 1 : 0, a.late ? 1 : 0, now, paymentId);
      settle.paymentChanged(paymentId, orderId, a.events, now);
      log.info({ payment: paymentId, order: orderId }, "payment assigned by hand");
      return views.payment(s.paymentById.get(paymentId)!);
    })();
}
