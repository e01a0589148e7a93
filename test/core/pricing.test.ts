// Pricing at create, one row per rule: a request, the rate table, and the priced order or the
// field errors that must come out.
import { describe, expect, it } from "vitest";
import { parseRate } from "../../src/core/amount.js";
import { type PriceList, type PriceRequest, priceOrder } from "../../src/core/pricing.js";

const NOW = 1_000_000;
const MIN = 60_000;
const defaults = {
  valid_minutes: 30,
  late_window_minutes: 60,
  underpaid_tolerance: "0",
  overpaid_tolerance: "0",
};

const assets: Record<string, { chain: string; decimals: number; enabled: boolean }> = {
  ETH: { chain: "eth", decimals: 18, enabled: true },
  USDT: { chain: "eth", decimals: 6, enabled: true },
  BTC: { chain: "btc", decimals: 8, enabled: true },
  OLD: { chain: "eth", decimals: 6, enabled: false },
};
// static tables, and live pairs: a fresh quote, or null while too few markets agree
const fixed: Record<string, Record<string, string>> = {
  USD: { ETH: "3000", USDT: "1", BTC: "60000" },
  EUR: { USDT: "0.9" },
};
const RATE_AT = NOW - 8_000;
const live: Record<string, Record<string, string | null>> = {
  EUR: { ETH: "2800", BTC: null },
  GBP: { ETH: null, BTC: null },
};
const prices: PriceList = {
  currencyDecimals: (c) => (fixed[c] || live[c] ? 2 : assets[c]?.decimals),
  asset: (id) => assets[id],
  rate: (currency, asset) => {
    if (currency === asset) return { text: "1", ratio: parseRate("1"), sources: [] };
    const t = fixed[currency]?.[asset];
    if (t) return { text: t, ratio: parseRate(t), sources: [{ source: "static", price: t }] };
    const l = live[currency]?.[asset];
    return l
      ? { text: l, ratio: parseRate(l), sources: [{ source: "kraken", price: l }], at: RATE_AT }
      : undefined;
  },
  isLive: (currency, asset) => !fixed[currency]?.[asset] && live[currency]?.[asset] !== undefined,
  priceable: (currency) =>
    Object.keys(assets)
      .filter((id) => assets[id]!.enabled && prices.rate(currency, id))
      .map((id) => ({ id })),
  configured: (currency) =>
    Object.keys(assets)
      .filter((id) => assets[id]!.enabled && (fixed[currency]?.[id] || prices.isLive(currency, id)))
      .map((id) => ({ id })),
};

const price = (req: Partial<PriceRequest>) =>
  priceOrder({ amount: "100", currency: "USD", ...req }, prices, defaults, NOW);

