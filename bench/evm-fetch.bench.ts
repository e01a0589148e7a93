// EVM catch-up (SPEC §8): the adapter's scan of 10,000 blocks for 10,000 watched addresses,
// against the yardstick of a bare batched fetch of the same blocks and logs in the same run.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { spawnAnvil } from "../src/dev/anvil.js";
import { TRANSFER_TOPIC, createEvmAdapter } from "../src/chains/evm/adapter.js";
import type { WatchedSet } from "../src/chains/types.js";
import type { AssetConfig, ChainConfig } from "../src/config/schema.js";
import { packageRoot } from "../src/paths.js";
import { BENCH_ANVIL_ARGS, type BenchChain, buildBenchChain } from "./evm-chain.js";
import { shippedNodeOptions } from "./node-options.js";
import type { BenchRow } from "./types.js";

const RUNS = 3;
const CHILD_FLAG = "--evm-scan-child";
const cacheDir = () => join(packageRoot(), ".cache", "bench");

interface Measured {
  ms: number;
  requests: number;
  transfers: number;
}

async function measure(work: () => Promise<{ requests: number; transfers: number }>): Promise<Measured> {
  (globalThis as { gc?: () => void }).gc?.();
  const started = performance.now();
  const got = await work();
  return { ms: performance.now() - started, ...got };
}

/** The yardstick: JSON-RPC arrays of 250 eth_getBlockByNumber(n, true), 4 in flight, plus
 *  eth_getLogs over 1,000-block ranges; parsed, nothing else. */
export async function bareFetch(url: string, chain: BenchChain, from: number, to: number) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  let requests = 0;
  let id = 1;
  const post = async (body: unknown[]): Promise<{ result: unknown }[]> => {
    requests++;
    const res = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      dispatcher: agent,
    });
    return (await res.body.json()) as { result: unknown }[];
  };
  const batches: unknown[][] = [];
  for (let a = from; a <= to; a += 250) {
    const batch = [];
    for (let n = a; n <= Math.min(to, a + 249); n++) {
      batch.push({
        jsonrpc: "2.0",
        id: id++,
        method: "eth_getBlockByNumber",
        params: ["0x" + n.toString(16), true],
      });
    }
    batches.push(batch);
  }
  const logCalls = [];
  for (let a = from; a <= to; a += 1000) {
    const filter = { fromBlock: "0x" + a.toString(16), toBlock: "0x" + Math.min(to, a + 999).toString(16) };
    logCalls.push({
      jsonrpc: "2.0",
      id: id++,
      method: "eth_getLogs",
      params: [{ ...filter, address: [chain.token], topics: [TRANSFER_TOPIC] }],
    });
  }
  let logs = 0;
  let txs = 0;
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const answer = await post(batches[next++]!);
      for (const a of answer) txs += (a.result as { transactions: unknown[] }).transactions.length;
    }
  };
  await Promise.all([
    ...Array.from({ length: 4 }, worker),
    post(logCalls).then((answers) => answers.forEach((a) => (logs += (a.result as unknown[]).length))),
  ]);
  await agent.close();
  if (logs < chain.tokenTransfers || txs < chain.ethTransfers + chain.tokenTransfers) {
    throw new Error(`bare fetch saw ${txs} transactions and ${logs} logs: the chain is incomplete`);
  }
  return { requests, transfers: logs };
}

async function adapterScan(
  url: string,
  chain: BenchChain,
  watched: WatchedSet,
  from: number,
  to: number,
  batchSize: number,
  blocksPerScan: number,
) {
  let requests = 0;
  const config: Extract<ChainConfig, { kind: "evm" }> = {
    id: "bench",
    kind: "evm",
    rpc: [url],
    chain_id: chain.chainId,
    poll_interval_ms: 1000,
    start_block: 0,
    batch_size: batchSize,
    blocks_per_scan: blocksPerScan,
    max_lag_blocks: 50,
    request_timeout_ms: 30_000,
    rpc_max_rps: 100_000, // a local anvil: no free-tier budget (the default, 20/s, is for providers)
    finality: "latest",
    receipts: "block",
    native_internal: "none",
    pool: { source: "static", cooldown_minutes: 0, low_water: 0 },
  };
  const assets: AssetConfig[] = [
    { id: "ETH", chain: "bench", decimals: 18, confirmations: 1, enabled: true },
    { id: "USDT-ERC20", chain: "bench", contract: chain.token, decimals: 6, confirmations: 1, enabled: true },
  ];
  const adapter = createEvmAdapter({ chain: config, assets, onRequest: () => requests++ });
  let transfers = 0;
  let eth = 0n;
  let token = 0n;
  for (let a = from; a <= to; a += blocksPerScan) {
    const got = await adapter.scan(a, Math.min(to, a + blocksPerScan - 1), watched);
    transfers += got.transfers.length;
    for (const t of got.transfers) {
      if (t.asset === "ETH") eth += t.amount;
      else token += t.amount;
    }
  }
  await adapter.close?.();
  if (transfers !== chain.ethTransfers + chain.tokenTransfers) {
    throw new Error(
      `adapter found ${transfers} transfers, expected ${chain.ethTransfers + chain.tokenTransfers}`,
    );
  }
  if (eth.toString() !== chain.ethTotal || token.toString() !== chain.tokenTotal) {
    throw new Error(`adapter found wrong amounts: ${eth} wei / ${token} token units`);
  }
  return { requests, transfers };
}

