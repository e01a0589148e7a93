// The errors depositd throws on purpose, and the stable problem codes of its HTTP API.
// Every error class derives from DepositdError, so `cause` (what went wrong underneath) and
// `details` (structured facts for the log) are always in the same place.

export interface ErrorOptions {
  /** the error underneath, kept for the log (Error.cause) */
  cause?: unknown;
  /** structured facts about the failure (chain, block, field …), for the log; never secrets */
  details?: Record<string, unknown>;
}

export class DepositdError extends Error {
  override name = "DepositdError";
  readonly details?: Record<string, unknown>;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.details) this.details = opts.details;
  }
}

/** Errors by what the caller can do about them (as ponder's internal/errors.ts): try again later… */
export class RetryableError extends DepositdError {
  override name = "RetryableError";
}
/** …or not: retrying cannot help (a node on the wrong network, a bad argument, a deep reorg). */
export class NonRetryableError extends DepositdError {
  override name = "NonRetryableError";
}

export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * The stable problem codes (RFC 9457 `type` = urn:depositd:problem:<code>), in one table as
 * fastify's FST_ERR_* codes are. docs/api.md mirrors it row by row (test/ops/docs.test.ts).
 */
export const PROBLEMS = {
  validation: {
    status: 400,
    title: "The request is not valid",
    when: "a field, query parameter or cursor is invalid; `errors` lists each by path",
  },
  bad_json: { status: 400, title: "The body is not valid JSON", when: "the body is not valid JSON" },
  unauthorized: {
    status: 401,
    title: "Missing or wrong API key",
    when: "no `Authorization: Bearer` header, or an unknown key",
  },
  forbidden: {
    status: 403,
    title: "Not allowed for this API key",
    when:
      "the key's role or scopes do not allow this operation (an operator endpoint with a merchant key, " +
      "a write with a read-only key); nothing about the resource is revealed",
  },
  not_found: {
    status: 404,
    title: "Not found",
    when: "no such order/payment/event for this key, or no such endpoint",
  },
  method_not_allowed: {
    status: 405,
    title: "Method not allowed",
    when: "the path exists but not with this method (`Allow` lists the methods)",
  },
  conflict: {
    status: 409,
    title: "Conflict with the current state",
    when:
      "same `merchant_order_id` with another body; cancelling a paid order; accepting an order that " +
      "is not underpaid; assigning an attributed or reverted payment; redelivering an event without URL",
  },
  payload_too_large: {
    status: 413,
    title: "Request body too large",
    when: "the body exceeds `api.max_body_bytes`",
  },
  unsupported_media_type: {
    status: 415,
    title: "Content-Type must be application/json",
    when: "a body without `Content-Type: application/json`",
  },
  pool_exhausted: {
    status: 503,
    title: "No free deposit address",
    when: "a chain has no free deposit address; nothing was bound",
  },
  rates_unavailable: {
    status: 503,
    title: "No fresh exchange rate",
    when: "a pair the order needs has no fresh, agreed live rate; `errors` name the pairs; nothing was bound",
  },
  unavailable: {
    status: 503,
    title: "Temporarily unavailable",
    when: "the daemon is shutting down, or the database cannot be written right now",
  },
  internal: {
    status: 500,
    title: "Internal error",
    when: "a bug: report it with the daemon's log around that time",
  },
} as const;
export type ProblemCode = keyof typeof PROBLEMS;
export const PROBLEM_CODES = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]];

/** An error that becomes an application/problem+json answer (in the API) or one CLI error line. */
export class ProblemError extends DepositdError {
  override name = "ProblemError";
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: FieldProblem[],
    opts: ErrorOptions = {},
  ) {
    super(detail, opts);
    this.status = PROBLEMS[code].status;
  }

  toJSON(): Record<string, unknown> {
    return {
      type: `urn:depositd:problem:${this.code}`,
      title: PROBLEMS[this.code].title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}
