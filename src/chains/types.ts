// The one interface every chain kind implements. The watcher loop (src/watch/) is
// chain-independent: it only ever talks to a ChainAdapter. Adding a chain kind means adding a
// folder under src/chains/ and one line in src/chains/index.ts.
import { DepositdError } from "../errors.js";

/** A block's identity: what the reorg check compares. Timestamps are ms since the epoch. */
export interface BlockRef {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** One transfer INTO a watched address, as found on chain. */
export interface Transfer {
  txid: string;
  /** log index (EVM/Tron tokens), output index (Bitcoin), 0 for a native top-level transfer */
  index: number;
  /** asset id from the config (the adapter maps contracts to assets) */
  asset: string;
  /** canonical address form (see AddressCodec.parse) */
  address: string;
  amount: bigint;
  /** the block it is in; null for a mempool transaction */
  block: { number: number; hash: string; timestamp: number } | null;
  /** the chain's own floor on confirmations before this can be spent (Bitcoin coinbase: 100) */
  minConfirmations?: number;
}

/** The addresses being watched, in canonical form. Matching is local: never one RPC call per address. */
export interface WatchedSet {
  has(address: string): boolean;
  readonly size: number;
}

export interface ScanResult {
  /** identity of every block in [from, to], in ascending order, each the parent of the next */
  blocks: BlockRef[];
  /** transfers into watched addresses within those blocks, only successful transactions */
  transfers: Transfer[];
}

export interface Heads {
  /** highest block to scan */
  head: number;
  /** highest irreversible block where the chain has such a notion (Tron solidified, EVM finalized) */
  solid?: number;
}

export interface ChainAdapter {
  readonly kind: "evm" | "tron" | "bitcoin";
  readonly chain: string;
  /** Start-up checks against the node (chain id / network). Throws NonRetryableError on mismatch. */
  init(): Promise<void>;
  heads(): Promise<Heads>;
  /** Identity of one block; null if the node does not have it (yet). */
  block(number: number): Promise<BlockRef | null>;
  /** Everything needed to find transfers into `watched` in [from, to]; calls do not grow with watched.size. */
  scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult>;
  /** Unconfirmed transfers into watched addresses (Bitcoin mempool); absent where unsupported. */
  mempool?(watched: WatchedSet): Promise<Transfer[]>;
  close?(): Promise<void>;
}

export class InvalidAddressError extends DepositdError {
  override name = "InvalidAddressError";
}

/** Address rules of one configured chain. */
export interface AddressCodec {
  /** Validate (checksum included) and return the canonical form used in storage and matching,
   *  and the display form handed to customers. Throws InvalidAddressError naming the problem. */
  parse(text: string): { canonical: string; display: string };
}

/** Watch-only derivation of a chain's pool addresses from an account-level extended public key. */
export interface AddressDeriver {
  /** address at <account>/0/index */
  derive(index: number): { canonical: string; display: string };
}
