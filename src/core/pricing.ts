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

/** A rate an option can lock: where it came from and when (`at` undefined: static, the create's time). */
export interface PriceQuote {
  text: string;
  ratio: Ratio;
  sources: { source: string; price: string }[];
  at?: number;
}

/** The part of the catalog pricing reads (src/ledger/catalog.ts implements it). */
export interface PriceList {
  currencyDecimals(currency: string): number | undefined;
  asset(id: string): { chain: string; decimals: number; enabled: boolean } | undefined;
  /** price of 1 `asset` in `currency` now, or undefined */
  rate(currency: string, asset: string): PriceQuote | undefined;
  /** priced from live markets: a missing rate is an outage (503), not a configuration gap (400) */
  isLive(currency: string, asset: string): boolean;
  /** enabled assets with a rate in `currency` now */
  priceable(currency: string): readonly { id: string }[];
  /** enabled assets the configuration prices in `currency` (static or live), rate or not */
  configured(currency: string): readonly { id: string }[];
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
  /** the locked rate as written in the rate table, or the markets' median */
  rate: string;
  /** where the rate came from, each source with its price ([] when the order is in this asset) */
  rateSources: { source: string; price: string }[];
  /** the time of the rate's oldest source (static: the create's own time) */
  rateAt: number;
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

/** `rates_unavailable`: the request is fine, but a live pair it needs has no fresh rate right now. */
export type Pricing =
  | { ok: true; order: PricedOrder }
  | { ok: false; problem: "validation" | "rates_unavailable"; detail: string; errors: FieldError[] };

const MINUTE = 60_000;

/** a pair priced live with no fresh rate right now: the order waits for the markets (503) */
const noRate = (path: string, asset: string, currency: string): FieldError => ({
  path,
  message: `${asset}/${currency} has no fresh rate from enough agreeing markets`,
});

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
      problem: "validation",
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
  // Without an `assets` list the order offers what can be priced now; a listed asset must be.
  const assetIds = req.assets ?? prices.priceable(req.currency).map((a) => a.id);
  const unpriced: FieldError[] = [];
  if (assetIds.length === 0) {
    const waiting = prices.configured(req.currency).filter((a) => prices.isLive(req.currency, a.id));
    if (waiting.length) unpriced.push(...waiting.map((a) => noRate("assets", a.id, req.currency)));
    else errors.push({ path: "assets", message: `no enabled asset can be priced in ${req.currency}` });
  }
  const chosen: { id: string; chain: string; decimals: number; rate: PriceQuote }[] = [];
  assetIds.forEach((id, i) => {
    const asset = prices.asset(id);
    if (!asset || !asset.enabled)
      return void errors.push({ path: `assets[${i}]`, message: `unknown or disabled asset "${id}"` });
    const rate = prices.rate(req.currency, id);
    if (!rate && prices.isLive(req.currency, id))
      return void unpriced.push(noRate(`assets[${i}]`, id, req.currency));
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
  if (errors.length) return { ok: false, problem: "validation", detail: "the order is not valid", errors };
  if (unpriced.length) {
    const pairs = unpriced.map((u) => u.message.split(" ")[0]).join(", ");
    return {
      ok: false,
      problem: "rates_unavailable",
      detail: `no fresh rate for ${pairs}; try again shortly`,
      errors: unpriced,
    };
  }

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
        rateSources: c.rate.sources,
        rateAt: c.rate.at ?? now,
        amountDue: amountDue(amount, currencyDecimals, c.rate.ratio, c.decimals),
      })),
      chains: [...new Set(chosen.map((c) => c.chain))],
    },
  };
}
