// The test ERC-20 (contracts/TestToken.sol, compiled by scripts/compile-contract.mjs) that
// `depositd dev` and the tests deploy on a local anvil.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AbiCoder, Interface, type InterfaceAbi } from "ethers";
import { NonRetryableError } from "../errors.js";
import { packageRoot } from "../paths.js";

export interface TestTokenArtifact {
  abi: InterfaceAbi;
  bytecode: string;
}

let cached: TestTokenArtifact | undefined;

export function loadTestToken(): TestTokenArtifact {
  if (!cached) {
    const raw = JSON.parse(
      readFileSync(join(packageRoot(), "contracts", "TestToken.json"), "utf8"),
    ) as TestTokenArtifact;
    cached = { abi: raw.abi, bytecode: raw.bytecode };
  }
  return cached;
}

export function testTokenInterface(): Interface {
  return new Interface(loadTestToken().abi);
}

/** Creation code with constructor arguments, for eth_sendTransaction { data }. */
export function testTokenDeployData(name: string, symbol: string, decimals: number): string {
  const args = AbiCoder.defaultAbiCoder().encode(["string", "string", "uint8"], [name, symbol, decimals]);
  return loadTestToken().bytecode + args.slice(2);
}

type Rpc = (method: string, params: unknown[]) => Promise<unknown>;

/** Deploy from an unlocked account (anvil dev accounts); returns the lower-case token address. */
export async function deployTestToken(
  rpc: Rpc,
  from: string,
  opts: { name?: string; symbol?: string; decimals?: number; timeoutMs?: number } = {},
): Promise<string> {
  const data = testTokenDeployData(opts.name ?? "Test USD", opts.symbol ?? "TUSD", opts.decimals ?? 6);
  const txHash = (await rpc("eth_sendTransaction", [{ from, data, gas: "0x200000" }])) as string;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    const receipt = (await rpc("eth_getTransactionReceipt", [txHash])) as {
      status: string;
      contractAddress: string | null;
    } | null;
    if (receipt) {
      if (receipt.status !== "0x1" || !receipt.contractAddress)
        throw new NonRetryableError(`TestToken deployment failed (${txHash})`);
      return receipt.contractAddress.toLowerCase();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new NonRetryableError(`TestToken deployment not mined (${txHash}); is the node mining?`);
}
