// The rules of deposit accounts (top-up addresses): idempotent create, which chains an account
// gets, close, and which deposit events a payment change produces. Pure; src/ledger/accounts.ts
// loads the rows and writes the answer.
import type { PaymentEventType } from "./payment.js";

export type DepositEventType = "deposit.seen" | "deposit.confirmed" | "deposit.reverted";
export const DEPOSIT_EVENT_TYPES: readonly DepositEventType[] = [
  "deposit.seen",
  "deposit.confirmed",
  "deposit.reverted",
];
export type AccountStatus = "open" | "closed";
export type PoolPurpose = "orders" | "accounts" | "both";

/** A create for a customer_id the merchant already has: the same body is the same account. */
export function decideAccountCreate(
  existing: { requestHash: string } | undefined,
  requestHash: string,
): "create" | "existing" | "conflict" {
  if (!existing) return "create";
  return existing.requestHash === requestHash ? "existing" : "conflict";
}

export type ChainChoice = { ok: true; chains: string[] } | { ok: false; path: string; message: string };

/**
 * The chains an account gets an address on: the requested ones (each configured and its pool open
 * to accounts), else every configured chain whose pool serves accounts.
 */
export function accountChains(
  requested: readonly string[] | undefined,
  configured: readonly { id: string; purpose: PoolPurpose }[],
): ChainChoice {
  const serves = (p: PoolPurpose) => p !== "orders";
  if (requested === undefined) {
    const chains = configured.filter((c) => serves(c.purpose)).map((c) => c.id);
    if (chains.length === 0)
      return { ok: false, path: "chains", message: "no configured chain has a pool for accounts" };
    return { ok: true, chains };
  }
  const seen = new Set<string>();
  for (const [i, id] of requested.entries()) {
    const c = configured.find((x) => x.id === id);
    if (!c) return { ok: false, path: `chains[${i}]`, message: `unknown chain ${id}` };
    if (!serves(c.purpose))
      return { ok: false, path: `chains[${i}]`, message: `the pool of chain ${id} serves orders only` };
    if (seen.has(id)) return { ok: false, path: `chains[${i}]`, message: `chain ${id} is listed twice` };
    seen.add(id);
  }
  return { ok: true, chains: [...requested] };
}

/** Closing ends attribution once; closing a closed account changes nothing. */
export function decideClose(status: AccountStatus): "close" | "unchanged" {
  return status === "open" ? "close" : "unchanged";
}

/**
 * The deposit events of a payment change of an account. Every asset counts (there is no
 * unexpected asset and no amount due), so the payment's own seen/confirmed/reverted is the
 * deposit's; "unattributed" never applies to an account's payment.
 */
export function depositEvents(types: readonly PaymentEventType[]): DepositEventType[] {
  const out: DepositEventType[] = [];
  for (const t of types) {
    if (t === "payment.seen") out.push("deposit.seen");
    else if (t === "payment.confirmed") out.push("deposit.confirmed");
    else if (t === "payment.reverted") out.push("deposit.reverted");
  }
  return out;
}

/** A payment into an open account's address, stored for the first time (caught up deep enough: both events). */
export function newDeposit(confirmed: boolean): { status: "seen" | "confirmed"; events: DepositEventType[] } {
  return confirmed
    ? { status: "confirmed", events: ["deposit.seen", "deposit.confirmed"] }
    : { status: "seen", events: ["deposit.seen"] };
}
