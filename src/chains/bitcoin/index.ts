// Bitcoin: config fragment, addresses (codec, xpub deriver) and the chain adapter (Core JSON-RPC or Esplora REST).
export { createBitcoinAdapter, type BitcoinAdapterArgs, type BitcoinChainConfig } from "./adapter.js";
export {
  createBitcoinAddressCodec,
  createBitcoinDeriver,
  type BitcoinNetwork,
  type BitcoinScript,
} from "./address.js";
export { bitcoinConfig } from "./config.js";
