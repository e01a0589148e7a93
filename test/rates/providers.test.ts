// Each market's real response shape read exactly, and every shape that is not a usable price
// refused — against a local HTTP server answering the exact bytes those markets send.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../../src/rates/provider.js";
import { PROVIDERS, type ProviderKind } from "../../src/rates/providers.js";
import { RateSourceError } from "../../src/rates/types.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";
import { type FixtureServer, startFixtureServer } from "../helpers/fixture-http.js";

let srv: FixtureServer;
beforeAll(async () => void (srv = await startFixtureServer()));
afterAll(() => srv.close());

const now = TEST_EPOCH_MS;
const nowS = Math.floor(now / 1000);
const ctx = { now: () => now, maxAgeMs: 60_000, timeoutMs: 2000 };
const ETH_USD = { base: "ETH", quote: "USD" };

async function quote(kind: ProviderKind, body: string, status = 200, pair = ETH_USD, proxies: string[] = []) {
  srv.reply(status, body, body.startsWith("<") ? "text/html" : "application/json");
  return createProvider(PROVIDERS[kind], srv.url, proxies).quote(pair, ctx);
}
const refused = async (p: Promise<unknown>, message: RegExp) => {
  await expect(p).rejects.toThrow(RateSourceError);
  await expect(p).rejects.toThrow(message);
};

const HTML_200 = "<!DOCTYPE html><html><head><title>Attention Required!</title></head><body>…</body></html>";

describe("coinbase", () => {
  it("default: GET /v2/prices/ETH-USD/spot, data.amount as the price, fetch time as its time", async () => {
    const q = await quote("coinbase", '{"data":{"amount":"3012.455","base":"ETH","currency":"USD"}}');
    expect(q).toEqual({ price: "3012.455", at: now });
    expect(srv.paths.at(-1)).toBe("/v2/prices/ETH-USD/spot");
  });
  it("error: HTML with 200", () => refused(quote("coinbase", HTML_200), /not JSON/));
  it("error: its error shape", () =>
    refused(
      quote("coinbase", '{"errors":[{"id":"not_found","message":"Invalid base currency"}]}', 404),
      /HTTP 404/,
    ));
  it("error: its error shape even with 200", () =>
    refused(quote("coinbase", '{"errors":[{"id":"not_found","message":"Invalid base currency"}]}'), /error/));
  it("error: empty result", () => refused(quote("coinbase", '{"data":{}}'), /missing/));
  it("error: zero", () =>
    refused(quote("coinbase", '{"data":{"amount":"0","base":"ETH","currency":"USD"}}'), /zero/));
  it("error: negative", () =>
    refused(quote("coinbase", '{"data":{"amount":"-3012","base":"ETH","currency":"USD"}}'), /negative/));
  it("error: absurd", () =>
    refused(
      quote("coinbase", '{"data":{"amount":"30120000000000","base":"ETH","currency":"USD"}}'),
      /absurd/,
    ));
  it("error: wrong pair", () =>
    refused(
      quote("coinbase", '{"data":{"amount":"67000","base":"BTC","currency":"USD"}}'),
      /BTC-USD, not ETH-USD/,
    ));
  it("error: a JSON number where Coinbase sends a string", () =>
    refused(quote("coinbase", '{"data":{"amount":3012.45,"base":"ETH","currency":"USD"}}'), /not a string/));
});