function median(xs: Measured[]): Measured {
  return [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)]!;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function run(): Promise<BenchRow[]> {
  const chain = await buildBenchChain(join(packageRoot(), ".cache", "bench"), (l) =>
    process.stderr.write(l + "\n"),
  );
  const node = await spawnAnvil({ args: [...BENCH_ANVIL_ARGS, "--load-state", chain.stateFile] });
  try {
    const set = new Set(chain.watched);
    const watched: WatchedSet = { has: (a) => set.has(a), size: set.size };
    const from = 1;
    const to = chain.lastBlock;
    const variants = [
      { name: "adapter scan, 1 × 10,000 blocks, batch 250", batch: 250, perScan: to },
      { name: "adapter scan, 20 × 500 blocks, batch 100 (config defaults)", batch: 100, perScan: 500 },
    ];
    // warm-up: anvil's caches and the JIT
    await bareFetch(node.url, chain, from, to);
    const bare: Measured[] = [];
    const scans: Measured[][] = variants.map(() => []);
    for (let r = 0; r < RUNS; r++) {
      bare.push(await measure(() => bareFetch(node.url, chain, from, to)));
      for (const [i, v] of variants.entries()) {
        scans[i]!.push(
          await measure(() => adapterScan(node.url, chain, watched, from, to, v.batch, v.perScan)),
        );
      }
    }
    const yard = median(bare);
    const memory: number[] = [];
    for (const v of variants) memory.push(await peakRssOfScan(node.url, v.batch, v.perScan));
    const rows: BenchRow[] = [
      {
        bench: "evm-fetch",
        metric: "bare batched fetch, 10,000 blocks + logs",
        value: seconds(yard.ms),
        note: `${yard.requests} HTTP requests; median of ${RUNS}`,
      },
    ];
    for (const [i, v] of variants.entries()) {
      const m = median(scans[i]!);
      rows.push({
        bench: "evm-fetch",
        metric: v.name,
        value: `${seconds(m.ms)} (${(m.ms / yard.ms).toFixed(2)}× yardstick)`,
        yardstick: seconds(yard.ms),
        note: `${m.requests} HTTP requests, ${m.transfers} transfers found, ${chain.watched.length} watched, peak RSS ${memory[i]!.toFixed(0)} MB (whole process, fresh, the systemd unit's NODE_OPTIONS); median of ${RUNS}`,
      });
    }
    return rows;
  } finally {
    await node.stop();
  }
}

/** Peak memory of a scan, measured as the max RSS of a fresh Node process that does only that. */
function peakRssOfScan(url: string, batch: number, perScan: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fileURLToPath(import.meta.url), CHILD_FLAG, url, String(batch), String(perScan)],
      { maxBuffer: 1 << 20, env: { ...process.env, NODE_OPTIONS: shippedNodeOptions() } },
      (err, stdout) => {
        if (err) return reject(err);
        resolve((JSON.parse(stdout) as { maxRssMb: number }).maxRssMb);
      },
    );
  });
}

async function scanChild(url: string, batch: number, perScan: number): Promise<void> {
  const chain = await buildBenchChain(cacheDir());
  const set = new Set(chain.watched);
  const watched: WatchedSet = { has: (a) => set.has(a), size: set.size };
  const got = await adapterScan(url, chain, watched, 1, chain.lastBlock, batch, perScan);
  process.stdout.write(JSON.stringify({ ...got, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === CHILD_FLAG) {
  scanChild(process.argv[3]!, Number(process.argv[4]), Number(process.argv[5])).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(String(e) + "\n");
      process.exit(1);
    },
  );
}
