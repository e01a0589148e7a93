// Money is bigint base units end to end; decimal strings only at the edges.
import { DepositdError } from "../errors.js";

export class AmountError extends DepositdError {
  override name = "AmountError";
}

// The decimal rules, each written once (config, API schemas and parsing all use these).
const PLAIN = "(0|[1-9][0-9]*)(\\.[0-9]+)?";
/** A plain decimal: no sign, exponent, spaces or leading zeros ("0", "12.5"). */
export const DECIMAL = new RegExp(`^${PLAIN}$`);
/** A tolerance: a plain decimal in the order's currency, or a percentage ("0.5%"). */
export const TOLERANCE = new RegExp(`^${PLAIN}%?$`);
/** A base-unit integer, as stored in SQLite TEXT. */
export const BASE_UNITS = /^(0|[1-9][0-9]*)$/;

/** "12.5" with 6 decimals → 12500000n. Rejects signs, exponents, spaces, too many fraction digits. */
export function parseAmount(text: string, decimals: number): bigint {
  if (typeof text !== "string") throw new AmountError("must be a decimal string");
  if (text.length === 0 || text.length > 100)
    throw new AmountError("must be a decimal string of 1–100 chars");
  if (!DECIMAL.test(text))
    throw new AmountError(`"${text}" is not a plain decimal (no sign, exponent or spaces)`);
  const [whole = "0", fraction = ""] = text.split(".");
  const frac = fraction;
  if (frac.length > decimals) {
    throw new AmountError(`"${text}" has ${frac.length} fraction digits, at most ${decimals} allowed`);
  }
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
}

/** 12500000n with 6 decimals → "12.5" (no trailing zeros, no exponent). */
export function formatAmount(units: bigint, decimals: number): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
}

/** Parse a base-unit integer as stored in SQLite TEXT or returned by a node as a decimal integer string. */
export function parseUnits(text: string): bigint {
  if (!BASE_UNITS.test(text)) throw new AmountError(`"${text}" is not a base-unit integer`);
  return BigInt(text);
}

/** A positive exact rational; rates ("3000", "0.0001") and fractions of an order. */
export interface Ratio {
  num: bigint;
  den: bigint;
}

export function ratio(num: bigint, den: bigint = 1n): Ratio {
  if (den === 0n) throw new AmountError("division by zero");
  if (den < 0n) return { num: -num, den: -den };
  return { num, den };
}

/** A rate as a decimal string → exact ratio. "3000" → 3000/1, "0.25" → 25/100. */
export function parseRate(text: string): Ratio {
  if (!DECIMAL.test(text)) throw new AmountError(`rate "${text}" is not a plain decimal`);
  const [whole = "0", frac = ""] = text.split(".");
  const r = ratio(BigInt(whole + frac), 10n ** BigInt(frac.length));
  if (r.num === 0n) throw new AmountError("rate must be > 0");
  return r;
}

export function addRatio(a: Ratio, b: Ratio): Ratio {
  return ratio(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function compareRatio(a: Ratio, b: Ratio): -1 | 0 | 1 {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function ceilDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new AmountError("divisor must be > 0");
  if (a <= 0n) return -(-a / b);
  return (a + b - 1n) / b;
}

/**
 * How much of `asset` is due for `amount` of the order's currency.
 * rate = price of 1 whole asset unit in the currency ("1 ETH = 3000 USD" → "3000").
 * Rounded UP to the asset's base unit, so paying amount_due always covers the order.
 */
export function amountDue(
  amount: bigint,
  currencyDecimals: number,
  rate: Ratio,
  assetDecimals: number,
): bigint {
  // amount/10^Dc currency ÷ (rate currency/asset) × 10^Da base units
  const num = amount * rate.den * 10n ** BigInt(assetDecimals);
  const den = rate.num * 10n ** BigInt(currencyDecimals);
  return ceilDiv(num, den);
}

/** Value of `units` of an asset in currency base units, rounded down (for display: what arrived). */
export function valueIn(units: bigint, assetDecimals: number, rate: Ratio, currencyDecimals: number): bigint {
  const num = units * rate.num * 10n ** BigInt(currencyDecimals);
  const den = rate.den * 10n ** BigInt(assetDecimals);
  return num / den;
}

/** Format a ratio as a decimal string with at most `decimals` fraction digits, rounding down. */
export function formatRatio(r: Ratio, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  return formatAmount((r.num * scale) / r.den, decimals);
}
