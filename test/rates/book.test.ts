// The rate book: which pairs it asks, that creates only read it, that a static rate wins, that a
// market's last good price ages out on the harness clock, and that a slow pass never stacks.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCatalog } from "../../src/ledger/catalog.js";
import { type PriceServer, startPriceServer } from "../../src/dev/prices.js";
import { createRateBook } from "../../src/rates/index.js";
import { clock, testConfig } from "../helpers/config.js";

let a: PriceServer;
let b: PriceServer;
const time = clock();
beforeAll(async () => {
  const prices = { "ETH/USD": "3000", "ETH/EUR": "2800", "USDT/USD": "1.0001", "BTC/USD": "67000" };
  a = await startPriceServer({ prices, now: time.now });
  b = await startPriceServer({ prices, now: time.now });
});
afterAll(() => Promise.all([a.close(), b.close()]));

function setup(over: { static?: Record<string, Record<string, string>>; proxies?: string[] } = {}) {
  const config = testConfig({
    rates: {
      static: over.static ?? { USD: { "USDT-ERC20": "1" } },
      live: {
        providers: [
          { kind: "coinbase", url: a.url },
          { kind: "binance", url: b.url },
        ],
        currencies: ["USD", "EUR"],
        min_sources: 1,
        usd_proxies: over.proxies ?? [],
      },
    },
    assets: [
      { id: "ETH", chain: "anvil", decimals: 18 },
      {
        id: "USDT-ERC20",
        chain: "anvil",
        contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        decimals: 6,
      },
      {
        id: "WBTC",
        chain: "anvil",
        contract: "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599",
        decimals: 8,
        symbol: "BTC",
        enabled: false,
      },
    ],
  });
  const book = createRateBook({
    live: config.rates.live!,
    assets: config.assets,
    hasStatic: (asset, currency) => config.rates.static[currency]?.[asset] !== undefined,
    now: time.now,
    logger: pino({ level: "silent" }),
  });
  return { book, catalog: createCatalog(config, book) };
}

describe("rate book", () => {
  it("default: asks each enabled asset in each live currency, except pairs a static rate prices", () => {
    const { book } = setup();
    expect(book.pairs.map((p) => `${p.asset}/${p.currency} as ${p.market.base}/${p.market.quote}`)).toEqual([
      "ETH/USD as ETH/USD",
      "ETH/EUR as ETH/EUR",
      "USDT-ERC20/EUR as USDT/EUR",
    ]);
  });

  it("behavior: a static rate wins for its pair, even when the markets quote it", async () => {
    const { book, catalog } = setup();
    await book.refresh();
    expect(catalog.rate("USD", "USDT-ERC20")).toMatchObject({
      text: "1",
      sources: [{ source: "static", price: "1" }],
    });
    expect(catalog.isLive("USD", "USDT-ERC20")).toBe(false);
    expect(catalog.rate("USD", "ETH")).toMatchObject({
      text: "3000",
      sources: [{ source: "coinbase", price: "3000" }],
    });
  });

  it("behavior: reading a rate never asks a market (creates stay off the network)", async () => {
    const { book, catalog } = setup();
    await book.refresh();
    const asked = a.requests + b.requests;
    for (let i = 0; i < 1000; i++) expect(catalog.rate("USD", "ETH")?.text).toBe("3000");
    expect(a.requests + b.requests).toBe(asked);
  });

  it("behavior: Binance is asked for USD only through an allowed stablecoin", async () => {
    const before = b.requests;
    const { book } = setup();
    await book.refresh();
    // ETH/EUR and USDT/EUR only: no ETHUSD(T) request without usd_proxies
    expect(b.requests - before).toBe(2);
    b.set("ETH/USDT", "3001");
    const proxied = setup({ proxies: ["USDT"] });
    await proxied.book.refresh();
    expect(proxied.book.decision("ETH", "USD")).toMatchObject({ ok: true, rate: "3000.5" });
  });

  it("behavior: a market's last good price ages out on the clock; no price, no rate", async () => {
    const { book } = setup();
    await book.refresh();
    expect(book.priceOf("ETH", "USD")?.text).toBe("3000");
    time.advance(60_000);
    expect(book.priceOf("ETH", "USD")?.text).toBe("3000"); // exactly max_age: still fresh
    time.advance(1);
    expect(book.priceOf("ETH", "USD")).toBeUndefined();
    expect(book.decision("ETH", "USD")).toMatchObject({
      ok: false,
      dropped: [{ source: "coinbase", reason: "stale" }],
    });
  });

  it("behavior: a market answering an HTML page with 200 gives no rate and counts an error", async () => {
    const { book } = setup();
    a.mode = "html";
    try {
      await book.refresh();
    } finally {
      a.mode = "ok";
    }
    expect(book.priceOf("ETH", "USD")).toBeUndefined();
    expect(book.providers().find((p) => p.kind === "coinbase")).toMatchObject({
      errors: 3,
      failing: { "ETH/USD": expect.stringMatching(/not JSON/) },
    });
  });

  it("behavior: a pass still running is not started twice", async () => {
    const { book } = setup();
    const before = a.requests;
    await Promise.all([book.refresh(), book.refresh(), book.refresh()]);
    expect(a.requests - before).toBe(3); // one pass: three pairs
  });

  it("behavior: a market that hangs holds up only itself: the others' prices arrive on time", async () => {
    const config = testConfig({
      rates: {
        static: {},
        live: {
          providers: [
            { kind: "coinbase", url: a.url },
            { kind: "kraken", url: b.url },
          ],
          min_sources: 1,
          max_age_seconds: 10,
          refresh_seconds: 5, // → 5 s request timeout
        },
      },
      assets: [{ id: "ETH", chain: "anvil", decimals: 18 }],
    });
    const book = createRateBook({
      live: config.rates.live!,
      assets: config.assets,
      hasStatic: () => false,
      now: time.now,
      logger: pino({ level: "silent" }),
    });
    a.mode = "hang";
    try {
      const whole = book.refresh();
      const t0 = performance.now();
      while (!book.priceOf("ETH", "USD") && performance.now() - t0 < 900)
        await new Promise((r) => setTimeout(r, 10));
      // kraken answered while coinbase was still hanging
      expect(book.decision("ETH", "USD")).toMatchObject({ ok: true, sources: [{ source: "kraken" }] });
      await whole;
      expect(book.providers().find((p) => p.kind === "coinbase")?.failing["ETH/USD"]).toMatch(
        /request failed/,
      );
    } finally {
      a.mode = "ok";
    }
  });
});
