// Amounts are the one place a silent rounding mistake costs money: every rule is a row here.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AmountError,
  addRatio,
  amountDue,
  ceilDiv,
  compareRatio,
  formatAmount,
  formatRatio,
  parseAmount,
  parseRate,
  parseUnits,
  ratio,
  valueIn,
} from "../../src/core/amount.js";

// Fixed seed: a failing property must fail the same way on every machine.
const PROPERTY_RUNS = { seed: 20261122, numRuns: 500 };

describe("parseAmount", () => {
  const accepted: { name: string; text: string; decimals: number; expected: bigint }[] = [
    { name: "zero", text: "0", decimals: 6, expected: 0n },
    { name: "one fraction digit", text: "12.5", decimals: 6, expected: 12_500_000n },
    { name: "smallest base unit", text: "0.000001", decimals: 6, expected: 1n },
    { name: "all fraction digits used", text: "1.123456", decimals: 6, expected: 1_123_456n },
    { name: "trailing zeros within decimals", text: "1.500000", decimals: 6, expected: 1_500_000n },
    { name: "zero with fraction", text: "0.0", decimals: 6, expected: 0n },
    { name: "whole number at 0 decimals", text: "42", decimals: 0, expected: 42n },
    { name: "one wei", text: "0.000000000000000001", decimals: 18, expected: 1n },
    {
      name: "beyond 2^64 wei",
      text: "123456789012.123456789012345678",
      decimals: 18,
      expected: 123_456_789_012_123_456_789_012_345_678n,
    },
    { name: "satoshis", text: "0.00010000", decimals: 8, expected: 10_000n },
  ];
  for (const row of accepted) {
    it(`accepts ${row.name}: "${row.text}" at ${row.decimals} decimals`, () => {
      expect(parseAmount(row.text, row.decimals)).toBe(row.expected);
    });
  }

  const rejected: { name: string; text: string; decimals: number }[] = [
    { name: "empty", text: "", decimals: 6 },
    { name: "minus sign", text: "-1", decimals: 6 },
    { name: "plus sign", text: "+1", decimals: 6 },
    { name: "exponent", text: "1e5", decimals: 6 },
    { name: "upper-case exponent", text: "1E5", decimals: 6 },
    { name: "trailing dot", text: "1.", decimals: 6 },
    { name: "leading dot", text: ".5", decimals: 6 },
    { name: "leading space", text: " 1", decimals: 6 },
    { name: "trailing space", text: "1 ", decimals: 6 },
    { name: "trailing newline", text: "1\n", decimals: 6 },
    { name: "leading zero", text: "01", decimals: 6 },
    { name: "leading zero with fraction", text: "00.5", decimals: 6 },
    { name: "too many fraction digits", text: "1.1234567", decimals: 6 },
    { name: "any fraction at 0 decimals", text: "1.0", decimals: 0 },
    { name: "NaN", text: "NaN", decimals: 6 },
    { name: "Infinity", text: "Infinity", decimals: 6 },
    { name: "hex", text: "0x10", decimals: 6 },
    { name: "binary literal", text: "0b1", decimals: 6 },
    { name: "digit separator", text: "1_000", decimals: 6 },
    { name: "thousands comma", text: "1,000", decimals: 6 },
    { name: "decimal comma", text: "1,5", decimals: 6 },
    { name: "two dots", text: "1.2.3", decimals: 6 },
    { name: "Arabic-Indic digits", text: "\u0661\u0662", decimals: 6 },
    { name: "fullwidth digit", text: "\uFF11", decimals: 6 },
    { name: "mathematical bold digit", text: "\u{1D7CF}", decimals: 6 },
    { name: "more than 100 characters", text: "1".repeat(101), decimals: 6 },
  ];
  for (const row of rejected) {
    it(`rejects ${row.name}: ${JSON.stringify(row.text)} at ${row.decimals} decimals`, () => {
      expect(() => parseAmount(row.text, row.decimals)).toThrow(AmountError);
    });
  }

  it("names the limit when there are too many fraction digits", () => {
    expect(() => parseAmount("1.1234567", 6)).toThrow("at most 6 allowed");
  });
});

