// Drives a test anvil: deploy the TestToken, send ETH and tokens, make transfers fail, mine.
// Transactions go through eth_sendTransaction from anvil's unlocked dev accounts, so anvil
// assigns nonces itself (nothing to reset after anvil_reorg).
import { JsonRpcProvider } from "ethers";
import { deployTestToken, testTokenInterface } from "../../src/dev/test-token.js";
import { type TestAnvil, startAnvil } from "./anvil.js";

export interface MinedTx {
  hash: string;
  blockNumber: number;
  blockHash: string;
  status: "success" | "reverted";
  /** log index of each log the transaction emitted */
  logIndexes: number[];
}

export interface EvmKit {
  provider: JsonRpcProvider;
  /** anvil's dev accounts, lower-case */
  accounts: string[];
  send(tx: { from?: string; to: string; value?: bigint; data?: string; gas?: bigint }): Promise<MinedTx>;
  sendEth(to: string, wei: bigint, from?: string): Promise<MinedTx>;
  /** an ETH transfer to `to` that fails: `to` gets code that always reverts */
  sendEthReverting(to: string, wei: bigint, from?: string): Promise<MinedTx>;
  /** deploys from accounts[0] (the token owner) */
  deployToken(opts?: { decimals?: number; name?: string; symbol?: string }): Promise<string>;
  mintToken(token: string, to: string, amount: bigint): Promise<MinedTx>;
  sendToken(token: string, to: string, amount: bigint, from?: string): Promise<MinedTx>;
  /** a token transfer that is mined and reverts (the token's failTransfers switch) */
  sendTokenReverting(token: string, to: string, amount: bigint, from?: string): Promise<MinedTx>;
  mine(blocks?: number): Promise<void>;
  blockNumber(): Promise<number>;
  close(): void;
}

export async function createEvmKit(url: string): Promise<EvmKit> {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const rpc = (method: string, params: unknown[] = []) => provider.send(method, params) as Promise<unknown>;
  const accounts = ((await rpc("eth_accounts")) as string[]).map((a) => a.toLowerCase());
  const token = testTokenInterface();
  const owner = accounts[0]!;

  async function send(tx: {
    from?: string;
    to: string;
    value?: bigint;
    data?: string;
    gas?: bigint;
  }): Promise<MinedTx> {
    const req: Record<string, string> = { from: tx.from ?? owner, to: tx.to };
    if (tx.value !== undefined) req.value = "0x" + tx.value.toString(16);
    if (tx.data !== undefined) req.data = tx.data;
    // An explicit gas limit skips estimation, so transactions that revert are still mined.
    if (tx.gas !== undefined) req.gas = "0x" + tx.gas.toString(16);
    const hash = (await rpc("eth_sendTransaction", [req])) as string;
    for (let i = 0; i < 400; i++) {
      const r = (await rpc("eth_getTransactionReceipt", [hash])) as {
        blockNumber: string;
        blockHash: string;
        status: string;
        logs: { logIndex: string }[];
      } | null;
      if (r) {
        return {
          hash: hash.toLowerCase(),
          blockNumber: Number(r.blockNumber),
          blockHash: r.blockHash.toLowerCase(),
          status: r.status === "0x1" ? "success" : "reverted",
          logIndexes: r.logs.map((l) => Number(l.logIndex)),
        };
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`transaction ${hash} not mined`);
  }

  return {
    provider,
    accounts,
    send,
    sendEth: (to, wei, from) => send({ from, to, value: wei }),
    async sendEthReverting(to, wei, from) {
      await rpc("anvil_setCode", [to, "0x60006000fd"]); // PUSH1 0 PUSH1 0 REVERT
      return send({ from, to, value: wei, gas: 100_000n });
    },
    deployToken: (opts) => deployTestToken(rpc, owner, opts),
    mintToken: (t, to, amount) => send({ to: t, data: token.encodeFunctionData("mint", [to, amount]) }),
    sendToken: (t, to, amount, from) =>
      send({ from, to: t, data: token.encodeFunctionData("transfer", [to, amount]) }),
    async sendTokenReverting(t, to, amount, from) {
      await send({ to: t, data: token.encodeFunctionData("setFailTransfers", [true]) });
      try {
        return await send({
          from,
          to: t,
          data: token.encodeFunctionData("transfer", [to, amount]),
          gas: 200_000n,
        });
      } finally {
        await send({ to: t, data: token.encodeFunctionData("setFailTransfers", [false]) });
      }
    },
    async mine(blocks = 1) {
      await rpc("anvil_mine", ["0x" + blocks.toString(16)]);
    },
    async blockNumber() {
      return Number(await rpc("eth_blockNumber"));
    },
    close: () => provider.destroy(),
  };
}

export interface TokenChain {
  anvil: TestAnvil;
  kit: EvmKit;
  /** the test ERC-20 ("USDT", 6 decimals), lower-case */
  token: string;
  stop(): Promise<void>;
}

/** A fresh anvil (chain id 31337) with the test ERC-20 deployed and minted to the payer, accounts[1]. */
export async function startTokenChain(mint = 10n ** 15n): Promise<TokenChain> {
  const anvil = await startAnvil({ chainId: 31337 });
  const kit = await createEvmKit(anvil.url);
  const token = await kit.deployToken({ decimals: 6, symbol: "USDT" });
  await kit.mintToken(token, kit.accounts[1]!, mint);
  return {
    anvil,
    kit,
    token,
    async stop() {
      kit.close();
      await anvil.stop();
    },
  };
}
