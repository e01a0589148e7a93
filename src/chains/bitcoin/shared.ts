// Pieces both Bitcoin backends (Core JSON-RPC, Esplora REST) use.
import type { Logger } from "pino";
import type { AssetConfig, ChainConfig } from "../../config/schema.js";
import { NonRetryableError } from "../../errors.js";

export type BitcoinChainConfig = Extract<ChainConfig, { kind: "bitcoin" }>;

export interface BitcoinAdapterArgs {
  chain: BitcoinChainConfig;
  assets: AssetConfig[];
  /** "user:password" for Bitcoin Core (rpc_auth resolved, or a .cookie file's content) */
  auth?: string;
  logger?: Logger;
  onRequest?: (url: string, ok: boolean, ms: number) => void;
}

export const GENESIS_PARENT = "0".repeat(64);

/** Genesis block hashes, to check an Esplora server serves the configured network. */
export const GENESIS_HASHES: Record<BitcoinChainConfig["network"], string[]> = {
  mainnet: ["000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"],
  // testnet3 and testnet4
  testnet: [
    "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043",
  ],
  regtest: ["0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"],
};

/** The chain's native asset id (BTC): every Bitcoin transfer is in it. */
export function nativeAssetOf(chain: BitcoinChainConfig, assets: AssetConfig[]): string {
  const native = assets.find((a) => a.chain === chain.id && !a.contract);
  if (!native)
    throw new NonRetryableError(
      `chain "${chain.id}": no asset without a contract (its native coin) is configured`,
    );
  return native.id;
}

/** Addresses as the codec stores them: bech32 lower-cased, base58 untouched. */
export function canonicalAddress(address: string): string {
  return /^(bc|tb|bcrt)1/i.test(address) ? address.toLowerCase() : address;
}

/**
 * The genesis a backend starts from: the pinned one (`genesis`) must match what the database stored
 * at first start (`known`); without a pin, the stored one. Both lower-case hex without 0x.
 */
export function startGenesis(
  chain: BitcoinChainConfig,
  genesis: string | undefined,
  known: { genesis?: string } | undefined,
): string | undefined {
  const stored = known?.genesis?.toLowerCase().replace(/^0x/, "");
  if (genesis !== undefined && stored !== undefined && stored !== genesis)
    throw new NonRetryableError(
      `chain "${chain.id}": config pins genesis ${genesis}, but this database was built on genesis ${stored}`,
    );
  return genesis ?? stored;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** a coinbase output can be spent only after 100 confirmations (consensus rule) */
export const COINBASE_MATURITY = 100;
