// Where an order's checkout page lives: the public base plus the order's unguessable token.
import type { ResolvedConfig } from "../config/load.js";

export function checkoutBase(cfg: Pick<ResolvedConfig, "checkout">): string {
  return (cfg.checkout.public_url ?? `http://${cfg.checkout.listen}`).replace(/\/+$/, "");
}

export function checkoutUrl(cfg: Pick<ResolvedConfig, "checkout">, token: string): string {
  return `${checkoutBase(cfg)}/pay/${token}`;
}

/** tokens are 24 random bytes as lower-case hex (src/ledger, migrations/0004) */
export const TOKEN_RE = /^[0-9a-f]{48}$/;
