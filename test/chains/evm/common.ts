// Shared by the EVM adapter tests.
import { id as keccakText } from "ethers";
import type { EvmChainConfig } from "../../../src/chains/evm/adapter.js";
import type { WatchedSet } from "../../../src/chains/types.js";

export function chainConfig(url: string, over: Partial<EvmChainConfig> = {}): EvmChainConfig {
  return {
    id: "anvil",
    kind: "evm",
    rpc: [url],
    chain_id: 31337,
    poll_interval_ms: 1000,
    start_block: "latest",
    batch_size: 100,
    blocks_per_scan: 500,
    max_lag_blocks: 50,
    request_timeout_ms: 5000,
    finality: "latest",
    receipts: "block",
    pool: { source: "static", cooldown_minutes: 0, low_water: 0 },
    ...over,
  };
}

/** a deterministic address nobody holds a key for */
export const addressOf = (label: string) => keccakText(label).slice(0, 42);

export function watchedSet(addresses: string[]): WatchedSet {
  const set = new Set(addresses.map((a) => a.toLowerCase()));
  return { has: (a) => set.has(a), size: set.size };
}
