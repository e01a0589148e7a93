// What a Bitcoin chain adds to a chain's config (composed by src/config/schema.ts), its defaults,
// its secret and the rules its assets follow. No adapter code here.
import { z } from "zod";
import { type SecretRef, secretRef } from "../../config/fields.js";
import type { ChainKindConfig } from "../kinds.js";

export const bitcoinConfig = {
  kind: "bitcoin",
  fields: {
    kind: z.literal("bitcoin"),
    backend: z.enum(["core", "esplora"]).default("core").describe("Bitcoin Core JSON-RPC or Esplora REST"),
    network: z
      .enum(["mainnet", "testnet", "regtest"])
      .default("mainnet")
      .describe("checked against the node at start"),
    rpc_auth: secretRef
      .optional()
      .describe("core: user:password (or put it in the URL); cookie via { file }"),
    mempool: z.boolean().default(false).describe("report unconfirmed payments from the mempool as seen"),
  },
  reorgDepth: 12,
  secret: (c: { rpc_auth?: SecretRef }) =>
    c.rpc_auth === undefined ? undefined : { field: "rpc_auth", ref: c.rpc_auth },
  assets: { contracts: false, solidified: false },
} as const satisfies ChainKindConfig;
