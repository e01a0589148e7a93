// The catch-up benchmark chain (SPEC §8): 10,000 anvil blocks holding 1,000 ERC-20 and 1,000 ETH
// transfers to 10,000 watched addresses. Built once (≈ 20 s) and cached as an anvil state dump.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { id as keccakText } from "ethers";
import { spawnAnvil } from "../src/dev/anvil.js";
import { type JsonRpcClient, createJsonRpc } from "../src/rpc/jsonrpc.js";
import { deployTestToken, testTokenInterface } from "../src/dev/test-token.js";

/** bump when the chain's recipe changes, so stale caches are rebuilt */
const RECIPE = "evm-bench-v1";
export const BENCH_BLOCKS = 10_000;
export const BENCH_WATCHED = 10_000;
export const BENCH_ETH_TRANSFERS = 1_000;
export const BENCH_TOKEN_TRANSFERS = 1_000;
/** anvil flags that keep a long chain fast to build (TESTING.md) */
export const BENCH_ANVIL_ARGS = ["--hardfork", "shanghai", "--prune-history"];

export interface BenchChain {
  /** anvil state dump: start anvil with [...BENCH_ANVIL_ARGS, "--load-state", stateFile] */
  stateFile: string;
  /** the watched addresses, lower-case */
  watched: string[];
  /** the ERC-20 contract, lower-case */
  token: string;
  chainId: number;
  /** blocks to scan: [firstBlock, lastBlock] holds every transfer */
  firstBlock: number;
  lastBlock: number;
  ethTransfers: number;
  tokenTransfers: number;
  /** sums of what was sent, to check a scan found the right amounts */
  ethTotal: string;
  tokenTotal: string;
}

export function benchWatched(): string[] {
  return Array.from({ length: BENCH_WATCHED }, (_, i) => keccakText(`bench-watched-${i}`).slice(0, 42));
}

/** small seeded PRNG so the chain is the same on every machine */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The project's JSON-RPC client over a local anvil that builds a bench chain: one try (a lost
 * eth_sendTransaction answer is never sent again), no provider budget, room for anvil_dumpState.
 */
export function benchNodeClient(url: string): JsonRpcClient {
  return createJsonRpc({
    chain: "bench",
    urls: [url],
    timeoutMs: 600_000,
    tries: 1,
    maxRps: 1_000_000,
    maxResponseBytes: 1024 * 1024 * 1024,
  });
}

/** A built chain's files in the cache, and the chain when both are there. */
export function cachedChain(dir: string, recipe: string) {
  mkdirSync(dir, { recursive: true });
  const metaFile = join(dir, `${recipe}.json`);
  const stateFile = join(dir, `${recipe}.state.json`);
  const watched = benchWatched();
  const cached: BenchChain | undefined =
    existsSync(metaFile) && existsSync(stateFile)
      ? {
          ...(JSON.parse(readFileSync(metaFile, "utf8")) as Omit<BenchChain, "watched">),
          stateFile,
          watched,
        }
      : undefined;
  /** writes anvil's state dump (hex of gzip, as anvil_dumpState answers) and the chain's facts */
  const save = (dump: string, meta: Omit<BenchChain, "watched" | "stateFile">): BenchChain => {
    writeFileSync(stateFile, gunzipSync(Buffer.from(dump.slice(2), "hex")));
    writeFileSync(metaFile, JSON.stringify(meta, null, 2));
    return { ...meta, stateFile, watched };
  };
  return { watched, cached, save };
}

export async function buildBenchChain(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<BenchChain> {
  const { watched, cached, save } = cachedChain(dir, RECIPE);
  if (cached) return cached;

  log(`building the benchmark chain (${BENCH_BLOCKS} blocks) into ${dir} …`);
  const started = performance.now();
  const node = await spawnAnvil({ args: BENCH_ANVIL_ARGS });
  const client = benchNodeClient(node.url);
  const rpc = (method: string, params: unknown[] = []) => client.call(method, params);
  try {
    const chainId = Number(await rpc("eth_chainId"));
    const accounts = (await rpc("eth_accounts")) as string[];
    const owner = accounts[0]!;
    const payer = accounts[1]!;
    const token = await deployTestToken(rpc, owner, { decimals: 6, symbol: "USDT" });
    const erc20 = testTokenInterface();
    await rpc("eth_sendTransaction", [
      { from: owner, to: token, data: erc20.encodeFunctionData("mint", [payer, 10n ** 15n]) },
    ]);
    const firstBlock = Number(await rpc("eth_blockNumber")) + 1;

    // Spread the transfers evenly over the remaining blocks; one anvil_mine per gap.
    const random = seeded(20240601);
    const total = BENCH_ETH_TRANSFERS + BENCH_TOKEN_TRANSFERS;
    const span = BENCH_BLOCKS - firstBlock + 1;
    let ethTotal = 0n;
    let tokenTotal = 0n;
    let block = firstBlock - 1;
    const plan: ("eth" | "token")[] = [
      ...Array<"eth">(BENCH_ETH_TRANSFERS).fill("eth"),
      ...Array<"token">(BENCH_TOKEN_TRANSFERS).fill("token"),
    ];
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    const hashes: string[] = [];
    for (let k = 0; k < total; k++) {
      const target = firstBlock + Math.floor(((k + 1) * span) / total) - 1;
      if (target - 1 > block) await rpc("anvil_mine", ["0x" + (target - 1 - block).toString(16)]);
      const to = watched[Math.floor(random() * watched.length)]!;
      const amount = BigInt(1 + Math.floor(random() * 1_000_000));
      const sendEth = plan[k] === "eth";
      const tx = sendEth
        ? { from: payer, to, value: "0x" + (amount * 10n ** 9n).toString(16) }
        : { from: payer, to: token, data: erc20.encodeFunctionData("transfer", [to, amount]) };
      hashes.push((await rpc("eth_sendTransaction", [tx])) as string);
      if (sendEth) {
        ethTotal += amount * 10n ** 9n;
      } else {
        tokenTotal += amount;
      }
      block = target;
      if (k % 500 === 499) log(`  ${k + 1}/${total} transfers, block ${block}`);
    }
    const head = Number(await rpc("eth_blockNumber"));
    if (head < BENCH_BLOCKS) await rpc("anvil_mine", ["0x" + (BENCH_BLOCKS - head).toString(16)]);
    const lastBlock = Number(await rpc("eth_blockNumber"));
    // every transfer must have succeeded, or the benchmark's expected counts are wrong
    for (const h of hashes) {
      const r = (await rpc("eth_getTransactionReceipt", [h])) as { status: string } | null;
      if (r?.status !== "0x1") throw new Error(`benchmark transfer ${h} failed`);
    }

    const dump = (await rpc("anvil_dumpState")) as string;
    const built = save(dump, {
      token,
      chainId,
      firstBlock,
      lastBlock,
      ethTransfers: BENCH_ETH_TRANSFERS,
      tokenTransfers: BENCH_TOKEN_TRANSFERS,
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
