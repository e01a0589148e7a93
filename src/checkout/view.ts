// What the checkout page shows, as data (the JSON twin is exactly this): a pure function of the
// loaded rows, the chain heads and the clock.
import { formatAmount, parseUnits } from "../core/amount.js";
import type { AssetConfig, ChainConfig, Config } from "../config/schema.js";
import type { CheckoutData } from "./store.js";
import { evmTransaction, networkName, optionLabel, paymentUri, tokenStandard } from "./uri.js";

export interface CheckoutOption {
  asset: string;
  symbol: string;
  network: string;
  standard: string | null;
  label: string;
  /** what is still to send in this asset (all of it, or the rest after a partial payment) */
  amount_due: string;
  /** the whole order in this asset */
  amount_total: string;
  /** received in this asset so far, confirmed or not */
  received: string;
  address: string;
  /** the QR code's exact content */
  qr: string;
  /** the slowest unconfirmed payment in this asset; need "final" = Tron's solidified block */
  confirmations: { have: number; need: number | "final" } | null;
  /** EIP-1193 request for a browser wallet (EVM options) */
  wallet: { chainId: string; to: string; value?: string; data?: string } | null;
}

export interface CheckoutState {
  shop: { name: string; logo_url: string | null };
  order: {
    merchant_order_id: string;
    status: string;
    amount: string;
    currency: string;
    paid_amount: string;
    expires_at: string;
    seconds_left: number;
    return_url: string | null;
    metadata: Record<string, string>;
  };
  /** the option shown (the picker's choice) */
  selected: string;
  options: CheckoutOption[];
  /** nothing more will change for the customer: no refresh, no stream */
  done: boolean;
}

export interface ViewContext {
  checkout: Config["checkout"];
  chain(id: string): ChainConfig | undefined;
  asset(id: string): AssetConfig | undefined;
  heads: Map<string, { head: number; solid: number | null }>;
  now: number;
  logoUrl: string | null;
}

export const DONE = new Set(["paid", "overpaid", "paid_late", "cancelled"]);

export function checkoutState(data: CheckoutData, ctx: ViewContext, choice?: string): CheckoutState {
  const { order, options, payments } = data;
  const dueOf = new Map(options.map((o) => [o.asset, parseUnits(o.amount_due)]));
  // received (confirmed or seen) as a fraction of the order: num/den summed exactly
  let num = 0n;
  let den = 1n;
  const received = new Map<string, bigint>();
  for (const p of payments) {
    const due = dueOf.get(p.asset);
    if (p.unexpected_asset || due === undefined || due <= 0n) continue;
    const units = parseUnits(p.amount);
    received.set(p.asset, (received.get(p.asset) ?? 0n) + units);
    num = num * due + units * den;
    den = den * due;
  }
  const rest = (due: bigint): bigint => {
    if (num >= den) return 0n;
    const n = due * (den - num);
    return (n + den - 1n) / den; // round up: the rest must complete the order
  };

  const opts: CheckoutOption[] = options.map((o) => {
    const chain = ctx.chain(o.chain);
    const asset = ctx.asset(o.asset);
    const kind = chain?.kind ?? "evm";
    const contract = asset?.contract;
    const chainId = chain?.kind === "evm" ? chain.chain_id : undefined;
    const network = networkName(
      { kind, chain_id: chainId, network: chain?.kind === "bitcoin" ? chain.network : undefined },
      ctx.checkout.network_labels[o.chain],
    );
    const standard = tokenStandard({ kind, chain_id: chainId }, contract !== undefined);
    const symbol = ctx.checkout.asset_labels[o.asset] ?? o.asset.split("-")[0] ?? o.asset;
    const due = parseUnits(o.amount_due);
    const remaining = rest(due);
    const target = { kind, chainId, contract, address: o.address, units: remaining, decimals: o.decimals };
    const head = ctx.heads.get(o.chain);
    let confirmations: CheckoutOption["confirmations"] = null;
    for (const p of payments) {
      if (p.asset !== o.asset || p.status !== "seen" || p.unexpected_asset) continue;
      const have = p.block_number === null || !head ? 0 : Math.max(0, head.head - p.block_number + 1);
      const need = asset?.confirmations === "solidified" ? "final" : (asset?.confirmations ?? 1);
      if (!confirmations || have < confirmations.have) confirmations = { have, need };
    }
    return {
      asset: o.asset,
      symbol,
      network,
      standard,
      label: optionLabel(symbol, network, standard),
      amount_due: formatAmount(remaining, o.decimals),
      amount_total: formatAmount(due, o.decimals),
      received: formatAmount(received.get(o.asset) ?? 0n, o.decimals),
      address: o.address,
      qr: paymentUri(target, ctx.checkout),
      confirmations,
      wallet: kind === "evm" && remaining > 0n ? evmTransaction(target) : null,
    };
  });

  let metadata: Record<string, string> = {};
  if (ctx.checkout.metadata_keys.length) {
    const all = JSON.parse(order.metadata) as Record<string, unknown>;
    metadata = Object.fromEntries(
      ctx.checkout.metadata_keys
        .filter((k) => all[k] !== undefined && all[k] !== null)
        .map((k) => [k, typeof all[k] === "string" ? all[k] : JSON.stringify(all[k])]),
    );
  }
  const selected = opts.find((o) => o.asset === choice)?.asset ?? opts[0]?.asset ?? "";
  return {
    shop: { name: ctx.checkout.brand.name, logo_url: ctx.logoUrl },
    order: {
      merchant_order_id: order.merchant_order_id,
      status: order.status,
      amount: formatAmount(parseUnits(order.amount), order.currency_decimals),
      currency: order.currency,
      paid_amount: formatAmount(parseUnits(order.paid_amount), order.currency_decimals),
      expires_at: new Date(order.expires_at).toISOString(),
      seconds_left: Math.max(0, Math.ceil((order.expires_at - ctx.now) / 1000)),
      return_url: order.return_url,
      metadata,
    },
    selected,
    options: opts,
    done: DONE.has(order.status),
  };
}
