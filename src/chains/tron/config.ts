// What a Tron chain adds to a chain's config (composed by src/config/schema.ts), its defaults, its
// secret and the rules its assets follow. No adapter code here.
import { z } from "zod";
import { type SecretRef, httpUrl, secretRef } from "../../config/fields.js";
import type { ChainKindConfig } from "../kinds.js";

export const tronConfig = {
  kind: "tron",
  fields: {
    kind: z.literal("tron"),
    api_key: secretRef.optional().describe("sent as TRON-PRO-API-KEY"),
    solidity_rpc: z
      .array(httpUrl)
      .min(1)
      .optional()
      .describe(
        "base URLs for /walletsolidity/* (java-tron serves them on port 8091); default: the rpc URLs",
      ),
  },
  reorgDepth: 32,
  secret: (c: { api_key?: SecretRef }) =>
    c.api_key === undefined ? undefined : { field: "api_key", ref: c.api_key },
  assets: { contracts: true, solidified: true },
} as const satisfies ChainKindConfig;
