// A mainnet-shaped benchmark chain: dense blocks (200 transactions each, 30 % of them ERC-20
// transfers, so many logs) where only a few transfers go to watched addresses — the shape of
// Ethereum mainnet, unlike the sparse catch-up chain of evm-chain.ts. Built once (3.5 min on a busy 2-core machine: each
// block's transactions are sent as one JSON-RPC array with automine off, then mined) and cached as
// an anvil state dump next to the other bench chain.
import { id as keccakText } from "ethers";
import { spawnAnvil } from "../src/dev/anvil.js";
import { deployTestToken, testTokenInterface } from "../src/dev/test-token.js";
import type { RpcCall } from "../src/rpc/jsonrpc.js";
import { BENCH_ANVIL_ARGS, type BenchChain, benchNodeClient, cachedChain, seeded } from "./evm-chain.js";

/** bump when the recipe changes, so stale caches are rebuilt */
const RECIPE = "evm-dense-v1";
export const DENSE_BLOCKS = 1_000;
export const DENSE_TXS_PER_BLOCK = 200;
/** share of a block's transactions that are ERC-20 transfers (one Transfer log each) */
export const DENSE_TOKEN_SHARE = 0.3;
/** transfers into watched addresses per block: one ETH, one token every other block */
const DEPOSIT_EVERY = 2;

export async function buildDenseChain(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<BenchChain> {
  const { watched, cached, save } = cachedChain(dir, RECIPE);
  if (cached) return cached;
  log(`building the dense benchmark chain (${DENSE_BLOCKS} × ${DENSE_TXS_PER_BLOCK} transactions) …`);
  const started = performance.now();
  const node = await spawnAnvil({
    // a gas limit with room for 200 transfers; anvil's default accounts hold 10,000 ETH each
    args: [...BENCH_ANVIL_ARGS, "--gas-limit", "60000000", "--accounts", "20"],
  });
  const client = benchNodeClient(node.url);
  const rpc = (method: string, params: unknown[] = []) => client.call(method, params);
  try {
    const chainId = Number(await rpc("eth_chainId"));
    const accounts = (await rpc("eth_accounts")) as string[];
    const owner = accounts[0]!;
    const senders = accounts.slice(1);
    const token = await deployTestToken(rpc, owner, { decimals: 6, symbol: "USDT" });
    const erc20 = testTokenInterface();
    for (const s of senders)
      await rpc("eth_sendTransaction", [
        { from: owner, to: token, data: erc20.encodeFunctionData("mint", [s, 10n ** 15n]) },
      ]);
    await rpc("evm_setAutomine", [false]);
    // explicit nonces: anvil would give the transactions of one JSON-RPC array the same one
    const nonces = senders.map(() => 0);
    const firstBlock = Number(await rpc("eth_blockNumber")) + 1;
    const random = seeded(20261202);
    // the rest of the world: addresses nobody watches
    const others = Array.from({ length: 5_000 }, (_, i) => keccakText(`dense-other-${i}`).slice(0, 42));
    let ethTransfers = 0;
    let tokenTransfers = 0;
    let ethTotal = 0n;
    let tokenTotal = 0n;
    for (let b = 0; b < DENSE_BLOCKS; b++) {
      const batch: RpcCall[] = [];
      for (let t = 0; t < DENSE_TXS_PER_BLOCK; t++) {
        const k = t % senders.length;
        const from = senders[k]!;
        const nonce = "0x" + (nonces[k]!++).toString(16);
        // the block's first transaction pays a watched address (ETH), and every other block its second (token)
        const deposit = t === 0 || (t === 1 && b % DEPOSIT_EVERY === 0);
        const to = deposit
          ? watched[Math.floor(random() * watched.length)]!
          : others[Math.floor(random() * others.length)]!;
        const isToken = deposit ? t === 1 : random() < DENSE_TOKEN_SHARE;
        const amount = BigInt(1 + Math.floor(random() * 1_000_000));
        const tx = isToken
          ? {
              from,
              nonce,
              to: token,
              gas: "0x186a0",
              data: erc20.encodeFunctionData("transfer", [to, amount]),
            }
          : { from, nonce, to, gas: "0x5208", value: "0x" + (amount * 10n ** 9n).toString(16) };
        batch.push({ method: "eth_sendTransaction", params: [tx] });
        if (deposit && isToken) {
          tokenTransfers++;
          tokenTotal += amount;
        } else if (deposit) {
          ethTransfers++;
          ethTotal += amount * 10n ** 9n;
        }
      }
      // the block's transactions as one JSON-RPC array, mined together below
      const failed = (await client.outcomes(batch)).find((o) => !o.ok);
      if (failed && !failed.ok) throw new Error(`eth_sendTransaction: ${failed.message}`);
      await rpc("evm_mine");
      if (b % 100 === 99) log(`  ${b + 1}/${DENSE_BLOCKS} blocks`);
    }
    const lastBlock = Number(await rpc("eth_blockNumber"));
    // every block must hold all of its transactions, or the shape (and the expected counts) is wrong
    for (const n of [firstBlock, Math.floor((firstBlock + lastBlock) / 2), lastBlock]) {
      const block = (await rpc("eth_getBlockByNumber", ["0x" + n.toString(16), false])) as {
        transactions: string[];
      };
      if (block.transactions.length !== DENSE_TXS_PER_BLOCK)
        throw new Error(`dense block ${n} holds ${block.transactions.length} transactions`);
    }
    const dump = (await rpc("anvil_dumpState")) as string;
    const built = save(dump, {
      token,
      chainId,
      firstBlock,
      lastBlock,
      ethTransfers,
      tokenTransfers,
      ethTotal: ethTotal.toString(),
      tokenTotal: tokenTotal.toString(),
    });
    log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return built;
  } finally {
    await client.close();
    await node.stop();
  }
}
