// The live-rate rules as tables: which market prices are read, which quotes count, what the rate is.
import { describe, expect, it } from "vitest";
import { AmountError } from "../../src/core/amount.js";
import {
  type SourceQuote,
  decideRate,
  deviation,
  marketPrice,
  medianDecimal,
  parseSpread,
} from "../../src/core/rates.js";

describe("marketPrice", () => {
  const accepted: [string, string, string][] = [
    ["a JSON string price", "3012.45", "3012.45"],
    ["trailing zeros dropped", "3012.45000000", "3012.45"],
    ["a whole number", "67000", "67000"],
    ["a small price", "0.00001234", "0.00001234"],
    ["more digits than a float keeps", "3012.123456789012345678", "3012.123456789012345678"],
    ["a JSON number with an exponent", "3.01245e3", "3012.45"],
    ["a negative exponent", "1.5e-5", "0.000015"],
    ["an upper-case exponent with sign", "2E+2", "200"],
    ["leading zero fraction", "0.5", "0.5"],
  ];
  it.each(accepted)("default: %s", (_name, text, expected) => expect(marketPrice(text)).toBe(expected));

  const refused: [string, string, RegExp][] = [
    ["zero", "0", /zero/],
    ["zero with fraction", "0.000", /zero/],
    ["negative", "-3012.45", /negative/],
    ["not a number", "abc", /not a number/],
    ["empty", "", /not a number/],
    ["spaces", " 3012", /not a number/],
    ["a comma decimal", "3012,45", /not a number/],
    ["absurdly large", "1000000000000", /absurd/],
    ["absurdly small", "0.0000000000001", /absurd/],
    ["a huge exponent", "1e400", /absurd/],
    ["NaN text", "NaN", /not a number/],
    ["Infinity text", "Infinity", /not a number/],
    ["hex", "0x10", /not a number/],
  ];
  it.each(refused)("error: %s", (_name, text, message) => expect(() => marketPrice(text)).toThrow(message));
  it("error: refusals are AmountErrors", () => expect(() => marketPrice("0")).toThrow(AmountError));
});

describe("parseSpread and medianDecimal", () => {
  it.each([
    ["1%", { num: 1n, den: 100n }],
    ["0.5%", { num: 5n, den: 1000n }],
    ["0%", { num: 0n, den: 100n }],
  ])("default: spread %s", (text, expected) => expect(parseSpread(text)).toEqual(expected));
  it("error: a spread that is not a percentage", () => expect(() => parseSpread("1 %")).toThrow());

  it.each([
    [["3000"], "3000"],
    [["3001", "3000", "3002"], "3001"],
    [["3000", "3001"], "3000.5"],
    [["3000.1", "3000.25"], "3000.175"],
    [["1", "2", "3", "100"], "2.5"],
    [["0.00000001", "0.00000002"], "0.000000015"],
  ])("default: median of %j is %s (exact, no float)", (prices, expected) =>
    expect(medianDecimal(prices)).toBe(expected),
  );
  it("behavior: deviation is |p − m| / m, exactly", () => {
    expect(deviation("3030", "3000")).toEqual({ num: 30n, den: 3000n });
    expect(deviation("2970", "3000")).toEqual({ num: 30n, den: 3000n });
  });
});

describe("decideRate", () => {
  const now = 1_000_000_000;
  const rules = { minSources: 2, maxSpread: parseSpread("1%"), maxAgeMs: 60_000 };
  const q = (source: string, price: string, ageS = 0): SourceQuote => ({
    source,
    price,
    at: now - ageS * 1000,
  });
  const rows: {
    name: string;
    quotes: SourceQuote[];
    rules?: Partial<typeof rules>;
    rate: string | null;
    used?: string[];
    dropped?: [string, string][];
  }[] = [
    {
      name: "three agreeing sources: their median",
      quotes: [q("coinbase", "3000"), q("kraken", "3010"), q("bitstamp", "3005")],
      rate: "3005",
      used: ["coinbase", "kraken", "bitstamp"],
    },
    {
      name: "two agreeing sources: the mean of both",
      quotes: [q("coinbase", "3000"), q("kraken", "3010")],
      rate: "3005",
    },
    {
      name: "one source 5% away is dropped, the rest decide",
      quotes: [q("coinbase", "3000"), q("kraken", "3002"), q("bitstamp", "3150")],
      rate: "3001",
      dropped: [["bitstamp", "outlier"]],
    },
    {
      name: "exactly at max_spread is kept",
      quotes: [q("a", "3000"), q("b", "3030"), q("c", "2970")],
      rate: "3000",
      used: ["a", "b", "c"],
    },
    {
      name: "a stale source does not count",
      quotes: [q("coinbase", "3000"), q("kraken", "3002"), q("bitstamp", "2000", 61)],
      rate: "3001",
      dropped: [["bitstamp", "stale"]],
    },
    {
      name: "exactly max_age old is still fresh",
      quotes: [q("coinbase", "3000", 60), q("kraken", "3002")],
      rate: "3001",
    },
    {
      name: "fewer fresh sources than min_sources: no rate",
      quotes: [q("coinbase", "3000"), q("kraken", "3002", 120)],
      rate: null,
      dropped: [["kraken", "stale"]],
    },
    {
      name: "two sources that disagree: both dropped, no rate",
      quotes: [q("coinbase", "3000"), q("kraken", "3200")],
      rate: null,
      dropped: [
        ["coinbase", "outlier"],
        ["kraken", "outlier"],
      ],
    },
    { name: "no quotes at all: no rate", quotes: [], rate: null },
    {
      name: "min_sources 1: a single fresh source is enough",
      quotes: [q("coinbase", "3000")],
      rules: { minSources: 1 },
      rate: "3000",
    },
    {
      name: "a price from the future beyond max_age is not trusted",
      quotes: [q("coinbase", "3000"), q("kraken", "3002"), q("bitstamp", "3001", -120)],
      rate: "3001",
      dropped: [["bitstamp", "future"]],
    },
    {
      name: "min_sources 3 with one outlier: no rate",
      quotes: [q("a", "3000"), q("b", "3001"), q("c", "3300")],
      rules: { minSources: 3 },
      rate: null,
      dropped: [["c", "outlier"]],
    },
  ];
  it.each(rows)("table: $name", (row) => {
    const d = decideRate(row.quotes, { ...rules, ...row.rules }, now);
    expect(d.ok ? d.rate : null).toBe(row.rate);
    if (row.used) expect(d.sources.map((s) => s.source)).toEqual(row.used);
    expect(d.dropped.map((x) => [x.source, x.reason])).toEqual(row.dropped ?? []);
    if (d.ok) expect(d.at).toBe(Math.min(...d.sources.map((s) => s.at)));
    else expect(d.reason).toMatch(/needed/);
  });
});
