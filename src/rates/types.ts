// One small interface for every market: which name it gives a pair, where to ask, how to read the
// answer. The fetch, timeouts, freshness and error handling around it are shared (./provider.ts).
import type { JsonValue } from "./json.js";

/** A pair in market symbols: 1 `base` (ETH) priced in `quote` (USD). */
export interface MarketPair {
  base: string;
  quote: string;
}

export interface MarketPrice {
  /** the price as the market wrote it: a JSON string's content or a JSON number's text */
  price: string;
  /** when the market says the price was made, ms; null when its answer carries no time */
  at: number | null;
}

export interface ProviderSpec {
  kind: string;
  defaultUrl: string;
  /**
   * The request path (with query) for a pair, or undefined when this market cannot quote it.
   * `usdProxies` are the stablecoins the operator allows to stand for USD.
   */
  path(pair: MarketPair, usdProxies: readonly string[]): string | undefined;
  /** read the price out of the parsed answer; throw RateSourceError when it is not one for `pair` */
  parse(body: JsonValue, pair: MarketPair, usdProxies: readonly string[]): MarketPrice;
}

/** A market's answer that is not a usable price (down, an error shape, a wrong pair, stale). */
export class RateSourceError extends Error {
  override name = "RateSourceError";
}
