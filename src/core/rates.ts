// Exchange rates from several markets, decided purely: which quotes are fresh, which agree, and
// the median that prices an order. No clock (now is passed in), no I/O; prices are exact decimals.
import { type Ratio, AmountError, compareRatio, formatAmount, parseRate } from "./amount.js";

const PLAIN = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const JSON_NUMBER = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/;

/** The largest and smallest price a market can sensibly quote for one unit (both exclusive). */
export const MAX_PRICE = 10n ** 12n;
export const MIN_PRICE_DIGITS = 12;

/**
 * A price as sent by a market (a JSON string "3012.50" or the text of a JSON number 3.0125e3) →
 * its plain decimal text, exactly. Throws on anything that is not a positive, sane price.
 */
export function marketPrice(text: string): string {
  const m = JSON_NUMBER.exec(text.trim() === text ? text : "");
  if (!m) throw new AmountError(`price "${text.slice(0, 40)}" is not a number`);
  const [, sign, whole = "0", frac = "", exp = "0"] = m;
  if (Math.abs(Number(exp)) > 40) throw new AmountError(`price "${text.slice(0, 40)}" is absurd`);
  // shift the decimal point by the exponent, on digits only
  let digits = whole + frac;
  let point = whole.length + Number(exp);
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  }
  if (point > digits.length) digits = digits.padEnd(point, "0");
  const intPart = digits.slice(0, point).replace(/^0+(?=[0-9])/, "");
  const fracPart = digits.slice(point).replace(/0+$/, "");
  const plain = fracPart ? `${intPart}.${fracPart}` : intPart;
  if (sign === "-" && /[1-9]/.test(plain)) throw new AmountError(`price ${plain} is negative`);
  if (!/[1-9]/.test(plain)) throw new AmountError("price is zero");
  if (BigInt(intPart) >= MAX_PRICE) throw new AmountError(`price ${plain} is absurd (≥ 10^12)`);
  if (
    intPart === "0" &&
    fracPart.length > MIN_PRICE_DIGITS &&
    /^0+$/.test(fracPart.slice(0, MIN_PRICE_DIGITS))
  )
    throw new AmountError(`price ${plain} is absurd (< 10^-12)`);
  if (fracPart.length > 36) throw new AmountError(`price ${plain} has more than 36 fraction digits`);
  return plain;
}

/** "1%" → 1/100, "0.5%" → 5/1000. A plain decimal ("0.01") is a fraction. */
export function parseSpread(text: string): Ratio {
  const pct = text.endsWith("%");
  const body = pct ? text.slice(0, -1) : text;
  if (!PLAIN.test(body)) throw new AmountError(`"${text}" is not a percentage like "1%"`);
  const r = body === "0" || /^0(\.0+)?$/.test(body) ? { num: 0n, den: 1n } : parseRate(body);
  return pct ? { num: r.num, den: r.den * 100n } : r;
}

/** The median of plain decimals, exactly (the mean of the middle two has at most one more digit). */
export function medianDecimal(prices: readonly string[]): string {
  if (prices.length === 0) throw new AmountError("median of nothing");
  const sorted = [...prices].sort((a, b) => compareRatio(parseRate(a), parseRate(b)));
  const mid = sorted.length >> 1;
  if (sorted.length % 2 === 1) return sorted[mid]!;
  const a = sorted[mid - 1]!;
  const b = sorted[mid]!;
  const digits = Math.max(fracDigits(a), fracDigits(b));
  const sum = scaled(a, digits) + scaled(b, digits);
  return sum % 2n === 0n ? formatAmount(sum / 2n, digits) : formatAmount(sum * 5n, digits + 1);
}

const fracDigits = (d: string) => d.split(".")[1]?.length ?? 0;
const scaled = (d: string, digits: number) => {
  const [w = "0", f = ""] = d.split(".");
  return BigInt(w + f.padEnd(digits, "0"));
};

export interface SourceQuote {
  /** the provider that quoted it (coinbase, kraken, …) */
  source: string;
  /** plain decimal text: the price of 1 asset in the currency */
  price: string;
  /** when the market says the price was made (or when we fetched it, if it does not say), ms */
  at: number;
}

export interface RateRules {
  minSources: number;
  /** a source further than this fraction from the median is dropped */
  maxSpread: Ratio;
  maxAgeMs: number;
}

export type DropReason = "stale" | "future" | "outlier";
export interface DroppedQuote extends SourceQuote {
  reason: DropReason;
}

export type RateDecision =
  | {
      ok: true;
      /** the median of the agreeing fresh sources */
      rate: string;
      sources: SourceQuote[];
      dropped: DroppedQuote[];
      /** the oldest source used: the rate is no older than this */
      at: number;
    }
  | { ok: false; reason: string; sources: SourceQuote[]; dropped: DroppedQuote[] };

/** How far `price` is from `median`, as a fraction of the median. */
export function deviation(price: string, median: string): Ratio {
  const p = parseRate(price);
  const m = parseRate(median);
  const diff = p.num * m.den - m.num * p.den;
  // |p − m| / m = |p.num·m.den − m.num·p.den| / (p.den·m.den) · m.den / m.num
  return { num: diff < 0n ? -diff : diff, den: p.den * m.num };
}

/**
 * The rate of one pair from the latest quote of each source: fresh ones only (not older than
 * maxAgeMs, not from the future beyond the same allowance), then those within maxSpread of their
 * median; the rate is the median of what remains, and there must be at least minSources of them.
 */
export function decideRate(quotes: readonly SourceQuote[], rules: RateRules, now: number): RateDecision {
  const dropped: DroppedQuote[] = [];
  const fresh: SourceQuote[] = [];
  for (const q of quotes) {
    if (q.at < now - rules.maxAgeMs) dropped.push({ ...q, reason: "stale" });
    else if (q.at > now + rules.maxAgeMs) dropped.push({ ...q, reason: "future" });
    else fresh.push(q);
  }
  if (fresh.length < rules.minSources)
    return {
      ok: false,
      reason: `${fresh.length} fresh source(s), ${rules.minSources} needed`,
      sources: fresh,
      dropped,
    };
  const first = medianDecimal(fresh.map((q) => q.price));
  const agreeing: SourceQuote[] = [];
  for (const q of fresh) {
    if (compareRatio(deviation(q.price, first), rules.maxSpread) > 0)
      dropped.push({ ...q, reason: "outlier" });
    else agreeing.push(q);
  }
  if (agreeing.length < rules.minSources)
    return {
      ok: false,
      reason: `${agreeing.length} agreeing source(s) within the spread, ${rules.minSources} needed`,
      sources: agreeing,
      dropped,
    };
  return {
    ok: true,
    rate: medianDecimal(agreeing.map((q) => q.price)),
    sources: agreeing,
    dropped,
    at: Math.min(...agreeing.map((q) => q.at)),
  };
}
