// The options rule when a live pair has no fresh rate: a listed asset is needed (503, nothing
// bound, every missing pair named); without a list the order offers what can be priced now.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { type PriceServer, startPriceServer } from "../../src/dev/prices.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { ProblemError } from "../../src/errors.js";
import { importPoolFile } from "../../src/pool/index.js";
import { createRateBook } from "../../src/rates/index.js";
import { clock, evmPoolText, testCommon, testConfig, testDatabase } from "../helpers/config.js";

let market: PriceServer;
const time = clock();
beforeAll(
  async () => void (market = await startPriceServer({ prices: { "ETH/USD": "3000" }, now: time.now })),
);
afterAll(() => market.close());

function setup() {
  const config = testConfig({
    rates: {
      static: { USD: { "USDT-ERC20": "1" } },
      live: { providers: [{ kind: "coinbase", url: market.url }], min_sources: 1 },
    },
  });
  const common = testCommon(config, time.now);
  const book = createRateBook({
    live: config.rates.live!,
    assets: config.assets,
    hasStatic: (asset, currency) => config.rates.static[currency]?.[asset] !== undefined,
    now: time.now,
    logger: pino({ level: "silent" }),
  });
  const db = testDatabase();
  importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(5).text, time.now());
  const ledger = createLedger(db, common, createCatalog(config, book));
  const counts = () =>
    ["orders", "order_options", "bindings"].map((t) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get());
  const create = (id: string, assets?: string[]) =>
    ledger.createOrder(
      "shop",
      {
        merchant_order_id: id,
        amount: "30",
        currency: "USD",
        callback_url: "http://127.0.0.1:9/cb",
        ...(assets ? { assets } : {}),
      },
      time.now(),
    );
  return { book, create, counts };
}

describe("orders and live rates", () => {
  it("default: with a fresh rate both options, each with its own sources", async () => {
    const { book, create } = setup();
    await book.refresh();
    const { order } = create("O-1");
    expect(order.options.map((o) => [o.asset, o.rate, o.rate_sources])).toEqual([
      ["ETH", "3000", [{ source: "coinbase", price: "3000" }]],
      ["USDT-ERC20", "1", [{ source: "static", price: "1" }]],
    ]);
    expect(order.options[0]).toMatchObject({
      amount_due: "0.01",
      rate_at: new Date(time.now()).toISOString(),
    });
  });

  it("error: a listed asset without a fresh rate → 503 rates_unavailable naming it, nothing bound", () => {
    const { create, counts } = setup(); // never refreshed: no live rate yet
    const before = counts();
    let err: unknown;
    try {
      create("O-2", ["USDT-ERC20", "ETH"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProblemError);
    expect((err as ProblemError).toJSON()).toMatchObject({
      type: "urn:depositd:problem:rates_unavailable",
      status: 503,
      detail: expect.stringContaining("ETH/USD"),
      errors: [{ path: "assets[1]", message: expect.stringContaining("ETH/USD") }],
    });
    expect(counts()).toEqual(before);
  });

  it("behavior: without an assets list, an asset without a fresh rate is left out and the rest offered", () => {
    const { create } = setup();
    const { order } = create("O-3");
    expect(order.options.map((o) => o.asset)).toEqual(["USDT-ERC20"]);
  });

  it("behavior: validation problems come first (400), then missing rates (503)", () => {
    const { create } = setup();
    expect(() => create("O-4", ["NOPE", "ETH"])).toThrow(expect.objectContaining({ code: "validation" }));
  });
});
