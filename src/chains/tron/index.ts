// Tron (TRX + TRC-20) through the java-tron HTTP API: config fragment, adapter, addresses.
export { createTronAdapter, type TronAdapterArgs, TRON_BLOCKS_PER_REQUEST } from "./adapter.js";
export { createTronAddressCodec, createTronDeriver, tronBase58ToHex, tronHexToBase58 } from "./address.js";
export { tronConfig } from "./config.js";
