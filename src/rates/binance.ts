// Binance: GET /api/v3/ticker/price?symbol=ETHUSDT → {"symbol":"ETHUSDT","price":"3012.45000000"}
//   errors: HTTP 400 {"code":-1121,"msg":"Invalid symbol."}; no timestamp in the answer.
// Binance lists no USD markets: USD is quoted through a stablecoin only where the operator
// allowed one (rates.live.usd_proxies); EUR and other listed quotes are asked directly.
import { isObject } from "./json.js";
import { type MarketPair, type ProviderSpec, RateSourceError } from "./types.js";
import { stringField } from "./provider.js";

const symbol = (p: MarketPair, usdProxies: readonly string[]): string | undefined =>
  p.quote === "USD" ? (usdProxies[0] ? p.base + usdProxies[0] : undefined) : p.base + p.quote;

export const binance: ProviderSpec = {
  kind: "binance",
  defaultUrl: "https://api.binance.com",
  path(p, usdProxies) {
    const s = symbol(p, usdProxies);
    return s === undefined ? undefined : `/api/v3/ticker/price?symbol=${encodeURIComponent(s)}`;
  },
  parse(body, pair, usdProxies) {
    if (!isObject(body)) throw new RateSourceError("answer is not an object");
    if (body.code !== undefined) throw new RateSourceError(`error: ${JSON.stringify(body).slice(0, 200)}`);
    const s = stringField(body, "symbol");
    if (s !== symbol(pair, usdProxies))
      throw new RateSourceError(`answer is for ${s}, not ${symbol(pair, usdProxies)}`);
    return { price: stringField(body, "price"), at: null };
  },
};
