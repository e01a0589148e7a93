// The receiver's helper (`import { verifySignature } from "depositd/verify"`): node:crypto only, so a
// merchant can also copy this file into their shop as is.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface VerifyOptions {
  /** how far `t` may be from now, in seconds (default 300) */
  toleranceSec?: number;
  /** the receiver's clock in unix seconds (milliseconds are recognised too); default: the system clock */
  now?: number;
}

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * True when `header` (the Depositd-Signature value) carries a `v1` HMAC of `<t>.<rawBody>` under any
 * of `secrets` and `t` is within the tolerance. Never throws: garbage in gives false.
 */
export function verifySignature(
  rawBody: string | Buffer,
  header: string,
  secrets: string[],
  opts: VerifyOptions = {},
): boolean {
  try {
    if (typeof header !== "string" || !Array.isArray(secrets) || secrets.length === 0) return false;
    let t: string | undefined;
    const signatures: Buffer[] = [];
    for (const part of header.split(",")) {
      const eq = part.indexOf("=");
      if (eq < 0) continue;
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (key === "t") {
        if (t !== undefined || !/^[0-9]{1,12}$/.test(value)) return false;
        t = value;
      } else if (key === "v1" && HEX_SHA256.test(value)) {
        signatures.push(Buffer.from(value, "hex"));
      }
    }
    if (t === undefined || signatures.length === 0) return false;

    const tolerance = opts.toleranceSec ?? 300;
    let now = opts.now ?? Date.now() / 1000;
    if (now > 1e11) now = now / 1000; // a millisecond clock was passed
    if (!Number.isFinite(now) || !(tolerance >= 0) || Math.abs(now - Number(t)) > tolerance) return false;

    const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
    if (!Buffer.isBuffer(body)) return false;
    let ok = false;
    for (const secret of secrets) {
      if (typeof secret !== "string" || secret === "") continue;
      const expected = createHmac("sha256", secret).update(`${t}.`).update(body).digest();
      // every pair is compared (no early exit) so timing says nothing about which one matched
      for (const sig of signatures) if (timingSafeEqual(expected, sig)) ok = true;
    }
    return ok;
  } catch {
    return false;
  }
}
