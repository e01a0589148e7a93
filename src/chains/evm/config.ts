// What an EVM chain adds to a chain's config (composed by src/config/schema.ts), its defaults and
// the rules its assets follow. No adapter code here: the config loads without any chain's code.
import { z } from "zod";
import type { ChainKindConfig } from "../kinds.js";

export const evmConfig = {
  kind: "evm",
  fields: {
    kind: z.literal("evm"),
    chain_id: z.number().int().min(1).describe("EIP-155 chain id, checked against the node at start"),
    finality: z.enum(["latest", "finalized", "safe"]).default("latest").describe("which head tag to follow"),
    receipts: z
      .enum(["block", "transaction"])
      .default("block")
      .describe("eth_getBlockReceipts (block) or per-transaction receipts"),
    native_internal: z
      .enum(["none", "trace"])
      .default("none")
      .describe(
        "trace: also find native coin sent to watched addresses inside contract execution (debug_traceBlockByNumber with callTracer, one call per non-empty block)",
      ),
  },
  reorgDepth: 64,
  // keys live in the URLs (redacted everywhere)
  secret: () => undefined,
  assets: { contracts: true, solidified: false },
} as const satisfies ChainKindConfig;
