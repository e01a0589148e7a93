// The outbox: events appended inside the caller's transaction, delivered later by src/notify/.
import type { OrderEventType } from "../core/reconcile.js";
import type { PaymentEventType } from "../core/payment.js";
import { newId } from "../ids.js";
import { iso } from "../time.js";
import type { Statements } from "./statements.js";
import type { OrderRow, PaymentRow, Views } from "./view.js";

export type EventType = OrderEventType | PaymentEventType;

/** An order serialized once for several events of the same moment, with its callback URL. */
export interface RenderedOrder {
  json: string;
  url: string;
}

export interface NewEvent {
  type: EventType;
  /** null: an unattributed payment, sent to notify.unattributed_url */
  orderId: string | null;
  payment?: PaymentRow | null;
  now: number;
  /** the order as rendered for this moment (rendered from its row when absent) */
  order?: RenderedOrder;
  /** its seq, when the caller bumped the order's seq for several events at once */
  seq?: number;
  /** the payment, pre-serialized */
  paymentJson?: string;
}

export interface Outbox {
  append(e: NewEvent): void;
  render(row: OrderRow): RenderedOrder;
  /** events appended so far */
  written(): number;
  /** the orders events were appended for since the last call (the commit hook's list) */
  takeChanged(): string[];
}

export function createOutbox(
  s: Statements,
  views: Views,
  loadOrder: (id: string) => OrderRow,
  unattributedUrl: string | undefined,
): Outbox {
  let written = 0;
  const changed = new Set<string>();
  const render = (row: OrderRow): RenderedOrder => ({
    json: JSON.stringify(views.order(row)),
    url: row.callback_url,
  });
  return {
    render,
    written: () => written,
    takeChanged() {
      const orders = [...changed];
      changed.clear();
      return orders;
    },
    append(e) {
      const id = newId("evt", e.now);
      let seq: number | null = null;
      let url: string | null;
      let orderJson = "null";
      if (e.orderId) {
        changed.add(e.orderId);
        seq = e.seq ?? s.bumpSeq.get(1, e.orderId)!.event_seq;
        const rendered = e.order ?? render(loadOrder(e.orderId));
        orderJson = rendered.json;
        url = rendered.url;
      } else {
        url = unattributedUrl ?? null;
      }
      const p = e.payment ?? null;
      // compact JSON, assembled from pre-serialized parts: the exact bytes that are signed and sent
      const body =
        `{"id":${JSON.stringify(id)},"type":${JSON.stringify(e.type)},"seq":${seq === null ? "null" : seq},` +
        `"created_at":${JSON.stringify(iso(e.now))},"order":${orderJson},` +
        `"payment":${p ? (e.paymentJson ?? JSON.stringify(views.payment(p))) : "null"}}`;
      s.insertEvent.run(
        id,
        e.orderId,
        seq,
        e.type,
        p?.id ?? null,
        url,
        body,
        url ? "pending" : "skipped",
        e.now,
        e.now,
      );
      written++;
    },
  };
}
