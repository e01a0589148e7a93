// The watch harness on an anvil chain with ETH and one ERC-20, a static pool of fresh addresses.
import { evmPoolText } from "./config.js";
import { createWatchHarness } from "./watch-harness.js";

export interface EvmWatchOptions {
  rpc: string[];
  token: string;
  startBlock: number;
  ethConfirmations?: number;
  tokenConfirmations?: number;
  pool?: number;
  dbPath?: string;
  blocksPerScan?: number;
  reorgDepth?: number;
  /** EVM native_internal (default none) */
  nativeInternal?: "none" | "trace";
  /** the daemon's clock (default the machine's) */
  now?: () => number;
  lateWindowMinutes?: number;
  /** use this pool text (a restart over the same database keeps its pool) */
  poolText?: { text: string; addresses: string[] };
}

export function createEvmWatch(o: EvmWatchOptions) {
  const pool = o.poolText ?? evmPoolText(o.pool ?? 8);
  const h = createWatchHarness({
    dbPath: o.dbPath,
    now: o.now,
    lateWindowMinutes: o.lateWindowMinutes,
    poolText: o.pool === 0 ? undefined : pool.text,
    rates: { USD: { ETH: "3000", "USDT-ERC20": "1" } },
    chain: {
      id: "anvil",
      kind: "evm",
      rpc: o.rpc,
      chain_id: 31337,
      poll_interval_ms: 50,
      start_block: o.startBlock,
      blocks_per_scan: o.blocksPerScan ?? 500,
      ...(o.reorgDepth ? { reorg_depth: o.reorgDepth } : {}),
      ...(o.nativeInternal ? { native_internal: o.nativeInternal } : {}),
      request_timeout_ms: 2000,
      pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
    },
    assets: [
      { id: "ETH", chain: "anvil", decimals: 18, confirmations: o.ethConfirmations ?? 1 },
      {
        id: "USDT-ERC20",
        chain: "anvil",
        contract: o.token,
        decimals: 6,
        confirmations: o.tokenConfirmations ?? 1,
      },
    ],
  });
  return {
    ...h,
    pool: pool.addresses,
    /** like the harness's, in USDT-ERC20 unless told otherwise */
    createOrder: (input: Omit<Parameters<typeof h.createOrder>[0], "currency"> & { currency?: string }) =>
      h.createOrder({ currency: "USDT-ERC20", ...input }),
  };
}
