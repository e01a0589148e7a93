// EVM chain kind: config fragment, adapter and address rules (the local anvil node and test
// token of `depositd dev` live in src/dev/).
export {
  type EvmAdapterArgs,
  type EvmChainConfig,
  LOG_RANGE,
  TRANSFER_TOPIC,
  createEvmAdapter,
} from "./adapter.js";
export { createEvmAddressCodec, createEvmDeriver } from "./address.js";
export { evmConfig } from "./config.js";
