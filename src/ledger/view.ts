// How orders, payments and events look in the API and in callback bodies.
import { formatAmount, parseUnits } from "../core/amount.js";
import { iso } from "../time.js";
import type { OrderJson, PaymentJson } from "../api/schemas.js";
import type { FoundVia } from "../chains/types.js";

export type { OrderJson, PaymentJson };
import type { Statements } from "./statements.js";

export interface OrderRow {
  id: string;
  merchant: string;
  merchant_order_id: string;
  status: string;
  resolution: string | null;
  /** paid_amount when accepted by hand (migration 0006) */
  accepted_paid: string | null;
  amount: string;
  currency: string;
  currency_decimals: number;
  underpaid_tolerance: string;
  overpaid_tolerance: string;
  paid_amount: string;
  callback_url: string;
  metadata: string;
  request_hash: string;
  event_seq: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
  late_until: number;
  /** set at create; migration 0004 gave older orders one (the column is nullable only because ALTER TABLE must) */
  checkout_token: string;
  return_url: string | null;
}

export interface OptionRow {
  order_id: string;
  asset: string;
  chain: string;
  address: string;
  amount_due: string;
  decimals: number;
  rate: string;
  rate_sources: string;
  rate_at: number;
}

export interface PaymentRow {
  id: string;
  chain: string;
  txid: string;
  idx: number;
  asset: string;
  address: string;
  amount: string;
  block_number: number | null;
  block_hash: string | null;
  block_time: number | null;
  status: "seen" | "confirmed" | "reverted";
  order_id: string | null;
  /** the deposit account it was paid into (then order_id is null) */
  account_id: string | null;
  unexpected_asset: number;
  late: number;
  min_confirmations: number;
  /** null: stored before migration 0009 (inferred, see paymentVia) */
  via: FoundVia | null;
  created_at: number;
  updated_at: number;
}

export interface Views {
  order(row: OrderRow): OrderJson;
  payment(row: PaymentRow): PaymentJson;
}

/** `decimalsOf(asset)` is for payments in assets no option of the order names. */
export function createViews(
  s: Pick<Statements, "paymentSums" | "chainHead">,
  decimalsOf: (asset: string) => number,
  optionsOf: (orderId: string) => OptionRow[],
  checkoutUrl: (token: string) => string,
  viaOf: (row: PaymentRow) => FoundVia = () => "transaction",
): Views {
  return {
    order(row) {
      const paid = new Map<string, bigint>();
      const pending = new Map<string, bigint>();
      for (const p of s.paymentSums.all(row.id)) {
        const m = p.status === "confirmed" ? paid : pending;
        m.set(p.asset, (m.get(p.asset) ?? 0n) + parseUnits(p.total));
      }
      return {
        id: row.id,
        merchant_order_id: row.merchant_order_id,
        status: row.status as OrderJson["status"],
        ...(row.resolution ? { resolution: row.resolution as "accepted" } : {}),
        amount: formatAmount(parseUnits(row.amount), row.currency_decimals),
        currency: row.currency,
        paid_amount: formatAmount(parseUnits(row.paid_amount), row.currency_decimals),
        underpaid_tolerance: row.underpaid_tolerance,
        overpaid_tolerance: row.overpaid_tolerance,
        created_at: iso(row.created_at),
        expires_at: iso(row.expires_at),
        late_until: iso(row.late_until),
        callback_url: row.callback_url,
        checkout_url: checkoutUrl(row.checkout_token),
        ...(row.return_url ? { return_url: row.return_url } : {}),
        metadata: JSON.parse(row.metadata) as Record<string, unknown>,
        options: optionsOf(row.id).map((o) => ({
          asset: o.asset,
          chain: o.chain,
          address: o.address,
          amount_due: formatAmount(parseUnits(o.amount_due), o.decimals),
          rate: o.rate,
          rate_sources: JSON.parse(o.rate_sources) as { source: string; price: string }[],
          rate_at: iso(o.rate_at),
          paid: formatAmount(paid.get(o.asset) ?? 0n, o.decimals),
          pending: formatAmount(pending.get(o.asset) ?? 0n, o.decimals),
        })),
      };
    },
    payment(row) {
      const head = s.chainHead.get(row.chain)?.head ?? 0;
      const confirmations =
        row.status === "reverted" || row.block_number === null ? 0 : Math.max(0, head - row.block_number + 1);
      return {
        id: row.id,
        order_id: row.order_id,
        chain: row.chain,
        asset: row.asset,
        address: row.address,
        txid: row.txid,
        index: row.idx,
        via: row.via ?? viaOf(row),
        amount: formatAmount(parseUnits(row.amount), decimalsOf(row.asset)),
        block_number: row.block_number,
        block_hash: row.block_hash,
        block_time: row.block_time === null ? null : iso(row.block_time),
        confirmations,
        status: row.status,
        late: row.late === 1,
        unexpected_asset: row.unexpected_asset === 1,
        created_at: iso(row.created_at),
      };
    },
  };
}
