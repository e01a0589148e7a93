// Request shapes of the merchant API. Shape only; meaning (assets, rates, pool) is checked by the ledger.
import { z } from "zod";
import { ORDER_STATUSES } from "../core/reconcile.js";

const decimal = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const tolerance = /^(0|[1-9][0-9]*)(\.[0-9]+)?%?$/;

export const METADATA_MAX_DEPTH = 32;

/** True when a parsed JSON value nests at most `max` arrays/objects deep; iterative, so any depth is safe. */
export function nestsAtMost(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) return false;
    for (const child of Object.values(v as object)) stack.push([child, depth + 1]);
  }
  return true;
}

export const createOrderBody = z
  .object({
    merchant_order_id: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1–64 characters of A-Z a-z 0-9 . _ : -"),
    amount: z.string().max(80).regex(decimal, 'must be a decimal string like "12.5" (no sign, no exponent)'),
    currency: z
      .string()
      .regex(/^[A-Z0-9][A-Z0-9._-]{0,31}$/, "must be an asset id or an upper-case currency code"),
    assets: z.array(z.string().max(32)).min(1).max(32).optional(),
    valid_minutes: z.number().int().min(1).max(10080).optional(),
    callback_url: z
      .string()
      .max(2048)
      .refine((s) => {
        try {
          const u = new URL(s);
          return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
        } catch {
          return false;
        }
      }, "must be an http(s) URL without credentials"),
    return_url: z
      .string()
      .max(2048)
      .refine((s) => {
        try {
          const u = new URL(s);
          return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
        } catch {
          return false;
        }
      }, "must be an http(s) URL without credentials")
      .optional(),
    metadata: z
      .record(z.string(), z.unknown())
      .superRefine((m, ctx) => {
        // depth first: JSON.stringify (here, and in the request hash) recurses, so a hostile
        // 20,000-deep body would overflow the stack and answer 500
        if (!nestsAtMost(m, METADATA_MAX_DEPTH))
          ctx.addIssue({ code: "custom", message: `must nest at most ${METADATA_MAX_DEPTH} levels deep` });
        else if (Buffer.byteLength(JSON.stringify(m)) > 4096)
          ctx.addIssue({ code: "custom", message: "must be at most 4 KiB of JSON" });
      })
      .optional(),
    underpaid_tolerance: z
      .string()
      .max(40)
      .regex(tolerance, 'must be a decimal ("1.5") or a percentage ("0.5%")')
      .optional(),
    overpaid_tolerance: z
      .string()
      .max(40)
      .regex(tolerance, 'must be a decimal ("1.5") or a percentage ("0.5%")')
      .optional(),
  })
  .strict();

/** cancel, accept, redeliver: an empty body or `{}` */
export const noFields = z.object({}).strict();

export const assignBody = z.object({ order_id: z.string().min(1).max(64) }).strict();

export const listQuery = z
  .object({
    status: z.enum(ORDER_STATUSES).optional(),
    limit: z
      .string()
      .regex(/^[0-9]{1,3}$/, "must be 1–500")
      .transform(Number)
      .refine((n) => n >= 1 && n <= 500, "must be 1–500")
      .optional(),
    cursor: z.string().max(200).optional(),
    merchant_order_id: z.string().max(64).optional(),
  })
  .strict();
