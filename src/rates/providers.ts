// The markets depositd can ask, by config `kind`.
import { binance } from "./binance.js";
import { bitstamp } from "./bitstamp.js";
import { coinbase } from "./coinbase.js";
import { coingecko } from "./coingecko.js";
import { kraken } from "./kraken.js";
import type { ProviderSpec } from "./types.js";

export const PROVIDER_KINDS = ["coinbase", "kraken", "bitstamp", "binance", "coingecko"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

export const PROVIDERS: Record<ProviderKind, ProviderSpec> = {
  coinbase,
  kraken,
  bitstamp,
  binance,
  coingecko,
};
