// The chain kinds as config knows them: each kind's fragment, defaults, secret and asset rules,
// from src/chains/<kind>/config.ts. Adding a kind is a folder and a line here (and one in
// src/chains/index.ts for its adapter). Nothing here loads a chain's code.
import type { z } from "zod";
import type { SecretRef } from "../config/fields.js";
import { bitcoinConfig } from "./bitcoin/config.js";
import { evmConfig } from "./evm/config.js";
import { tronConfig } from "./tron/config.js";

export interface ChainKindConfig {
  kind: string;
  /** the fields this kind adds to a chain's config (`kind` as a literal among them) */
  fields: z.ZodRawShape;
  /** blocks kept to detect reorgs when the chain sets no reorg_depth */
  reorgDepth: number;
  /** the chain's one secret (sent to its nodes) and the config field it is read from; none: undefined */
  secret: (chain: never) => { field: string; ref: SecretRef } | undefined;
  /** which asset settings this kind's assets may use */
  assets: { contracts: boolean; solidified: boolean };
}

export const CHAIN_KINDS = { evm: evmConfig, tron: tronConfig, bitcoin: bitcoinConfig } as const;
export type ChainKindName = keyof typeof CHAIN_KINDS;

const kinds = Object.values(CHAIN_KINDS) as readonly ChainKindConfig[];

/** "64 evm, 32 tron, 12 bitcoin": one text over every kind, for descriptions and messages */
export function kindList(each: (k: ChainKindConfig) => string, sep = ", "): string {
  return kinds.map(each).join(sep);
}

/** The chain's node secret, if its kind has one and it is set. */
export function chainSecretOf(chain: { kind: ChainKindName }): { field: string; ref: SecretRef } | undefined {
  return (CHAIN_KINDS[chain.kind].secret as (c: unknown) => ReturnType<ChainKindConfig["secret"]>)(chain);
}

/** reorg_depth, or the kind's default */
export function reorgDepthOf(chain: { kind: ChainKindName; reorg_depth?: number }): number {
  return chain.reorg_depth ?? CHAIN_KINDS[chain.kind].reorgDepth;
}

/** What an asset on a chain of `kind` may not say, as the field and the message. */
export function assetIssues(
  kind: ChainKindName,
  asset: { contract?: string; confirmations: number | "solidified" },
): { field: string; message: string }[] {
  const rules = CHAIN_KINDS[kind].assets;
  const issues: { field: string; message: string }[] = [];
  if (asset.contract && !rules.contracts)
    issues.push({ field: "contract", message: `${kind} assets have no contract` });
  if (asset.confirmations === "solidified" && !rules.solidified) {
    const which = kinds
      .filter((k) => k.assets.solidified)
      .map((k) => k.kind)
      .join(" and ");
    issues.push({ field: "confirmations", message: `solidified is for ${which} chains only` });
  }
  return issues;
}
