// After a payment changed: load the order and its payments, let core's reconcileOrder decide its
// status and events, then store the status and append the events (inside the caller's transaction).
import { deadlineClock } from "../core/deadline.js";
import { parseUnits, ratio } from "../core/amount.js";
import type { PaymentEventType } from "../core/payment.js";
import {
  type OrderEventType,
  type OrderStatus,
  type ReconcileOrder,
  type ReconcilePayment,
  parseTolerance,
  reconcileOrder,
} from "../core/reconcile.js";
import type { LedgerContext } from "./context.js";
import type { OptionRow, OrderRow, PaymentRow } from "./view.js";

export interface Settlement {
  /** recompute an order and append the events of its new status */
  recompute(orderId: string, now: number): OrderRow;
  /**
   * A payment of an order changed (already written): recompute the order first, so every event
   * body shows the state after this change, then append the payment's events and the order's.
   */
  paymentChanged(
    paymentId: string,
    orderId: string,
    types: readonly PaymentEventType[],
    now: number,
    /** both rows as they stand now in this transaction, when the caller has just read or written them */
    current?: { payment: PaymentRow; order: OrderRow },
  ): void;
}

/** The rows of an order as reconcileOrder reads them. */
export function reconcileInput(
  row: OrderRow,
  options: readonly OptionRow[],
  payments: readonly PaymentRow[],
): { order: ReconcileOrder; payments: ReconcilePayment[] } {
  const offered = new Set(options.map((o) => o.asset));
  const amount = parseUnits(row.amount);
  return {
    order: {
      status: row.status as OrderStatus,
      resolution: row.resolution === "accepted" ? "accepted" : null,
      accepted: ratio(parseUnits(row.accepted_paid ?? row.paid_amount), amount),
      expiresAt: row.expires_at,
      underTolerance: parseTolerance(row.underpaid_tolerance, amount, row.currency_decimals),
      overTolerance: parseTolerance(row.overpaid_tolerance, amount, row.currency_decimals),
      options: options.map((o) => ({ asset: o.asset, amountDue: parseUnits(o.amount_due) })),
    },
    payments: payments.map((p) => ({
      asset: p.asset,
      amount: parseUnits(p.amount),
      status: p.status,
      blockTime: p.block_time,
      unexpectedAsset: p.unexpected_asset === 1 || !offered.has(p.asset),
    })),
  };
}

export function createSettlement(ctx: LedgerContext): Settlement {
  const { s, outbox, views, common } = ctx;

  /** The time this order's deadlines are judged by: the wall clock, held back by its chains' scans. */
  function clockOf(options: readonly { chain: string }[], now: number): number {
    const scanned = ctx.hooks.scannedTime;
    return scanned ? deadlineClock(now, [...new Set(options.map((o) => o.chain))].map(scanned)) : now;
  }

  /** Run the state machine for one order and store its status; returns its events and the row as stored. */
  function reconcileRow(
    orderId: string,
    now: number,
    current?: OrderRow,
  ): { events: OrderEventType[]; row: OrderRow } {
    const row = current ?? ctx.loadOrder(orderId);
    const options = ctx.optionsOf(orderId);
    const input = reconcileInput(row, options, s.paymentsOfOrder.all(orderId));
    const result = reconcileOrder(input.order, input.payments, clockOf(options, now));
    const amount = parseUnits(row.amount);
    const paid = ((amount * result.paidFraction.num) / result.paidFraction.den).toString();
    if (result.status !== row.status || paid !== row.paid_amount) {
      s.updateStatus.run(result.status, paid, now, orderId);
    }
    const resolution = row.resolution === "accepted" ? result.resolution : row.resolution;
    if (resolution !== row.resolution) {
      s.dropAccept.run(now, orderId);
      common.logger.warn({ order: orderId }, "accepted order unsettled: a reorg took the money it accepted");
    }
    if (result.status !== row.status) {
      common.logger.info({ order: orderId, from: row.status, to: result.status }, "order status changed");
    }
    return {
      events: result.events,
      row: {
        ...row,
        status: result.status,
        paid_amount: paid,
        updated_at: now,
        resolution,
        accepted_paid: resolution === row.resolution ? row.accepted_paid : null,
      },
    };
  }

  return {
    recompute(orderId, now) {
      const { events, row } = reconcileRow(orderId, now);
      for (const type of events) outbox.append({ type, orderId, now });
      return row;
    },
    paymentChanged(paymentId, orderId, types, now, current) {
      const { events: orderEvents, row } = reconcileRow(orderId, now, current?.order);
      const count = types.length + orderEvents.length;
      if (count === 0) return;
      const payment = current?.payment ?? s.paymentById.get(paymentId)!;
      // nothing in the order or the payment changes between these events: serialize them once
      const order = outbox.render(row);
      const paymentJson = JSON.stringify(views.payment(payment));
      // one seq bump for all of them
      let seq = s.bumpSeq.get(count, orderId)!.event_seq - count;
      for (const type of types)
        outbox.append({ type, orderId, payment, now, order, seq: ++seq, paymentJson });
      for (const type of orderEvents) outbox.append({ type, orderId, now, order, seq: ++seq });
    },
  };
}
