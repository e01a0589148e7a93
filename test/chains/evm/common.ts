// Shared by the EVM adapter tests.
import { id as keccakText } from "ethers";
import type { EvmChainConfig } from "../../../src/chains/evm/adapter.js";
import type { WatchedSet } from "../../../src/chains/types.js";
import { CHAIN_TEST_DEFAULTS } from "../../helpers/config.js";

export function chainConfig(url: string, over: Partial<EvmChainConfig> = {}): EvmChainConfig {
  return {
    id: "anvil",
    kind: "evm",
    rpc: [url],
    chain_id: 31337,
    ...CHAIN_TEST_DEFAULTS,
    finality: "latest",
    receipts: "block",
    native_internal: "none",
    ...over,
  };
}

/** a deterministic address nobody holds a key for */
export const addressOf = (label: string) => keccakText(label).slice(0, 42);

export function watchedSet(addresses: string[]): WatchedSet {
  const set = new Set(addresses.map((a) => a.toLowerCase()));
  return { has: (a) => set.has(a), size: set.size };
}
