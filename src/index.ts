// The package's entry (`import { verifySignature, type DepositdEvent } from "depositd"`): what a
// merchant's code needs to receive callbacks. At run time it loads node:crypto only, never the daemon.
import type { CallbackBody } from "./api/schemas.js";

export { verifySignature } from "./notify/verify.js";
export type { VerifyOptions } from "./notify/verify.js";
export type { OrderJson, PaymentJson } from "./api/schemas.js";

/** The JSON body of a callback (docs/webhooks.md), exactly as signed. */
export type DepositdEvent = CallbackBody;
