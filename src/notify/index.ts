// Signed callbacks: the outbox delivery worker, its signature scheme, target checks and operator tools.
export { createDeliveryWorker } from "./deliver.js";
export { classifyAttempt, retryDelayMs } from "./attempt.js";
export { RESPONSE_KEEP_BYTES } from "./send.js";
export { notifyMetrics } from "../metrics.js";
export type { DeliveryWorker, DeliveryWorkerArgs } from "./deliver.js";
export { signatureHeader } from "./sign.js";
export { verifySignature } from "./verify.js";
export type { VerifyOptions } from "./verify.js";
export { checkCallbackTarget, blockedAddressReason, publicOnlyLookup } from "./targets.js";
export { redeliverEvent, redeliverDead, listOrderEvents, listAccountEvents } from "./redeliver.js";
export type { OrderEventView, DeliveryAttemptView, EventState } from "./redeliver.js";
