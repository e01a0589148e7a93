// Reading orders, and the merchant's cancel and accept: load the row → core decides → write.
import { parseUnits } from "../core/amount.js";
import type { OrderStatus } from "../core/reconcile.js";
import { type Resolution, decideAccept, decideCancel } from "../core/resolution.js";
import type { LedgerContext } from "./context.js";
import { ProblemError } from "../errors.js";
import type { OrderJson, OrderRow, PaymentJson } from "./view.js";

export interface ListQuery {
  status?: OrderStatus;
  limit: number;
  cursor?: string;
}

function parseCursor(cursor: string): { created: number; id: string } {
  const [c, id] = Buffer.from(cursor, "base64url").toString().split(":");
  if (!c || !id || !/^\d+$/.test(c))
    throw new ProblemError("validation", "bad cursor", [
      { path: "cursor", message: "not a cursor from this API" },
    ]);
  return { created: Number(c), id };
}

const cursorOf = (row: OrderRow) => Buffer.from(`${row.created_at}:${row.id}`).toString("base64url");

export function createOrderBook(ctx: LedgerContext) {
  const { db, s, views, outbox } = ctx;
  const log = ctx.common.logger;

  /** Store the merchant's decision on an order with its event, or refuse it. */
  function resolve(
    decide: (row: OrderRow) => Resolution,
    what: string,
  ): (merchant: string, id: string, now: number) => OrderJson {
    return (merchant, id, now) =>
      db.transaction(() => {
        const row = ctx.ownedOrder(merchant, id);
        const d = decide(row);
        if (d.kind === "unchanged") return views.order(row);
        if (d.kind === "refused") throw new ProblemError("conflict", d.detail);
        s.setResolution.run(d.resolution, d.status, now, id);
        outbox.append({ type: d.event, orderId: id, now });
        log.info({ order: id }, what);
        return views.order(ctx.loadOrder(id));
      })();
  }

  return {
    getOrder(merchant: string, id: string): OrderJson | undefined {
      const row = s.orderById.get(id);
      return row && row.merchant === merchant ? views.order(row) : undefined;
    },
    findOrder(merchant: string, merchantOrderId: string): OrderJson | undefined {
      const row = s.orderByMerchantId.get(merchant, merchantOrderId);
      return row ? views.order(row) : undefined;
    },
    listOrders(merchant: string, query: ListQuery): { orders: OrderJson[]; next_cursor: string | null } {
      const after = query.cursor ? parseCursor(query.cursor) : undefined;
      const rows = s.listOrders({ merchant, status: query.status, after, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        orders: page.map((r) => views.order(r)),
        next_cursor: rows.length > query.limit && last ? cursorOf(last) : null,
      };
    },
    cancelOrder: resolve((row) => decideCancel(row.status as OrderStatus), "order cancelled"),
    acceptOrder: resolve(
      (row) => decideAccept(row.status as OrderStatus, parseUnits(row.paid_amount)),
      "underpayment accepted",
    ),
    orderPayments(merchant: string, id: string): PaymentJson[] | undefined {
      const row = s.orderById.get(id);
      if (!row || row.merchant !== merchant) return undefined;
      return s.paymentsOfOrder.all(id).map((p) => views.payment(p));
    },
    ownsOrder: (merchant: string, id: string): boolean => s.orderById.get(id)?.merchant === merchant,
    unattributedPayments: (limit: number): PaymentJson[] =>
      s.unattributed.all(limit).map((p) => views.payment(p)),
  };
}
