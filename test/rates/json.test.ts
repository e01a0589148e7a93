// The JSON reader that keeps numbers as text: the same structure as JSON.parse, numbers exact.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { marketPrice } from "../../src/core/rates.js";
import { type JsonValue, isJsonNumber, parseJsonText } from "../../src/rates/json.js";

const RUNS = { seed: 20261122, numRuns: 500 };

/** JsonNumber → the number JSON.parse would have made, for comparing structures */
const asParsed = (v: JsonValue): unknown =>
  isJsonNumber(v)
    ? Number(v.number)
    : Array.isArray(v)
      ? v.map(asParsed)
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asParsed(x)]))
        : v;

describe("parseJsonText", () => {
  it("behavior: any JSON text reads as JSON.parse reads it (numbers aside)", () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        expect(asParsed(parseJsonText(text))).toEqual(JSON.parse(text));
      }),
      RUNS,
    );
  });

  it("behavior: a number's digits are kept exactly, however many", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 20 }),
        (digits, scale) => {
          const s = digits.toString().padStart(scale + 1, "0");
          const text = scale ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
          const v = parseJsonText(`{"p":${text}}`) as { p: JsonValue };
          expect(isJsonNumber(v.p) && v.p.number).toBe(text);
        },
      ),
      RUNS,
    );
  });

  it.each([
    ["<!DOCTYPE html><html></html>"],
    ['{"a":1,}'],
    ["{'a':1}"],
    ["[1,2"],
    ["NaN"],
    ["01"],
    ["1 2"],
    [""],
    ['{"a":"\u0001"}'],
  ])("error: %j is not JSON", (text) => expect(() => parseJsonText(text)).toThrow(/not JSON/));

  it("error: nesting deeper than the limit", () =>
    expect(() => parseJsonText("[".repeat(40) + "]".repeat(40))).toThrow(/deeply/));

  it('behavior: an object {"number":"1"} in a response is not mistaken for a number', () => {
    const v = parseJsonText('{"price":{"number":"1"}}') as { price: JsonValue };
    expect(isJsonNumber(v.price)).toBe(false);
  });

  it("behavior: a market price in a JSON number survives end to end without a float", () => {
    const v = parseJsonText('{"usd":67187.33580000000001}') as { usd: JsonValue };
    expect(isJsonNumber(v.usd) && marketPrice(v.usd.number)).toBe("67187.33580000000001");
  });
});
