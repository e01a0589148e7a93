// A contract that forwards the ETH it is called with: the "smart-contract wallet" of the
// native_internal tests. Handwritten EVM bytecode (no solc needed), 39 bytes of runtime:
//   calldata = target (32 bytes) ‖ revertFlag (32 bytes) ‖ data for the target
//   CALL(gas, target, callvalue, data); ignore its success; REVERT if revertFlag ≠ 0, else STOP.
// A forwarder calling another forwarder whose flag is set makes a transfer inside a reverted
// frame of a transaction that succeeds.
import type { EvmKit, MinedTx } from "./evm.js";

const RUNTIME =
  "6040360360406000376000600060403603600034600035" + // CALLDATACOPY(0, 64, size−64); CALL args
  "5af150" + // CALL(gas, …); POP its result
  "602035602157" + // JUMPI(0x21, calldata[32])
  "00" + // STOP
  "5b60006000fd"; // 0x21: JUMPDEST; REVERT(0, 0)
/** CODECOPY the runtime (39 bytes at offset 12) and RETURN it */
const INIT = "6027600c60003960276000f3" + RUNTIME;

const word = (hex: string) => hex.replace(/^0x/, "").padStart(64, "0");

/** calldata that makes a forwarder send its value to `target` (then revert when `revert`) */
export function forwardCall(target: string, revert = false, inner = ""): string {
  return "0x" + word(target) + word(revert ? "1" : "0") + inner.replace(/^0x/, "");
}

export async function deployForwarder(kit: EvmKit): Promise<string> {
  const hash = (await kit.provider.send("eth_sendTransaction", [
    { from: kit.accounts[0], data: "0x" + INIT },
  ])) as string;
  for (let i = 0; i < 400; i++) {
    const r = (await kit.provider.send("eth_getTransactionReceipt", [hash])) as {
      contractAddress: string;
      status: string;
    } | null;
    if (r) {
      if (r.status !== "0x1") throw new Error("forwarder deployment reverted");
      return r.contractAddress.toLowerCase();
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("forwarder deployment not mined");
}

/** value → forwarder → target, in one top-level transaction */
export function forward(
  kit: EvmKit,
  forwarder: string,
  target: string,
  wei: bigint,
  opts: { revert?: boolean; from?: string } = {},
): Promise<MinedTx> {
  return kit.send({
    from: opts.from,
    to: forwarder,
    value: wei,
    data: forwardCall(target, opts.revert),
    gas: 300_000n,
  });
}

/** value → forwarder → forwarder (which sends to target, then reverts) → the outer one succeeds */
export function forwardThroughRevertingFrame(
  kit: EvmKit,
  forwarder: string,
  target: string,
  wei: bigint,
): Promise<MinedTx> {
  return kit.send({
    to: forwarder,
    value: wei,
    data: forwardCall(forwarder, false, forwardCall(target, true)),
    gas: 300_000n,
  });
}