describe("formatAmount", () => {
  const rows: { units: bigint; decimals: number; expected: string }[] = [
    { units: 0n, decimals: 6, expected: "0" },
    { units: 12_500_000n, decimals: 6, expected: "12.5" },
    { units: 1n, decimals: 6, expected: "0.000001" },
    { units: 1_000_000n, decimals: 6, expected: "1" },
    { units: 10_000n, decimals: 8, expected: "0.0001" },
    { units: 42n, decimals: 0, expected: "42" },
    { units: 33_333_333_333_333_334n, decimals: 18, expected: "0.033333333333333334" },
    { units: -1_500_000n, decimals: 6, expected: "-1.5" },
  ];
  for (const row of rows) {
    it(`${row.units} at ${row.decimals} decimals → "${row.expected}"`, () => {
      expect(formatAmount(row.units, row.decimals)).toBe(row.expected);
    });
  }

  it("round trips base units: parseAmount(formatAmount(x)) === x", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 40n }),
        fc.integer({ min: 0, max: 30 }),
        (units, decimals) => {
          expect(parseAmount(formatAmount(units, decimals), decimals)).toBe(units);
        },
      ),
      PROPERTY_RUNS,
    );
  });

  it("round trips canonical decimal strings: formatAmount(parseAmount(s)) === s", () => {
    // Canonical = what formatAmount emits: no leading zeros, no trailing fraction zeros.
    const canonical = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.integer({ min: 0, max: 18 }), fc.nat(18))
      .map(([whole, decimals, fracDigits]) => {
        const digits = Math.min(decimals, fracDigits);
        const frac = digits === 0 ? "" : String(whole % 10n ** BigInt(digits)).padStart(digits, "0");
        const trimmed = frac.replace(/0+$/, "");
        return { text: trimmed ? `${whole}.${trimmed}` : `${whole}`, decimals };
      });
    fc.assert(
      fc.property(canonical, ({ text, decimals }) => {
        expect(formatAmount(parseAmount(text, decimals), decimals)).toBe(text);
      }),
      PROPERTY_RUNS,
    );
  });
});

describe("parseUnits", () => {
  const accepted: { text: string; expected: bigint }[] = [
    { text: "0", expected: 0n },
    { text: "123", expected: 123n },
    { text: "33333333333333333334", expected: 33_333_333_333_333_333_334n },
  ];
  for (const row of accepted) {
    it(`accepts "${row.text}"`, () => {
      expect(parseUnits(row.text)).toBe(row.expected);
    });
  }
  for (const text of ["", "01", "-1", "+1", "1.0", "1e3", " 1", "0x10"]) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseUnits(text)).toThrow(AmountError);
    });
  }
});

describe("parseRate", () => {
  const accepted: { text: string; num: bigint; den: bigint }[] = [
    { text: "3000", num: 3000n, den: 1n },
    { text: "1", num: 1n, den: 1n },
    { text: "0.25", num: 25n, den: 100n },
    { text: "0.0001", num: 1n, den: 10_000n },
    { text: "65000.12", num: 6_500_012n, den: 100n },
  ];
  for (const row of accepted) {
    it(`"${row.text}" → ${row.num}/${row.den}`, () => {
      expect(compareRatio(parseRate(row.text), ratio(row.num, row.den))).toBe(0);
    });
  }
  for (const text of ["0", "0.000", "", "-1", "+1", "1e3", " 3000", "3,000", "3000.", ".5", "NaN"]) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      expect(() => parseRate(text)).toThrow(AmountError);
    });
  }
});

