// Pricing an order at create (SPEC §2.1): which assets it offers, at which locked rate, how much of
// each is due, its tolerances and its clock. Pure: the rates come in, the decision goes out.
import { type Ratio, amountDue, parseAmount } from "./amount.js";
import { parseTolerance } from "./reconcile.js";

/** What a create asks for, after its shape was validated. */
export interface PriceRequest {
  amount: string;
  currency: string;
  assets?: readonly string[];
  valid_minutes?: number;
  underpaid_tolerance?: string;
  overpaid_tolerance?: string;
}

/** The part of the catalog pricing reads (src/ledger/catalog.ts implements it). */
export interface PriceList {
  currencyDecimals(currency: string): number | undefined;
  asset(id: string): { chain: string; decimals: number; enabled: boolean } | undefined;
  rate(currency: string, asset: string): { text: string; ratio: Ratio } | undefined;
  priceable(currency: string): readonly { id: string }[];
}

export interface OrderDefaults {
  valid_minutes: number;
  late_window_minutes: number;
  underpaid_tolerance: string;
  overpaid_tolerance: string;
}

export interface PricedOption {
  asset: string;
  chain: string;
  decimals: number;
  /** the locked rate as written in the rate table */
  rate: string;
  /** asset base units due, rounded up */
  amountDue: bigint;
}

export interface PricedOrder {
  amount: bigint;
  currencyDecimals: number;
  underpaidTolerance: string;
  overpaidTolerance: string;
  expiresAt: number;
  lateUntil: number;
  options: PricedOption[];
  /** the chains that need a deposit address, in option order */
  chains: string[];
}

export interface FieldError {
  path: string;
  message: string;
}

export type Pricing = { ok: true; order: PricedOrder } | { ok: false; detail: string; errors: FieldError[] };

const MINUTE = 60_000;

export function priceOrder(
  req: PriceRequest,
  prices: PriceList,
  defaults: OrderDefaults,
  now: number,
): Pricing {
  const currencyDecimals = prices.currencyDecimals(req.currency);
  if (currencyDecimals === undefined) {
    return {
      ok: false,
      detail: "unknown currency",
      errors: [
        {
          path: "currency",
          message: `"${req.currency}" is neither an asset nor a currency with configured rates`,
        },
      ],
    };
  }
  const errors: FieldError[] = [];
  let amount = 0n;
  try {
    amount = parseAmount(req.amount, currencyDecimals);
    if (amount <= 0n) errors.push({ path: "amount", message: "must be > 0" });
  } catch (e) {
    errors.push({ path: "amount", message: (e as Error).message });
  }
  const assetIds = req.assets ?? prices.priceable(req.currency).map((a) => a.id);
  if (assetIds.length === 0)
    errors.push({ path: "assets", message: `no enabled asset can be priced in ${req.currency}` });
  const chosen: { id: string; chain: string; decimals: number; rate: { text: string; ratio: Ratio } }[] = [];
  assetIds.forEach((id, i) => {
    const asset = prices.asset(id);
    if (!asset || !asset.enabled)
      return void errors.push({ path: `assets[${i}]`, message: `unknown or disabled asset "${id}"` });
    const rate = prices.rate(req.currency, id);
    if (!rate)
      return void errors.push({ path: `assets[${i}]`, message: `no rate for ${id} in ${req.currency}` });
    if (chosen.some((c) => c.id === id))
      return void errors.push({ path: `assets[${i}]`, message: `duplicate asset "${id}"` });
    chosen.push({ id, chain: asset.chain, decimals: asset.decimals, rate });
  });
  const under = req.underpaid_tolerance ?? defaults.underpaid_tolerance;
  const over = req.overpaid_tolerance ?? defaults.overpaid_tolerance;
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
  if (errors.length) return { ok: false, detail: "the order is not valid", errors };

  const expiresAt = now + (req.valid_minutes ?? defaults.valid_minutes) * MINUTE;
  return {
    ok: true,
    order: {
      amount,
      currencyDecimals,
      underpaidTolerance: under,
      overpaidTolerance: over,
      expiresAt,
      lateUntil: expiresAt + defaults.late_window_minutes * MINUTE,
      options: chosen.map((c) => ({
        asset: c.id,
        chain: c.chain,
        decimals: c.decimals,
        rate: c.rate.text,
        amountDue: amountDue(amount, currencyDecimals, c.rate.ratio, c.decimals),
      })),
      chains: [...new Set(chosen.map((c) => c.chain))],
    },
  };
}
