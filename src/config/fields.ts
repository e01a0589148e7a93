// Field types the whole schema shares, and with it each chain kind's fragment
// (src/chains/<kind>/config.ts): kept apart so a fragment does not import the schema it is part of.
import { z } from "zod";

export const secretRef = z
  .union([
    z.string().min(1).describe("the secret itself (avoid in files others can read)"),
    z
      .object({ env: z.string().min(1).describe("name of an environment variable holding the secret") })
      .strict(),
    z
      .object({
        file: z
          .string()
          .min(1)
          .describe("path of a file holding the secret (systemd LoadCredential= works here)"),
      })
      .strict(),
  ])
  .describe("a secret: a literal string, { env: NAME } or { file: PATH }");
export type SecretRef = z.infer<typeof secretRef>;

export const httpUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an http(s) URL");
