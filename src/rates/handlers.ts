// The bodies of GET /v1/assets and GET /v1/rates (catalog, config and rate book in, data out);
// the route entries in src/api/routes.ts call them through src/api/handlers.ts.
import type { AssetJson, RateJson } from "../api/schemas.js";
import type { Catalog } from "../ledger/catalog.js";
import type { ResolvedConfig } from "../config/load.js";
import { iso } from "../time.js";
import type { RateBook } from "./index.js";

/** The currencies the configuration prices `asset` in: static tables and live currencies. */
function currenciesOf(config: Pick<ResolvedConfig, "rates">, asset: string): string[] {
  const out = Object.entries(config.rates.static)
    .filter(([, t]) => t[asset] !== undefined)
    .map(([c]) => c);
  for (const c of config.rates.live?.currencies ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

export function listAssets(catalog: Catalog, config: Pick<ResolvedConfig, "rates">): { assets: AssetJson[] } {
  return {
    assets: catalog.assets
      .filter((a) => a.enabled)
      .map((a) => {
        const rates: Record<string, string> = {};
        const unpriced: string[] = [];
        for (const c of currenciesOf(config, a.id)) {
          const r = catalog.rate(c, a.id);
          if (r) rates[c] = r.text;
          else unpriced.push(c);
        }
        return {
          id: a.id,
          chain: a.chain,
          chain_kind: catalog.chain(a.chain)!.kind,
          decimals: a.decimals,
          confirmations: a.confirmations,
          contract: a.contract ?? null,
          rates,
          unpriced,
        };
      }),
  };
}

export function listRates(
  catalog: Catalog,
  config: Pick<ResolvedConfig, "rates">,
  book: RateBook | undefined,
  now: number,
): { rates: RateJson[] } {
  const out: RateJson[] = [];
  for (const [currency, table] of Object.entries(config.rates.static)) {
    for (const [asset, rate] of Object.entries(table)) {
      out.push({
        asset,
        currency,
        source: "static",
        rate,
        rate_at: null,
        age_seconds: null,
        sources: [],
        dropped: [],
      });
    }
  }
  for (const p of book?.pairs ?? []) {
    if (!catalog.asset(p.asset)?.enabled) continue;
    const d = book!.decision(p.asset, p.currency)!;
    const sources = d.sources.map((s) => ({ source: s.source, price: s.price, at: iso(s.at) }));
    const dropped = d.dropped.map((s) => ({
      source: s.source,
      price: s.price,
      at: iso(s.at),
      reason: s.reason,
    }));
    out.push(
      d.ok
        ? {
            asset: p.asset,
            currency: p.currency,
            source: "live",
            rate: d.rate,
            rate_at: iso(d.at),
            age_seconds: Math.max(0, Math.round((now - d.at) / 1000)),
            sources,
            dropped,
          }
        : {
            asset: p.asset,
            currency: p.currency,
            source: "live",
            rate: null,
            rate_at: null,
            age_seconds: null,
            sources,
            dropped,
            reason: d.reason,
          },
    );
  }
  return { rates: out };
}
