// What can be paid and at which rate, from the config: frozen at start.
import { type Ratio, parseRate } from "../core/amount.js";
import type { ResolvedConfig } from "../config/load.js";
import type { AssetConfig, ChainConfig } from "../config/schema.js";

export interface Catalog {
  assets: readonly AssetConfig[];
  chains: readonly ChainConfig[];
  asset(id: string): AssetConfig | undefined;
  chain(id: string): ChainConfig | undefined;
  /** the asset a chain's transfer of `contract` (undefined = native) is */
  assetsOfChain(chain: string): AssetConfig[];
  /** fraction digits of a currency: an asset's decimals, a configured fiat's, else 2 */
  currencyDecimals(currency: string): number | undefined;
  /** price of 1 `asset` in `currency`; 1 when they are the same; undefined if not priceable */
  rate(currency: string, asset: string): { text: string; ratio: Ratio } | undefined;
  /** enabled assets that can be priced in `currency`, on chains whose pool serves orders */
  priceable(currency: string): AssetConfig[];
}

export function createCatalog(config: Pick<ResolvedConfig, "assets" | "chains" | "rates">): Catalog {
  const byId = new Map(config.assets.map((a) => [a.id, a]));
  const chains = new Map(config.chains.map((c) => [c.id, c]));
  const rates = new Map<string, Map<string, { text: string; ratio: Ratio }>>();
  for (const [currency, table] of Object.entries(config.rates.static)) {
    rates.set(
      currency,
      new Map(Object.entries(table).map(([a, t]) => [a, { text: t, ratio: parseRate(t) }])),
    );
  }
  const catalog: Catalog = {
    assets: config.assets,
    chains: config.chains,
    asset: (id) => byId.get(id),
    chain: (id) => chains.get(id),
    assetsOfChain: (chain) => config.assets.filter((a) => a.chain === chain),
    currencyDecimals(currency) {
      const asset = byId.get(currency);
      if (asset) return asset.decimals;
      if (!rates.has(currency)) return undefined;
      return config.rates.decimals[currency] ?? 2;
    },
    rate(currency, asset) {
      if (currency === asset) return { text: "1", ratio: { num: 1n, den: 1n } };
      return rates.get(currency)?.get(asset);
    },
    // a pool declared for deposit accounts only offers nothing to orders
    priceable: (currency) =>
      config.assets.filter(
        (a) =>
          a.enabled &&
          chains.get(a.chain)?.pool.purpose !== "accounts" &&
          catalog.rate(currency, a.id) !== undefined,
      ),
  };
  return Object.freeze(catalog);
}