describe("ratio, compareRatio, addRatio", () => {
  it("rejects a zero denominator", () => {
    expect(() => ratio(1n, 0n)).toThrow(AmountError);
  });

  it("moves a negative denominator's sign to the numerator", () => {
    expect(ratio(1n, -2n)).toEqual({ num: -1n, den: 2n });
  });

  const comparisons: { name: string; a: [bigint, bigint]; b: [bigint, bigint]; expected: -1 | 0 | 1 }[] = [
    { name: "equal values, different terms", a: [1n, 2n], b: [2n, 4n], expected: 0 },
    { name: "smaller", a: [1n, 3n], b: [1n, 2n], expected: -1 },
    { name: "larger", a: [2n, 3n], b: [1n, 2n], expected: 1 },
    { name: "zero vs zero", a: [0n, 1n], b: [0n, 7n], expected: 0 },
    { name: "negative vs zero", a: [1n, -2n], b: [0n, 1n], expected: -1 },
    {
      name: "one base unit apart at 18 decimals",
      a: [33_333_333_333_333_333n, 33_333_333_333_333_334n],
      b: [1n, 1n],
      expected: -1,
    },
  ];
  for (const row of comparisons) {
    it(`compareRatio: ${row.name}`, () => {
      const a = ratio(...row.a);
      const b = ratio(...row.b);
      expect(compareRatio(a, b)).toBe(row.expected);
      expect(compareRatio(b, a)).toBe(row.expected === 0 ? 0 : -row.expected);
    });
  }

  const sums: { a: [bigint, bigint]; b: [bigint, bigint]; expected: [bigint, bigint] }[] = [
    { a: [1n, 2n], b: [1n, 3n], expected: [5n, 6n] },
    { a: [1n, 2n], b: [-1n, 2n], expected: [0n, 1n] },
    { a: [0n, 1n], b: [7n, 9n], expected: [7n, 9n] },
    {
      a: [16_666_666_666_666_667n, 33_333_333_333_333_334n],
      b: [50_000_000n, 100_000_000n],
      expected: [1n, 1n],
    },
  ];
  for (const row of sums) {
    it(`addRatio: ${row.a.join("/")} + ${row.b.join("/")} = ${row.expected.join("/")}`, () => {
      const sum = addRatio(ratio(...row.a), ratio(...row.b));
      expect(compareRatio(sum, ratio(...row.expected))).toBe(0);
    });
  }
});

describe("ceilDiv", () => {
  const rows: { a: bigint; b: bigint; expected: bigint }[] = [
    { a: 0n, b: 3n, expected: 0n },
    { a: 1n, b: 3n, expected: 1n },
    { a: 3n, b: 3n, expected: 1n },
    { a: 4n, b: 3n, expected: 2n },
    { a: -4n, b: 3n, expected: -1n },
    { a: -3n, b: 3n, expected: -1n },
  ];
  for (const row of rows) {
    it(`ceil(${row.a} / ${row.b}) = ${row.expected}`, () => {
      expect(ceilDiv(row.a, row.b)).toBe(row.expected);
    });
  }
  for (const b of [0n, -1n]) {
    it(`rejects divisor ${b}`, () => {
      expect(() => ceilDiv(1n, b)).toThrow(AmountError);
    });
  }
});

