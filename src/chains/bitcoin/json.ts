// Bitcoin nodes send amounts as JSON numbers in BTC ("value": 0.50000000). JSON.parse would turn
// them into floats, so answers are parsed with every number kept as its decimal text.
import { parseAmount } from "../../core/amount.js";
import { RetryableError } from "../../errors.js";

// A JSON string (skipped as is) or a JSON number (captured). Strings are matched first so digits
// inside them are never touched.
const TOKEN = /"[^"\\]*(?:\\.[^"\\]*)*"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/g;

/** JSON.parse, except that every number arrives as its exact source text (a string). */
export function parseJsonKeepingNumbers(text: string): unknown {
  return JSON.parse(
    text.replace(TOKEN, (token, number: string | undefined) =>
      number === undefined ? token : `"${number}"`,
    ),
  );
}

/** "0.50000000" (BTC, as the node wrote it) → 50000000n satoshi; exact, never through a float. */
export function satsFromBtcText(text: unknown): bigint {
  if (typeof text !== "string")
    throw new RetryableError(`amount is not a number text: ${JSON.stringify(text)}`);
  return parseAmount(text, 8);
}

/** A non-negative integer field kept as text by parseJsonKeepingNumbers (heights, times, indexes). */
export function intFromText(text: unknown, what: string): number {
  if (typeof text !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(text)) {
    throw new RetryableError(`${what} is not a non-negative integer: ${JSON.stringify(text)}`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RetryableError(`${what} is too large: ${text}`);
  return n;
}
