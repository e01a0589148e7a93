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

/** How a payment was found: a top-level transaction's value, a token's Transfer log, a call
 *  frame inside contract execution (EVM native_internal: trace), a Bitcoin output. */
export type FoundVia = "transaction" | "log" | "trace" | "output";

/** One transfer INTO a watched address, as found on chain. */
export interface Transfer {
  txid: string;
  /** log index (EVM/Tron tokens), output index (Bitcoin), 0 for a native top-level transfer, the
   *  call frame's depth-first position (≥ 1; the top-level call is frame 0) for a traced one */
  index: number;
  /** how it was found; absent: inferred from the chain kind and asset (see paymentVia) */
  via?: FoundVia;
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

/**
 * The completeness rule, the same for every kind: scan() returns a ScanResult only when it can
 * check, from the blocks themselves, that every answer it used is whole. A well-formed answer
 * that disagrees with its block (EVM: a logsBloom that may hold a configured token's Transfer but
 * no log for that block — judged by the block's receipts, so a bloom false positive costs one
 * receipts call and is then accepted; logs or receipts naming another block hash; not one receipt
 * per transaction with matching hashes. Tron: not one transaction info per contract call of the
 * block. Esplora: fewer transactions served than the header's tx_count) is incomplete: scan()
 * throws RetryableError and asks its next URL on the retry. The watcher never moves its cursor
 * past a block that scan() did not return.
 */
export interface ScanResult {
  /** identity of every block in [from, to], in ascending order, each the parent of the next */
  blocks: BlockRef[];
  /** transfers into watched addresses within those blocks, only successful transactions */
  transfers: Transfer[];
}

/**
 * What a second URL says about a batch, for rpc_quorum (src/watch/quorum.ts compares it with the
 * first URL's ScanResult): every block's number → hash, and the transfers into watched addresses.
 * `unchecked`: ways of finding a transfer this answer does not cover; such transfers rest on the
 * first URL's word (EVM: traced frames, see docs/trust.md).
 */
export interface Agreement {
  blocks: { number: number; hash: string }[];
  transfers: Transfer[];
  unchecked?: FoundVia[];
}

/** Where rpc_quorum stands on one chain (absent: quorum 1). */
export interface QuorumStatus {
  size: number;
  /** URLs (redacted) that took part in an agreement or a disagreement, and how often each dissented */
  urls: { url: string; disagreements: number; last_at: number | null; last: string | null }[];
  /** the last disagreement, until a batch is agreed again */
  disagreeing: string | null;
}

/** What an adapter counted since it was made (bench, metrics). */
export interface AdapterStats {
  /** answers found incomplete by the completeness rule (each one retried) */
  incompleteAnswers: number;
  /** EVM: blocks whose bloom matched a configured token but whose receipts held no Transfer */
  bloomFalsePositives: number;
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
  /**
   * Start-up checks. Every RPC URL is identified (chain id / network, genesis block) before it
   * serves any answer, at start and again at every failover; a URL on another chain is
   * quarantined and never used. `known.genesis`: the genesis stored at first start. Returns the
   * genesis in use (pinned in config, stored, or the first URL's) for storing. Throws
   * NonRetryableError when no URL is usable or the config pin contradicts what was stored.
   */
  init(known?: { genesis?: string }): Promise<{ genesis: string }>;
  /** RPC URLs (redacted) quarantined for serving another chain, with why */
  quarantined?(): { url: string; reason: string }[];
  heads(): Promise<Heads>;
  /** Identity of one block; null if the node does not have it (yet). */
  block(number: number): Promise<BlockRef | null>;
  /** Everything needed to find transfers into `watched` in [from, to]; calls do not grow with watched.size. */
  scan(from: number, to: number, watched: WatchedSet): Promise<ScanResult>;
  /**
   * rpc_quorum's cheap second opinion on [from, to] (see Agreement); absent: a full scan() stands
   * in for it. Never used for committing: only compared.
   */
  agreement?(from: number, to: number, watched: WatchedSet): Promise<Agreement>;
  /** rpc_quorum's state (the quorum adapter only) */
  quorum?(): QuorumStatus;
  /** Unconfirmed transfers into watched addresses (Bitcoin mempool); absent where unsupported. */
  mempool?(watched: WatchedSet): Promise<Transfer[]>;
  stats?(): AdapterStats;
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
