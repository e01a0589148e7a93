// Coinbase: GET /v2/prices/{BASE}-{QUOTE}/spot
//   → {"data":{"amount":"3012.455","base":"ETH","currency":"USD"}}
//   errors: {"errors":[{"id":"not_found","message":"Invalid base currency"}]}
// (Coinbase App "prices" API; amounts are JSON strings; the answer carries no timestamp.)
import { isObject } from "./json.js";
import { type ProviderSpec, RateSourceError } from "./types.js";
import { stringField } from "./provider.js";

export const coinbase: ProviderSpec = {
  kind: "coinbase",
  defaultUrl: "https://api.coinbase.com",
  path: (p) => `/v2/prices/${encodeURIComponent(p.base)}-${encodeURIComponent(p.quote)}/spot`,
  parse(body, pair) {
    if (!isObject(body)) throw new RateSourceError("answer is not an object");
    if (Array.isArray(body.errors) && body.errors.length > 0)
      throw new RateSourceError(`error: ${JSON.stringify(body.errors).slice(0, 200)}`);
    const data = body.data;
    if (!isObject(data)) throw new RateSourceError("no data object");
    const base = stringField(data, "base");
    const currency = stringField(data, "currency");
    if (base !== pair.base || currency !== pair.quote)
      throw new RateSourceError(`answer is for ${base}-${currency}, not ${pair.base}-${pair.quote}`);
    return { price: stringField(data, "amount"), at: null };
  },
};