describe("kraken", () => {
  const ticker = (key: string, price: string) =>
    `{"error":[],"result":{"${key}":{"a":["${price}","1","1.000"],"b":["${price}","2","2.000"],"c":["${price}","0.00150000"],"v":["100.1","200.2"],"p":["${price}","${price}"],"t":[1000,2000],"l":["${price}","${price}"],"h":["${price}","${price}"],"o":"${price}"}}}`;
  it("default: GET /0/public/Ticker?pair=ETHUSD, the last trade c[0] under Kraken's own pair name", async () => {
    expect(await quote("kraken", ticker("XETHZUSD", "3012.45000"))).toEqual({ price: "3012.45", at: now });
    expect(srv.paths.at(-1)).toBe("/0/public/Ticker?pair=ETHUSD");
  });
  it("default: BTC is XBT at Kraken (XXBTZUSD)", async () => {
    expect(await quote("kraken", ticker("XXBTZUSD", "67012.1"), 200, { base: "BTC", quote: "USD" })).toEqual({
      price: "67012.1",
      at: now,
    });
    expect(srv.paths.at(-1)).toBe("/0/public/Ticker?pair=XBTUSD");
  });
  it("default: newer pairs have no X/Z prefixes (TRXUSD)", async () => {
    expect(
      (await quote("kraken", ticker("TRXUSD", "0.2512"), 200, { base: "TRX", quote: "USD" })).price,
    ).toBe("0.2512");
  });
  it("error: HTML with 200", () => refused(quote("kraken", HTML_200), /not JSON/));
  it('error: {"error":[...]}', () =>
    refused(quote("kraken", '{"error":["EQuery:Unknown asset pair"]}'), /EQuery/));
  it("error: empty result", () => refused(quote("kraken", '{"error":[],"result":{}}'), /0 pairs/));
  it("error: zero", () => refused(quote("kraken", ticker("XETHZUSD", "0.00000")), /zero/));
  it("error: negative", () => refused(quote("kraken", ticker("XETHZUSD", "-1.0")), /negative/));
  it("error: wrong pair", () =>
    refused(quote("kraken", ticker("XXBTZUSD", "67012.1")), /XXBTZUSD, not ETHUSD/));
  it("error: no error array at all", () => refused(quote("kraken", '{"result":{}}'), /no error array/));
});

describe("bitstamp", () => {
  const body = (o: Record<string, string> = {}) =>
    JSON.stringify({
      timestamp: String(nowS - 5),
      open: "3000.00",
      high: "3050.00",
      low: "2990.00",
      last: "3012.45",
      volume: "1234.5",
      vwap: "3010.1",
      bid: "3012.40",
      ask: "3012.50",
      open_24: "2999.00",
      percent_change_24: "0.45",
      pair: "ETH/USD",
      ...o,
    });
  it("default: GET /api/v2/ticker/ethusd/, last as the price, its timestamp (seconds) as its time", async () => {
    expect(await quote("bitstamp", body())).toEqual({ price: "3012.45", at: (nowS - 5) * 1000 });
    expect(srv.paths.at(-1)).toBe("/api/v2/ticker/ethusd/");
  });
  it("default: older answers without a pair field", async () => {
    const { pair: _p, ...old } = JSON.parse(body()) as Record<string, string>;
    expect((await quote("bitstamp", JSON.stringify(old))).price).toBe("3012.45");
  });
  it("error: HTML with 200", () => refused(quote("bitstamp", HTML_200), /not JSON/));
  it("error: HTML 404 for an unknown pair", () =>
    refused(quote("bitstamp", "<html>404</html>", 404), /HTTP 404/));
  it("error: its error shape", () =>
    refused(
      quote("bitstamp", '{"status":"error","reason":"Invalid currency pair","code":"API0001"}'),
      /error/,
    ));
  it("error: empty result", () => refused(quote("bitstamp", "{}"), /missing/));
  it("error: zero", () => refused(quote("bitstamp", body({ last: "0" })), /zero/));
  it("error: negative", () => refused(quote("bitstamp", body({ last: "-3012.45" })), /negative/));
  it("error: stale", () => refused(quote("bitstamp", body({ timestamp: String(nowS - 61) })), /stale/));
  it("error: a timestamp from the future", () =>
    refused(quote("bitstamp", body({ timestamp: String(nowS + 3600) })), /future/));
  it("error: a timestamp that is not seconds", () =>
    refused(quote("bitstamp", body({ timestamp: "yesterday" })), /unix seconds/));
  it("error: wrong pair", () => refused(quote("bitstamp", body({ pair: "BTC/USD" })), /not ETH\/USD/));
});

