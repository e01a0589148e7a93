// Config and watched-set builders shared by the Bitcoin adapter tests.
import type { AssetConfig } from "../../../src/config/schema.js";
import type { BitcoinChainConfig } from "../../../src/chains/bitcoin/adapter.js";
import type { WatchedSet } from "../../../src/chains/types.js";
import { CHAIN_TEST_DEFAULTS } from "../../helpers/config.js";

export function bitcoinChain(rpc: string, overrides: Partial<BitcoinChainConfig> = {}): BitcoinChainConfig {
  return {
    id: "btc",
    kind: "bitcoin",
    backend: "core",
    network: "regtest",
    rpc: [rpc],
    mempool: false,
    ...CHAIN_TEST_DEFAULTS,
    ...overrides,
  };
}

export const BTC: AssetConfig[] = [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 1, enabled: true }];

export function watchedSet(addresses: Iterable<string>): WatchedSet & { add(a: string): void } {
  const set = new Set(addresses);
  return {
    has: (a) => set.has(a),
    get size() {
      return set.size;
    },
    add: (a) => void set.add(a),
  };
}

/** `count` syntactically plausible addresses nobody pays: a large watched set. */
export function manyAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bcrt1qunpaid${i.toString().padStart(8, "0")}`);
}
