// Each chain kind's adapter, address codec and deriver (their config fragments: src/chains/kinds.ts).
import type { Logger } from "pino";
import type { AssetConfig, ChainConfig } from "../config/schema.js";
export { chainSecretOf, reorgDepthOf } from "./kinds.js";
import { createBitcoinAdapter } from "./bitcoin/adapter.js";
import { createBitcoinAddressCodec, createBitcoinDeriver } from "./bitcoin/address.js";
import { createEvmAdapter } from "./evm/adapter.js";
import { createEvmAddressCodec, createEvmDeriver } from "./evm/address.js";
import { createTronAdapter } from "./tron/adapter.js";
import { createTronAddressCodec, createTronDeriver } from "./tron/address.js";
import type { AddressCodec, AddressDeriver, ChainAdapter } from "./types.js";

export function addressCodecFor(chain: ChainConfig): AddressCodec {
  switch (chain.kind) {
    case "evm":
      return createEvmAddressCodec();
    case "tron":
      return createTronAddressCodec();
    case "bitcoin":
      return createBitcoinAddressCodec(chain.network);
  }
}

/** null for static pools */
export function deriverFor(chain: ChainConfig): AddressDeriver | null {
  const pool = chain.pool;
  if (pool.source !== "xpub") return null;
  switch (chain.kind) {
    case "evm":
      return createEvmDeriver(pool.xpub, { path: pool.path });
    case "tron":
      return createTronDeriver(pool.xpub, { path: pool.path });
    case "bitcoin":
      return createBitcoinDeriver(pool.xpub, pool.script, chain.network, { path: pool.path });
  }
}

export interface AdapterDeps {
  logger?: Logger;
  secret?: string;
  /** `status`: the HTTP status of the answer, null when none came (passed through to the transport) */
  onRequest?: (url: string, ok: boolean, ms: number, status?: number | null) => void;
}

export function adapterFor(chain: ChainConfig, assets: AssetConfig[], deps: AdapterDeps): ChainAdapter {
  const common = { assets, logger: deps.logger, onRequest: deps.onRequest };
  switch (chain.kind) {
    case "evm":
      return createEvmAdapter({ chain, ...common });
    case "tron":
      return createTronAdapter({ chain, ...common, apiKey: deps.secret, solidityRpc: chain.solidity_rpc });
    case "bitcoin":
      return createBitcoinAdapter({ chain, ...common, auth: deps.secret });
  }
}
