// The package's entry (`import { verifySignature, type DepositdEvent } from "depositd"`): what a
// merchant's code needs to receive callbacks. It loads node:crypto only, never the daemon.
import type { EventType } from "./ledger/index.js";
import type { OrderJson, PaymentJson } from "./ledger/view.js";

export { verifySignature } from "./notify/verify.js";
export type { VerifyOptions } from "./notify/verify.js";
export type { EventType, OrderJson, PaymentJson };

/** The JSON body of a callback (docs/webhooks.md), exactly as signed. */
export interface DepositdEvent {
  id: string;
  type: EventType;
  /** the event's number within its order; null for events without an order */
  seq: number | null;
  created_at: string;
  order: OrderJson | null;
  payment: PaymentJson | null;
}