describe("amountDue", () => {
  const rows: {
    name: string;
    amount: string;
    currencyDecimals: number;
    rate: string;
    assetDecimals: number;
    expected: bigint;
  }[] = [
    {
      name: "100 USD in ETH at 3000 rounds the last wei up",
      amount: "100",
      currencyDecimals: 2,
      rate: "3000",
      assetDecimals: 18,
      expected: 33_333_333_333_333_334n, // 0.0333… ETH
    },
    {
      name: "100000 USD in ETH at 3000 rounds the last wei up",
      amount: "100000",
      currencyDecimals: 2,
      rate: "3000",
      assetDecimals: 18,
      expected: 33_333_333_333_333_333_334n, // 33.333… ETH
    },
    {
      name: "3000 USD in ETH at 3000 is exactly one ETH, no rounding",
      amount: "3000",
      currencyDecimals: 2,
      rate: "3000",
      assetDecimals: 18,
      expected: 10n ** 18n,
    },
    {
      name: "1 USD in a 6-decimal stablecoin at rate 1",
      amount: "1",
      currencyDecimals: 2,
      rate: "1",
      assetDecimals: 6,
      expected: 1_000_000n,
    },
    {
      name: "0.01 USD in BTC at 65000.12 rounds up to a whole satoshi",
      amount: "0.01",
      currencyDecimals: 2,
      rate: "65000.12",
      assetDecimals: 8,
      expected: 16n, // 15.38… sat
    },
    {
      name: "order priced in the asset itself (rate 1, same decimals)",
      amount: "12.345678",
      currencyDecimals: 6,
      rate: "1",
      assetDecimals: 6,
      expected: 12_345_678n,
    },
    {
      name: "cheap asset: 1 USD in TRX at 0.25",
      amount: "1",
      currencyDecimals: 2,
      rate: "0.25",
      assetDecimals: 6,
      expected: 4_000_000n,
    },
    {
      name: "asset with fewer decimals than the currency rounds up",
      amount: "0.001",
      currencyDecimals: 6,
      rate: "1",
      assetDecimals: 2,
      expected: 1n,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const amount = parseAmount(row.amount, row.currencyDecimals);
      expect(amountDue(amount, row.currencyDecimals, parseRate(row.rate), row.assetDecimals)).toBe(
        row.expected,
      );
    });
  }

  it("is the smallest amount that covers the order: due covers it, due − 1 does not", () => {
    const rate = fc
      .tuple(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.integer({ min: 0, max: 8 }))
      .map(([num, fracDigits]) => ratio(num, 10n ** BigInt(fracDigits)));
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.integer({ min: 0, max: 8 }),
        rate,
        fc.integer({ min: 0, max: 18 }),
        (amount, currencyDecimals, r, assetDecimals) => {
          const due = amountDue(amount, currencyDecimals, r, assetDecimals);
          expect(valueIn(due, assetDecimals, r, currencyDecimals) >= amount).toBe(true);
          expect(valueIn(due - 1n, assetDecimals, r, currencyDecimals) < amount).toBe(true);
        },
      ),
      PROPERTY_RUNS,
    );
  });
});

describe("valueIn rounds down", () => {
  const rows: { name: string; units: bigint; assetDecimals: number; rate: string; expected: bigint }[] = [
    {
      name: "one ETH at 3000 is 3000.00 USD",
      units: 10n ** 18n,
      assetDecimals: 18,
      rate: "3000",
      expected: 300_000n,
    },
    {
      name: "the rounded-up due is worth exactly 100.00 USD after rounding down",
      units: 33_333_333_333_333_334n,
      assetDecimals: 18,
      rate: "3000",
      expected: 10_000n,
    },
    {
      name: "one wei short of the due is worth less than 100.00 USD",
      units: 33_333_333_333_333_333n,
      assetDecimals: 18,
      rate: "3000",
      expected: 9_999n,
    },
    { name: "one wei is worth nothing in cents", units: 1n, assetDecimals: 18, rate: "3000", expected: 0n },
    { name: "0.009999 USDT is 0 cents", units: 9_999n, assetDecimals: 6, rate: "1", expected: 0n },
    { name: "0.01 USDT is 1 cent", units: 10_000n, assetDecimals: 6, rate: "1", expected: 1n },
    { name: "0.019999 USDT is 1 cent", units: 19_999n, assetDecimals: 6, rate: "1", expected: 1n },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(valueIn(row.units, row.assetDecimals, parseRate(row.rate), 2)).toBe(row.expected);
    });
  }
});

describe("formatRatio rounds down", () => {
  const rows: { r: [bigint, bigint]; decimals: number; expected: string }[] = [
    { r: [1n, 3n], decimals: 6, expected: "0.333333" },
    { r: [2n, 3n], decimals: 6, expected: "0.666666" },
    { r: [3000n, 1n], decimals: 2, expected: "3000" },
    { r: [25n, 100n], decimals: 8, expected: "0.25" },
    { r: [1n, 3n], decimals: 0, expected: "0" },
  ];
  for (const row of rows) {
    it(`${row.r.join("/")} at ${row.decimals} decimals → "${row.expected}"`, () => {
      expect(formatRatio(ratio(...row.r), row.decimals)).toBe(row.expected);
    });
  }
});
