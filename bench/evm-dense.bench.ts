// Catch-up on a mainnet-shaped EVM chain (evm-dense-chain.ts: 200 transactions a block, 30 % of
// them ERC-20 transfers): the watcher and ledger over a prepared database in a fresh process,
// against the yardstick of the bare batched fetch of the same blocks and logs in the same run.
import { join } from "node:path";
import { spawnAnvil } from "../src/dev/anvil.js";
import { packageRoot } from "../src/paths.js";
import { BENCH_ANVIL_ARGS } from "./evm-chain.js";
import { DENSE_TOKEN_SHARE, DENSE_TXS_PER_BLOCK, buildDenseChain } from "./evm-dense-chain.js";
import { bareFetch } from "./evm-fetch.bench.js";
import type { BenchRow } from "./types.js";
import { type CatchUp, childCatchUp } from "./watch.bench.js";

const cacheDir = () => join(packageRoot(), ".cache", "bench");

export async function run(): Promise<BenchRow[]> {
  const chain = await buildDenseChain(cacheDir(), (l) => process.stderr.write(l + "\n"));
  const node = await spawnAnvil({ args: [...BENCH_ANVIL_ARGS, "--load-state", chain.stateFile] });
  try {
    const blocks = chain.lastBlock; // the watcher scans from block 1
    await bareFetch(node.url, chain, 1, blocks); // warm-up
    const yard: number[] = [];
    const runs: CatchUp[] = [];
    let bareRequests = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      bareRequests = (await bareFetch(node.url, chain, 1, blocks)).requests;
      yard.push(performance.now() - t);
      runs.push(await childCatchUp(node.url, chain, "dense"));
    }
    const y = [...yard].sort((a, b) => a - b)[1]!;
    const c = [...runs].sort((a, b) => a.ms - b.ms)[1]!;
    const shape = `${DENSE_TXS_PER_BLOCK} transactions a block, ${DENSE_TOKEN_SHARE * 100} % ERC-20 transfers`;
    return [
      {
        bench: "evm-dense",
        metric: `catch-up ${blocks.toLocaleString("en")} mainnet-shaped blocks (${shape}), every deposit stored`,
        value: `${(c.ms / 1000).toFixed(2)} s = ${((blocks / c.ms) * 1000).toFixed(0)} blocks/s (${(c.ms / y).toFixed(2)}× yardstick)`,
        yardstick: `bare batched fetch ${(y / 1000).toFixed(2)} s`,
        note: `${c.stored} payments, ${c.events} events, 10,000 watched; fetch ${(c.scanMs / 1000).toFixed(2)} s overlapped with writes ${(c.writeMs / 1000).toFixed(2)} s; median of 3`,
      },
      {
        bench: "evm-dense",
        metric: "catch-up HTTP requests vs the bare batched fetch",
        value: `${c.requests} requests (${(c.requests / bareRequests).toFixed(2)}× yardstick)`,
        yardstick: `bare batched fetch ${bareRequests} requests`,
        note: `bloom false positives: ${c.bloomFalsePositives}; incomplete answers retried: ${c.incompleteAnswers}`,
      },
      {
        bench: "evm-dense",
        metric: "catch-up peak RSS (fresh process over a prepared database)",
        value: `${Math.max(...runs.map((r) => r.maxRssMb)).toFixed(0)} MB`,
        note: "NODE_OPTIONS as systemd/depositd.service sets it",
      },
    ];
  } finally {
    await node.stop();
  }
}
