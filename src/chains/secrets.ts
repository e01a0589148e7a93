// Which config field holds each chain kind's node secret: kept apart from the adapters so the
// config loader does not load every chain's code.
import type { ChainConfig, SecretRef } from "../config/schema.js";

/** The chain's one secret (sent to its nodes) and the config field it is read from; none: undefined. */
export function chainSecretOf(chain: ChainConfig): { field: string; ref: SecretRef } | undefined {
  switch (chain.kind) {
    case "evm":
      return undefined; // keys live in the URLs (redacted everywhere)
    case "tron":
      return chain.api_key === undefined ? undefined : { field: "api_key", ref: chain.api_key };
    case "bitcoin":
      return chain.rpc_auth === undefined ? undefined : { field: "rpc_auth", ref: chain.rpc_auth };
  }
}
