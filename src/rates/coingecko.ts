// CoinGecko: GET /api/v3/simple/price?ids=ethereum&vs_currencies=usd&include_last_updated_at=true
//   → {"ethereum":{"usd":3012.45,"last_updated_at":1711356300}}
// Prices are JSON NUMBERS here: they are read from the response text (./json.ts), never as floats.
//   unknown id → {}; errors: {"status":{"error_code":429,"error_message":"…"}}
import { isJsonNumber, isObject } from "./json.js";
import { type ProviderSpec, RateSourceError } from "./types.js";

/** CoinGecko names coins by id, not symbol: only these symbols are asked */
export const COINGECKO_IDS: Record<string, string> = {
  BTC: "bitcoin",
  ETH: "ethereum",
  TRX: "tron",
  USDT: "tether",
  USDC: "usd-coin",
  DAI: "dai",
  LTC: "litecoin",
  BNB: "binancecoin",
  SOL: "solana",
};

export const coingecko: ProviderSpec = {
  kind: "coingecko",
  defaultUrl: "https://api.coingecko.com",
  path(p) {
    const id = COINGECKO_IDS[p.base];
    return id === undefined
      ? undefined
      : `/api/v3/simple/price?ids=${id}&vs_currencies=${p.quote.toLowerCase()}&include_last_updated_at=true`;
  },
  parse(body, pair) {
    if (!isObject(body)) throw new RateSourceError("answer is not an object");
    if (isObject(body.status))
      throw new RateSourceError(`error: ${JSON.stringify(body.status).slice(0, 200)}`);
    const coin = body[COINGECKO_IDS[pair.base]!];
    if (!isObject(coin)) throw new RateSourceError(`no entry for ${COINGECKO_IDS[pair.base]} (empty result)`);
    const price = coin[pair.quote.toLowerCase()];
    if (!isJsonNumber(price))
      throw new RateSourceError(`no ${pair.quote.toLowerCase()} number for ${COINGECKO_IDS[pair.base]}`);
    const ts = coin.last_updated_at;
    if (!isJsonNumber(ts) || !/^[0-9]{1,12}$/.test(ts.number))
      throw new RateSourceError("last_updated_at is not unix seconds");
    return { price: price.number, at: Number(ts.number) * 1000 };
  },
};
