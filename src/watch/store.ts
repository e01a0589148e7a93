// What a watcher keeps about its chain beyond the ledger's cursor: the genesis it was first
// started on (migration 0002) and the oldest block it still has a hash of.
import type { DB } from "../db/index.js";

export interface ChainStore {
  genesis(chain: string): string | undefined;
  saveGenesis(chain: string, genesis: string, now: number): void;
  /** the oldest stored block hash's number and parent hash */
  oldestBlock(chain: string): { number: number; parentHash: string } | undefined;
}

export function createChainStore(db: DB): ChainStore {
  const genesis = db.prepare<[string], string>("SELECT genesis FROM chain_identity WHERE chain = ?").pluck();
  const save = db.prepare(
    "INSERT INTO chain_identity (chain, genesis, first_seen_at) VALUES (?, ?, ?) ON CONFLICT (chain) DO NOTHING",
  );
  const oldest = db.prepare<[string], { number: number; parentHash: string }>(
    "SELECT number, parent_hash AS parentHash FROM chain_blocks WHERE chain = ? ORDER BY number LIMIT 1",
  );
  return {
    genesis: (chain) => genesis.get(chain),
    saveGenesis: (chain, g, now) => void save.run(chain, g, now),
    oldestBlock: (chain) => oldest.get(chain),
  };
}
