// The Bitcoin chain adapter: one interface, two backends (chain.backend).
import type { ChainAdapter } from "../types.js";
import { createCoreAdapter } from "./core.js";
import { createEsploraAdapter } from "./esplora.js";
import type { BitcoinAdapterArgs } from "./shared.js";

export type { BitcoinAdapterArgs, BitcoinChainConfig } from "./shared.js";

export function createBitcoinAdapter(args: BitcoinAdapterArgs): ChainAdapter {
  return args.chain.backend === "esplora" ? createEsploraAdapter(args) : createCoreAdapter(args);
}
