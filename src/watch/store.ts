// What a watcher keeps about its chain beyond the ledger's cursor: the genesis it was first
// started on (migration 0002) and the oldest block it still has a hash of.
import type { DB } from "../db/index.js";
import { watchStatements } from "./statements.js";

export interface ChainStore {
  genesis(chain: string): string | undefined;
  saveGenesis(chain: string, genesis: string, now: number): void;
  /** the oldest stored block hash's number and parent hash */
  oldestBlock(chain: string): { number: number; parentHash: string } | undefined;
}

export function createChainStore(db: DB): ChainStore {
  const q = watchStatements(db);
  return {
    genesis: (chain) => q.genesis.get(chain),
    saveGenesis: (chain, g, now) => void q.saveGenesis.run(chain, g, now),
    oldestBlock: (chain) => q.oldestBlock.get(chain),
  };
}
