// Errors that become application/problem+json (RFC 9457). Codes are stable; docs/api.md lists them.
export interface FieldProblem {
  path: string;
  message: string;
}

export const PROBLEMS = {
  validation: { status: 400, title: "The request is not valid" },
  bad_json: { status: 400, title: "The body is not valid JSON" },
  unauthorized: { status: 401, title: "Missing or wrong API key" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict with the current state" },
  payload_too_large: { status: 413, title: "Request body too large" },
  unsupported_media_type: { status: 415, title: "Content-Type must be application/json" },
  pool_exhausted: { status: 503, title: "No free deposit address" },
  rates_unavailable: { status: 503, title: "No fresh exchange rate" },
  unavailable: { status: 503, title: "Temporarily unavailable" },
  internal: { status: 500, title: "Internal error" },
} as const;
export type ProblemCode = keyof typeof PROBLEMS;

export class ProblemError extends Error {
  override name = "ProblemError";
  readonly status: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail);
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
