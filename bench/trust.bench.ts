// Issue 16's costs on the 10,000-block bench chain (bench/evm-chain.ts), in one process: the
// watcher's catch-up with rpc_quorum 1 and 2 (two anvils loaded from the same state: the same
// chain behind two URLs), time and HTTP requests per URL; then the self-audit of every block
// through the second URL (blocks/s).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { runAudit } from "../src/audit/index.js";
import { createEvmAdapter } from "../src/chains/evm/adapter.js";
import type { ChainConfig } from "../src/config/schema.js";
import { createCommon } from "../src/common.js";
import { openDatabase } from "../src/db/index.js";
import { spawnAnvil } from "../src/dev/anvil.js";
import { createCatalog } from "../src/ledger/catalog.js";
import { createLedger } from "../src/ledger/index.js";
import { packageRoot } from "../src/paths.js";
import { createWatcher } from "../src/watch/index.js";
import { quorumAdapterFor } from "../src/watch/quorum.js";
import { BENCH_ANVIL_ARGS, type BenchChain, buildBenchChain } from "./evm-chain.js";
import type { BenchRow } from "./types.js";
import { benchConfig, prepareDatabase } from "./watch.bench.js";

async function catchUp(urls: string[], quorum: number, chain: BenchChain, dbPath: string) {
  await prepareDatabase(dbPath, urls[0]!, chain);
  const config = benchConfig(dbPath, urls[0]!, chain, { rpc: urls, rpc_quorum: quorum });
  const common = createCommon(config, { logger: pino({ level: "silent" }) });
  const db = openDatabase(dbPath, { synchronous: "FULL" });
  const catalog = createCatalog(config);
  const ledger = createLedger(db, common, catalog);
  const requests: Record<string, number> = Object.fromEntries(urls.map((u) => [u, 0]));
  const make = (c: ChainConfig) =>
    createEvmAdapter({
      chain: c as never,
      assets: catalog.assetsOfChain("bench"),
      onRequest: (url) => void (requests[url] = (requests[url] ?? 0) + 1),
    });
  const chainConfig = config.chains[0]!;
  const adapter = quorum > 1 ? quorumAdapterFor(chainConfig, make, { now: Date.now }) : make(chainConfig);
  const watcher = createWatcher({ chain: chainConfig, adapter, ledger, common });
  const started = performance.now();
  for (;;) {
    const r = await watcher.runOnce();
    if (!r || r.to >= chain.lastBlock) break;
  }
  const ms = performance.now() - started;
  const stored = db.prepare("SELECT count(*) FROM payments").pluck().get() as number;
  await watcher.stop();
  if (stored !== chain.ethTransfers + chain.tokenTransfers) throw new Error(`stored ${stored} payments`);
  return { ms, requests, db, common, catalog, ledger };
}

export async function run(): Promise<BenchRow[]> {
  const chain = await buildBenchChain(join(packageRoot(), ".cache", "bench"), (l) =>
    process.stderr.write(l + "\n"),
  );
  const args = [...BENCH_ANVIL_ARGS, "--load-state", chain.stateFile];
  const [a, b] = await Promise.all([spawnAnvil({ args }), spawnAnvil({ args })]);
  const dir = mkdtempSync(join(tmpdir(), "depositd-trust-bench-"));
  const rows: BenchRow[] = [];
  try {
    const one = await catchUp([a.url], 1, chain, join(dir, "q1.sqlite"));
    one.db.close();
    const two = await catchUp([a.url, b.url], 2, chain, join(dir, "q2.sqlite"));
    const total1 = Object.values(one.requests).reduce((x, y) => x + y, 0);
    const total2 = Object.values(two.requests).reduce((x, y) => x + y, 0);
    rows.push({
      bench: "trust",
      metric: "catch-up 10,000 blocks with rpc_quorum 2 (two URLs must agree) vs 1",
      value: `${(two.ms / 1000).toFixed(2)} s (${(two.ms / one.ms).toFixed(2)}× quorum 1)`,
      yardstick: `quorum 1: ${(one.ms / 1000).toFixed(2)} s`,
      note: "2000 payments, 10,000 watched, ETH + one ERC-20; same process, one run each",
    });
    rows.push({
      bench: "trust",
      metric: "catch-up HTTP requests per URL, rpc_quorum 2 vs 1",
      value: `first URL ${two.requests[a.url]}, second URL ${two.requests[b.url]} (total ${(total2 / total1).toFixed(2)}× quorum 1)`,
      yardstick: `quorum 1: ${total1}`,
      note: "the second URL answers the agreement: blocks (bodies, a native asset is configured), receipts of native hits, eth_getLogs; no bloom receipts, and heads/tip hashes from both",
    });
    // the audit of every block through the second URL (what the background audit costs once)
    const t0 = performance.now();
    const report = await runAudit(
      { db: two.db, common: two.common, catalog: two.catalog, ledger: two.ledger },
      { chain: "bench", from: 1, to: chain.lastBlock, rpc: b.url },
    );
    const auditMs = performance.now() - t0;
    if (report.findings.length) throw new Error(`audit found ${report.findings.length} findings`);
    rows.push({
      bench: "trust",
      metric: "self-audit of the 10,000 stored blocks through the second URL",
      value: `${((chain.lastBlock / auditMs) * 1000).toFixed(0)} blocks/s (${(auditMs / 1000).toFixed(2)} s)`,
      yardstick: `the watcher's catch-up (quorum 1): ${((chain.lastBlock / one.ms) * 1000).toFixed(0)} blocks/s`,
      note: `${report.found} transfers found, ${report.stored} stored, 0 findings`,
    });
    two.db.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
