// Kraken: GET /0/public/Ticker?pair=XBTUSD
//   → {"error":[],"result":{"XXBTZUSD":{"a":[…],"b":[…],"c":["67012.10000","0.00150000"],…}}}
//   c = last trade closed [price, lot volume]; errors: {"error":["EQuery:Unknown asset pair"]}
// The result key is Kraken's own pair name (XXBTZUSD for XBTUSD, TRXUSD for TRXUSD).
import { isObject } from "./json.js";
import { type ProviderSpec, RateSourceError } from "./types.js";

/** Kraken's names for assets whose symbol differs from the usual one */
const KRAKEN_ASSET: Record<string, string> = { BTC: "XBT", DOGE: "XDG" };
const name = (s: string) => KRAKEN_ASSET[s] ?? s;

export const kraken: ProviderSpec = {
  kind: "kraken",
  defaultUrl: "https://api.kraken.com",
  path: (p) => `/0/public/Ticker?pair=${encodeURIComponent(name(p.base) + name(p.quote))}`,
  parse(body, pair) {
    if (!isObject(body)) throw new RateSourceError("answer is not an object");
    if (!Array.isArray(body.error)) throw new RateSourceError("no error array");
    if (body.error.length > 0)
      throw new RateSourceError(`error: ${JSON.stringify(body.error).slice(0, 200)}`);
    const result = body.result;
    if (!isObject(result)) throw new RateSourceError("no result object");
    const keys = Object.keys(result);
    if (keys.length !== 1) throw new RateSourceError(`result has ${keys.length} pairs, expected 1`);
    const b = name(pair.base);
    const q = name(pair.quote);
    // legacy pairs are prefixed X (crypto) and Z (fiat): XXBTZUSD, XETHZEUR; newer ones are not
    const accepted = new Set([b + q, `X${b}Z${q}`, `X${b}X${q}`, `${b}Z${q}`, `X${b}${q}`]);
    const key = keys[0]!;
    if (!accepted.has(key)) throw new RateSourceError(`answer is for ${key}, not ${b}${q}`);
    const ticker = result[key];
    if (!isObject(ticker) || !Array.isArray(ticker.c) || typeof ticker.c[0] !== "string")
      throw new RateSourceError("no last trade (c) in the ticker");
    return { price: ticker.c[0], at: null };
  },
};
