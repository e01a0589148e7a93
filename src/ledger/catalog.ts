// What can be paid and at which rate, from the config (frozen at start) and the live rate book.
import { parseRate } from "../core/amount.js";
import type { PriceQuote } from "../core/pricing.js";
import type { ResolvedConfig } from "../config/load.js";
import type { AssetConfig, ChainConfig } from "../config/schema.js";

/** The live rates the catalog asks (src/rates/index.ts): the fresh median of a pair, or nothing. */
export interface LivePrices {
  isLive(asset: string, currency: string): boolean;
  priceOf(asset: string, currency: string): PriceQuote | undefined;
}

export interface Catalog {
  assets: readonly AssetConfig[];
  chains: readonly ChainConfig[];
  asset(id: string): AssetConfig | undefined;
  chain(id: string): ChainConfig | undefined;
  /** the asset a chain's transfer of `contract` (undefined = native) is */
  assetsOfChain(chain: string): AssetConfig[];
  /** fraction digits of a currency: an asset's decimals, a configured fiat's, else 2 */
  currencyDecimals(currency: string): number | undefined;
  /** price of 1 `asset` in `currency` now; 1 when they are the same; undefined if not priceable now */
  rate(currency: string, asset: string): PriceQuote | undefined;
  /** priced from live markets (so a missing rate is an outage, not a configuration gap) */
  isLive(currency: string, asset: string): boolean;
  /** enabled assets that can be priced in `currency` now, on chains whose pool serves orders */
  priceable(currency: string): AssetConfig[];
  /** enabled assets the configuration prices in `currency` (static or live), rate or not */
  configured(currency: string): AssetConfig[];
}

export function createCatalog(
  config: Pick<ResolvedConfig, "assets" | "chains" | "rates">,
  live?: LivePrices,
): Catalog {
  const byId = new Map(config.assets.map((a) => [a.id, a]));
  const chains = new Map(config.chains.map((c) => [c.id, c]));
  const rates = new Map<string, Map<string, PriceQuote>>();
  for (const [currency, table] of Object.entries(config.rates.static)) {
    rates.set(
      currency,
      new Map(
        Object.entries(table).map(([a, t]) => [
          a,
          { text: t, ratio: parseRate(t), sources: [{ source: "static", price: t }] },
        ]),
      ),
    );
  }
  const liveCurrencies = new Set(config.rates.live?.currencies ?? []);
  const one: PriceQuote = { text: "1", ratio: { num: 1n, den: 1n }, sources: [] };
  const catalog: Catalog = {
    assets: config.assets,
    chains: config.chains,
    asset: (id) => byId.get(id),
    chain: (id) => chains.get(id),
    assetsOfChain: (chain) => config.assets.filter((a) => a.chain === chain),
    currencyDecimals(currency) {
      const asset = byId.get(currency);
      if (asset) return asset.decimals;
      if (!rates.has(currency) && !liveCurrencies.has(currency)) return undefined;
      return config.rates.decimals[currency] ?? 2;
    },
    rate(currency, asset) {
      if (currency === asset) return one;
      // a static rate wins for its pair
      return rates.get(currency)?.get(asset) ?? live?.priceOf(asset, currency);
    },
    isLive: (currency, asset) => !rates.get(currency)?.has(asset) && (live?.isLive(asset, currency) ?? false),
    // a pool declared for deposit accounts only offers nothing to orders
    priceable: (currency) =>
      config.assets.filter(
        (a) =>
          a.enabled &&
          chains.get(a.chain)?.pool.purpose !== "accounts" &&
          catalog.rate(currency, a.id) !== undefined,
      ),
    configured: (currency) =>
      config.assets.filter(
        (a) =>
          a.enabled &&
          chains.get(a.chain)?.pool.purpose !== "accounts" &&
          (currency === a.id || rates.get(currency)?.has(a.id) || catalog.isLive(currency, a.id)),
      ),
  };
  return Object.freeze(catalog);
}
