// Bitstamp: GET /api/v2/ticker/{btcusd}/
//   → {"timestamp":"1700000000","open":"…","high":"…","low":"…","last":"37012","volume":"…",
//      "vwap":"…","bid":"…","ask":"…","open_24":"…","percent_change_24":"…","pair":"BTC/USD"}
//   timestamp: unix SECONDS as a string; older answers have no "pair"; errors: HTTP 404 or
//   {"status":"error","reason":"…"} (the shared fetch refuses non-2xx answers).
import { isObject } from "./json.js";
import { type ProviderSpec, RateSourceError } from "./types.js";
import { stringField } from "./provider.js";

export const bitstamp: ProviderSpec = {
  kind: "bitstamp",
  defaultUrl: "https://www.bitstamp.net",
  path: (p) => `/api/v2/ticker/${encodeURIComponent((p.base + p.quote).toLowerCase())}/`,
  parse(body, pair) {
    if (!isObject(body)) throw new RateSourceError("answer is not an object");
    if (body.status === "error" || body.reason !== undefined)
      throw new RateSourceError(`error: ${JSON.stringify(body.reason ?? body).slice(0, 200)}`);
    if (body.pair !== undefined && body.pair !== `${pair.base}/${pair.quote}`)
      throw new RateSourceError(`answer is for ${JSON.stringify(body.pair)}, not ${pair.base}/${pair.quote}`);
    const ts = stringField(body, "timestamp");
    if (!/^[0-9]{1,12}$/.test(ts))
      throw new RateSourceError(`timestamp "${ts.slice(0, 20)}" is not unix seconds`);
    return { price: stringField(body, "last"), at: Number(ts) * 1000 };
  },
};