describe("priceOrder", () => {
  const priced: [
    string,
    Partial<PriceRequest>,
    { asset: string; chain: string; amountDue: bigint; rate: string }[],
  ][] = [
    [
      "default: every priceable enabled asset, amount due rounded up to the base unit",
      {},
      [
        { asset: "ETH", chain: "eth", amountDue: 33_333_333_333_333_334n, rate: "3000" },
        { asset: "USDT", chain: "eth", amountDue: 100_000_000n, rate: "1" },
        { asset: "BTC", chain: "btc", amountDue: 166_667n, rate: "60000" },
      ],
    ],
    [
      "args: assets chosen, in the order asked",
      { assets: ["BTC", "USDT"] },
      [
        { asset: "BTC", chain: "btc", amountDue: 166_667n, rate: "60000" },
        { asset: "USDT", chain: "eth", amountDue: 100_000_000n, rate: "1" },
      ],
    ],
    [
      "args: an asset as the currency is priced at 1",
      { amount: "0.5", currency: "ETH", assets: ["ETH"] },
      [{ asset: "ETH", chain: "eth", amountDue: 5n * 10n ** 17n, rate: "1" }],
    ],
  ];
  it.each(priced)("%s", (_name, req, options) => {
    const p = price(req);
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    expect(p.order.options).toMatchObject(options);
    expect(p.order.chains).toEqual([...new Set(options.map((o) => o.chain))]);
  });

  it("default: each option locks its rate's sources and time (static: the create's own time)", () => {
    const p = price({ currency: "EUR" });
    if (!p.ok) throw new Error(JSON.stringify(p.errors));
    // BTC/EUR has no fresh rate and no asset list asked for it: left out
    expect(p.order.options).toEqual([
      {
        asset: "ETH",
        chain: "eth",
        decimals: 18,
        rate: "2800",
        rateSources: [{ source: "kraken", price: "2800" }],
        rateAt: RATE_AT,
        amountDue: 35_714_285_714_285_715n,
      },
      {
        asset: "USDT",
        chain: "eth",
        decimals: 6,
        rate: "0.9",
        rateSources: [{ source: "static", price: "0.9" }],
        rateAt: NOW,
        amountDue: 111_111_112n,
      },
    ]);
    const same = price({ amount: "0.5", currency: "ETH" });
    expect(same.ok && same.order.options[0]).toMatchObject({ rate: "1", rateSources: [], rateAt: NOW });
  });

  const waiting: [string, Partial<PriceRequest>, string, { path: string; message: RegExp }[]][] = [
    [
      "error: a listed asset whose live pair has no fresh rate fails the whole create",
      { currency: "EUR", assets: ["ETH", "BTC"] },
      "no fresh rate for BTC/EUR; try again shortly",
      [{ path: "assets[1]", message: /^BTC\/EUR has no fresh rate/ }],
    ],
    [
      "error: no asset list and no live pair priceable now: each pair named",
      { currency: "GBP" },
      "no fresh rate for ETH/GBP, BTC/GBP; try again shortly",
      [
        { path: "assets", message: /^ETH\/GBP has no fresh rate/ },
        { path: "assets", message: /^BTC\/GBP has no fresh rate/ },
      ],
    ],
  ];
  it.each(waiting)("%s", (_name, req, detail, errors) => {
    const p = price(req);
    expect(p).toMatchObject({ ok: false, problem: "rates_unavailable", detail });
    if (p.ok) return;
    expect(p.errors.map((e) => e.path)).toEqual(errors.map((e) => e.path));
    errors.forEach((e, i) => expect(p.errors[i]!.message).toMatch(e.message));
  });

  it("error: a field problem is a validation error even when a live pair has no rate", () => {
    expect(price({ currency: "EUR", amount: "0", assets: ["BTC"] })).toMatchObject({
      ok: false,
      problem: "validation",
      errors: [{ path: "amount" }],
    });
  });

  it("default: the clock and tolerances come from the defaults unless the request names them", () => {
    expect(price({})).toMatchObject({
      ok: true,
      order: {
        amount: 10000n,
        currencyDecimals: 2,
        underpaidTolerance: "0",
        overpaidTolerance: "0",
        expiresAt: NOW + 30 * MIN,
        lateUntil: NOW + 90 * MIN,
      },
    });
    expect(price({ valid_minutes: 5, underpaid_tolerance: "1%", overpaid_tolerance: "2" })).toMatchObject({
      ok: true,
      order: {
        underpaidTolerance: "1%",
        overpaidTolerance: "2",
        expiresAt: NOW + 5 * MIN,
        lateUntil: NOW + 65 * MIN,
      },
    });
  });

  const refused: [string, Partial<PriceRequest>, string, { path: string; message: RegExp }[]][] = [
    [
      "error: unknown currency",
      { currency: "XYZ" },
      "unknown currency",
      [{ path: "currency", message: /neither an asset/ }],
    ],
    ["error: zero amount", { amount: "0" }, "the order is not valid", [{ path: "amount", message: /> 0/ }]],
    [
      "error: too many fraction digits",
      { amount: "1.001" },
      "the order is not valid",
      [{ path: "amount", message: /at most 2/ }],
    ],
    [
      "error: not a decimal",
      { amount: "1e3" },
      "the order is not valid",
      [{ path: "amount", message: /plain decimal/ }],
    ],
    [
      "error: disabled asset",
      { assets: ["OLD"] },
      "the order is not valid",
      [{ path: "assets[0]", message: /disabled/ }],
    ],
    [
      "error: unknown asset",
      { assets: ["ETH", "NOPE"] },
      "the order is not valid",
      [{ path: "assets[1]", message: /unknown/ }],
    ],
    [
      "error: no rate",
      { currency: "ETH", assets: ["BTC"] },
      "the order is not valid",
      [{ path: "assets[0]", message: /no rate for BTC in ETH/ }],
    ],
    [
      "error: duplicate asset",
      { assets: ["ETH", "ETH"] },
      "the order is not valid",
      [{ path: "assets[1]", message: /duplicate/ }],
    ],
    [
      "error: nothing priceable",
      { currency: "ETH", assets: [] },
      "the order is not valid",
      [{ path: "assets", message: /no enabled asset/ }],
    ],
    [
      "error: tolerance above 100%",
      { underpaid_tolerance: "101%" },
      "the order is not valid",
      [{ path: "underpaid_tolerance", message: /≤ 100%/ }],
    ],
    [
      "error: tolerance above the amount",
      { overpaid_tolerance: "100.01" },
      "the order is not valid",
      [{ path: "overpaid_tolerance", message: /exceed/ }],
    ],
    [
      "error: every field problem at once",
      { amount: "-1", assets: ["NOPE"] },
      "the order is not valid",
      [
        { path: "amount", message: /plain decimal/ },
        { path: "assets[0]", message: /unknown/ },
      ],
    ],
  ];
  it.each(refused)("%s", (_name, req, detail, errors) => {
    const p = price(req);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.problem).toBe("validation");
    expect(p.detail).toBe(detail);
    expect(p.errors).toHaveLength(errors.length);
    errors.forEach((e, i) => {
      expect(p.errors[i]!.path).toBe(e.path);
      expect(p.errors[i]!.message).toMatch(e.message);
    });
  });
});
