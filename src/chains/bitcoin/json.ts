// Bitcoin answers are parsed with numbers kept as text (src/rpc/json.ts); these read those texts.
import { parseAmount } from "../../core/amount.js";
import { RetryableError } from "../../errors.js";

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
