// EVM chain kind: adapter, address rules, and the local anvil node used by `depositd dev`.
export {
  type EvmAdapterArgs,
  type EvmChainConfig,
  LOG_RANGE,
  TRANSFER_TOPIC,
  createEvmAdapter,
} from "./adapter.js";
export { createEvmAddressCodec, createEvmDeriver } from "./address.js";
export { type AnvilOptions, type AnvilProcess, anvilBinary, freePort, spawnAnvil } from "./anvil.js";
export {
  type TestTokenArtifact,
  deployTestToken,
  loadTestToken,
  testTokenDeployData,
  testTokenInterface,
} from "./test-token.js";
