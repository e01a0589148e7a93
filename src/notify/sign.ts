// Callback signatures (the scheme Stripe made familiar): t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
import { createHmac } from "node:crypto";

/** One `v1=` per secret, so a receiver holding either the old or the new secret verifies during rotation. */
export function signatureHeader(body: string, secrets: string[], t: number): string {
  const ts = Math.floor(t);
  const parts = [`t=${ts}`];
  for (const secret of secrets)
    parts.push(`v1=${createHmac("sha256", secret).update(`${ts}.`).update(body).digest("hex")}`);
  return parts.join(",");
}