describe("binance", () => {
  it("default: GET /api/v3/ticker/price?symbol=ETHEUR", async () => {
    const q = await quote("binance", '{"symbol":"ETHEUR","price":"2790.12000000"}', 200, {
      base: "ETH",
      quote: "EUR",
    });
    expect(q).toEqual({ price: "2790.12", at: now });
    expect(srv.paths.at(-1)).toBe("/api/v3/ticker/price?symbol=ETHEUR");
  });
  it("default: USD through a stablecoin only when usd_proxies allows one", async () => {
    const p = createProvider(PROVIDERS.binance, srv.url, []);
    expect(p.supports(ETH_USD)).toBe(false);
    await refused(p.quote(ETH_USD, ctx), /does not quote/);
    const q = await quote("binance", '{"symbol":"ETHUSDT","price":"3012.45000000"}', 200, ETH_USD, ["USDT"]);
    expect(q.price).toBe("3012.45");
    expect(srv.paths.at(-1)).toBe("/api/v3/ticker/price?symbol=ETHUSDT");
  });
  const eur = { base: "ETH", quote: "EUR" };
  it("error: HTML with 200", () => refused(quote("binance", HTML_200, 200, eur), /not JSON/));
  it("error: its error shape", () =>
    refused(quote("binance", '{"code":-1121,"msg":"Invalid symbol."}', 400, eur), /HTTP 400/));
  it("error: its error shape with 200", () =>
    refused(quote("binance", '{"code":-1121,"msg":"Invalid symbol."}', 200, eur), /-1121/));
  it("error: empty result", () => refused(quote("binance", "{}", 200, eur), /missing/));
  it("error: zero", () =>
    refused(quote("binance", '{"symbol":"ETHEUR","price":"0.00000000"}', 200, eur), /zero/));
  it("error: negative", () =>
    refused(quote("binance", '{"symbol":"ETHEUR","price":"-2790.1"}', 200, eur), /negative/));
  it("error: wrong pair", () =>
    refused(quote("binance", '{"symbol":"BTCEUR","price":"61000.00"}', 200, eur), /BTCEUR, not ETHEUR/));
});

describe("coingecko (prices as JSON numbers)", () => {
  const body = (price: string, ts = nowS - 10) => `{"ethereum":{"usd":${price},"last_updated_at":${ts}}}`;
  it("default: the number's digits exactly as sent, never through a float", async () => {
    // 17 significant digits: a float would give 3012.1234567890124
    expect(await quote("coingecko", body("3012.12345678901234"))).toEqual({
      price: "3012.12345678901234",
      at: (nowS - 10) * 1000,
    });
    expect(srv.paths.at(-1)).toBe(
      "/api/v3/simple/price?ids=ethereum&vs_currencies=usd&include_last_updated_at=true",
    );
  });
  it("default: an exponent is expanded exactly", async () => {
    expect((await quote("coingecko", body("3.01245e3"))).price).toBe("3012.45");
  });
  it("error: HTML with 200", () => refused(quote("coingecko", HTML_200), /not JSON/));
  it("error: its error shape", () =>
    refused(quote("coingecko", '{"status":{"error_code":429,"error_message":"rate limited"}}'), /error/));
  it("error: empty result (an unknown id)", () => refused(quote("coingecko", "{}"), /empty result/));
  it("error: zero", () => refused(quote("coingecko", body("0")), /zero/));
  it("error: negative", () => refused(quote("coingecko", body("-3012.45")), /negative/));
  it("error: stale", () => refused(quote("coingecko", body("3012.45", nowS - 600)), /stale/));
  it("error: a price sent as a string is not this market's shape", () =>
    refused(quote("coingecko", body('"3012.45"')), /number/));
  it("error: wrong pair (another currency)", () =>
    refused(quote("coingecko", `{"ethereum":{"eur":2790.1,"last_updated_at":${nowS}}}`), /no usd number/));
  it("default: a coin it cannot name is not asked", () =>
    expect(createProvider(PROVIDERS.coingecko, srv.url, []).supports({ base: "XYZ", quote: "USD" })).toBe(
      false,
    ));
});

describe("every market", () => {
  it.each(Object.keys(PROVIDERS) as ProviderKind[])("error: %s — a body that is not JSON at all", (kind) =>
    refused(quote(kind, "Service Unavailable", 200, { base: "ETH", quote: "EUR" }), /not JSON/),
  );
  it.each(Object.keys(PROVIDERS) as ProviderKind[])(
    "error: %s — a server that is not there",
    async (kind) => {
      const p = createProvider(PROVIDERS[kind], "http://127.0.0.1:1", ["USDT"]);
      await refused(p.quote({ base: "ETH", quote: "USD" }, ctx), /request failed/);
    },
  );
});
