// Reading orders, and the merchant's cancel and accept: load the row → core decides → write.
import { parseUnits } from "../core/amount.js";
import type { OrderStatus } from "../core/reconcile.js";
import { type Resolution, decideAccept, decideCancel } from "../core/resolution.js";
import type { LedgerContext } from "./context.js";
import { ProblemError } from "../errors.js";
import { type PageQuery, cursorKey, paged } from "./page.js";
import type { OrderJson, OrderRow, PaymentJson } from "./view.js";

export interface ListQuery extends PageQuery {
  status?: OrderStatus;
}

/** An order page's key: newest first by (created_at, id). */
const ORDER_KEY = ["number", "string"] as const;
/** A payment page's key: (created_at, id), oldest first in an order, newest first unattributed. */
const PAYMENT_KEY = ["number", "string"] as const;
const keyOf = (row: { created_at: number; id: string }) => [row.created_at, row.id];

export function createOrderBook(ctx: LedgerContext) {
  const { db, s, views, outbox } = ctx;
  const log = ctx.common.logger;

  /** Store the merchant's decision on an order with its event, or refuse it. */
  function resolve(
    decide: (row: OrderRow) => Resolution,
    what: string,
  ): (owner: string | null, id: string, now: number) => OrderJson {
    return (owner, id, now) =>
      db.transaction(() => {
        const row = ctx.ownedOrder(owner, id);
        const d = decide(row);
        if (d.kind === "unchanged") return views.order(row);
        if (d.kind === "refused") throw new ProblemError("conflict", d.detail);
        s.setResolution.run({ resolution: d.resolution, status: d.status, now, id });
        outbox.append({ type: d.event, orderId: id, now });
        log.info({ order: id }, what);
        return views.order(ctx.loadOrder(id));
      })();
  }

  return {
    getOrder(owner: string | null, id: string): OrderJson | undefined {
      const row = s.orderById.get(id);
      return row && (owner === null || row.merchant === owner) ? views.order(row) : undefined;
    },
    findOrder(merchant: string, merchantOrderId: string): OrderJson | undefined {
      const row = s.orderByMerchantId.get(merchant, merchantOrderId);
      return row ? views.order(row) : undefined;
    },
    listOrders(owner: string | null, query: ListQuery): { orders: OrderJson[]; next_cursor: string | null } {
      const key = cursorKey(query.cursor, ORDER_KEY);
      const after = key && { created: key[0] as number, id: key[1] as string };
      const rows = s.listOrders({ merchant: owner, status: query.status, after, limit: query.limit + 1 });
      const { items, next_cursor } = paged(rows, query.limit, keyOf, (r) => views.order(r));
      return { orders: items, next_cursor };
    },
    cancelOrder: resolve((row) => decideCancel(row.status as OrderStatus), "order cancelled"),
    acceptOrder: resolve(
      (row) => decideAccept(row.status as OrderStatus, parseUnits(row.paid_amount)),
      "underpayment accepted",
    ),
    orderPayments(owner: string | null, id: string): PaymentJson[] | undefined {
      const row = s.orderById.get(id);
      if (!row || (owner !== null && row.merchant !== owner)) return undefined;
      return s.paymentsOfOrder.all(id).map((p) => views.payment(p));
    },
    /** a page of an order's payments, oldest first; undefined when the order is not the owner's */
    orderPaymentsPage(
      owner: string | null,
      id: string,
      page: PageQuery,
    ): { payments: PaymentJson[]; next_cursor: string | null } | undefined {
      const key = cursorKey(page.cursor, PAYMENT_KEY);
      const row = s.orderById.get(id);
      if (!row || (owner !== null && row.merchant !== owner)) return undefined;
      const [created, pid] = key ?? [-1, ""];
      const rows = s.paymentsOfOrderPage.all(id, created as number, pid as string, page.limit + 1);
      const { items, next_cursor } = paged(rows, page.limit, keyOf, (p) => views.payment(p));
      return { payments: items, next_cursor };
    },
    ownsOrder: (owner: string | null, id: string): boolean => {
      const row = s.orderById.get(id);
      return row !== undefined && (owner === null || row.merchant === owner);
    },
    /** unattributed payments, newest first (what an operator sees) */
    unattributedPayments(page: PageQuery): { payments: PaymentJson[]; next_cursor: string | null } {
      const key = cursorKey(page.cursor, PAYMENT_KEY);
      const [created, pid] = key ?? [Number.MAX_SAFE_INTEGER, "~"];
      const rows = s.unattributed.all(created as number, pid as string, page.limit + 1);
      const { items, next_cursor } = paged(rows, page.limit, keyOf, (p) => views.payment(p));
      return { payments: items, next_cursor };
    },
  };
}
