// Create-order over HTTP against real `depositd serve` processes: one on SQLite (the yardstick),
// then 1, 2 and 3 on one PostgreSQL 15 (a throw-away cluster, test/helpers/pg-cluster.ts), the
// load spread round-robin over them. Each daemon watches a local anvil (its leases, renewals and
// timer passes run as in production). On 2 cores the daemons, PostgreSQL and this load generator
// share the CPU: the numbers say what one machine gives, not what separate machines would.
// BENCH_INSTANCES=2 (or 1,3 …) measures only those counts; BENCH_KEEP=1 keeps the folder with each
// daemon's log (the non-201 answers' causes are there).
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { getAddress, hexlify, randomBytes } from "ethers";
import { Agent, request } from "undici";
import { freePort, spawnAnvil } from "../src/dev/anvil.js";
import {
  createDatabase,
  ensureCluster,
  makePostgresDir,
  removePostgresDir,
} from "../test/helpers/pg-cluster.js";
import { createRequestBody } from "./create-order.bench.js";
import type { BenchRow } from "./types.js";

const MAIN = fileURLToPath(new URL("../src/main.js", import.meta.url));
const KEY = "bench-key-0123456789";
const TOTAL = 6_000;
const CONNECTIONS = 16;

interface Daemon {
  base: string;
  child: ChildProcess;
  ready: Promise<void>;
}

function spawnDaemon(config: string, port: number): Daemon {
  const child = spawn(process.execPath, [MAIN, "serve", "--config", config], {
    stdio: ["ignore", openSync(`${config}.log`, "w"), "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`depositd exited (${code}): ${err}`))),
  );
  exited.catch(() => undefined);
  // listening once /healthz answers anything (it may say 503 while the chain is behind)
  const listening = (async () => {
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null) return;
      try {
        const r = await request(`${base}/healthz`);
        await r.body.text();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`depositd on ${base} did not listen in 60 s: ${err}`);
  })();
  return { base, child, ready: Promise.race([listening, exited]) };
}

async function stop(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null) return;
  const exited = new Promise((r) => d.child.once("exit", r));
  d.child.kill("SIGTERM");
  await exited;
}

function configFor(
  dir: string,
  name: string,
  port: number,
  database: Record<string, unknown>,
  anvil: string,
  poolFile: string,
) {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      database,
      api: {
        listen: `127.0.0.1:${port}`,
        keys: [{ name: "shop", sha256: createHash("sha256").update(KEY).digest("hex") }],
      },
      notify: { secrets: [{ id: "k", value: "bench-secret-0123456789" }], allow_private_targets: true },
      rates: { static: { USD: { ETH: "3000", USDT: "1" } } },
      checkout: { enabled: false },
      chains: [
        {
          id: "anvil",
          kind: "evm",
          rpc: [anvil],
          chain_id: 31337,
          rpc_max_rps: 10_000,
          pool: { source: "static", file: poolFile, low_water: 0 },
        },
      ],
      assets: [
        { id: "ETH", chain: "anvil", decimals: 18 },
        { id: "USDT", chain: "anvil", decimals: 6, contract: "0xdAC17F958D2ee523a2206206994597C13D831ec7" },
      ],
      log: { level: "warn" },
    }),
  );
  return path;
}

/** the non-201 answers seen, by status and body (shown in the table's note) */
const answers = new Map<string, number>();

interface Load {
  seconds: number;
  latencies: number[];
  failures: number;
}

/** `total` creates over `connections` keep-alive connections, spread round-robin over `bases`. */
async function load(bases: string[], total: number, prefix: string): Promise<Load> {
  const agents = bases.map(() => new Agent({ connections: CONNECTIONS, keepAliveTimeout: 10_000 }));
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  async function worker(w: number): Promise<void> {
    const base = bases[w % bases.length]!;
    const dispatcher = agents[w % bases.length]!;
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      const res = await request(`${base}/v1/orders`, {
        method: "POST",
        dispatcher,
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: createRequestBody(prefix, i),
      });
      const text = await res.body.text();
      latencies.push(performance.now() - t0);
      if (res.statusCode !== 201) {
        failures++;
        const key = `${res.statusCode} ${text.slice(0, 300)}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
    }
  }
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(agents.map((a) => a.close()));
  latencies.sort((a, b) => a - b);
  return { seconds, latencies, failures };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!.toFixed(2);

/** Start `n` daemons on `database`, warm them up, measure TOTAL creates, stop them. */
async function measure(
  dir: string,
  label: string,
  n: number,
  database: Record<string, unknown>,
  anvil: string,
  poolFile: string,
): Promise<Load> {
  const daemons: Daemon[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      daemons.push(spawnDaemon(configFor(dir, `${label}-${i}`, port, database, anvil, poolFile), port));
      // one at a time: the first one migrates and imports the pool, the others find it done
      await daemons[i]!.ready;
    }
    const bases = daemons.map((d) => d.base);
    await load(bases, 300, `${label}-warm`);
    return await load(bases, TOTAL, label);
  } finally {
    await Promise.all(daemons.map(stop));
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "depositd-bench-instances-"));
  const pgDir = makePostgresDir();
  const anvil = await spawnAnvil({ chainId: 31337 });
  try {
    await ensureCluster(pgDir, { durable: true });
    // one pool file for every run: enough addresses for the warm-ups and the measured creates
    const poolFile = join(dir, "pool.txt");
    const addresses = Array.from({ length: TOTAL + 1_000 }, () => getAddress(hexlify(randomBytes(20))));
    writeFileSync(poolFile, addresses.join("\n") + "\n");

    const sqlite = await measure(
      dir,
      "sqlite",
      1,
      { path: join(dir, "bench.sqlite"), synchronous: "FULL" },
      anvil.url,
      poolFile,
    );
    const rows: BenchRow[] = [];
    const base = TOTAL / sqlite.seconds;
    const note = `${TOTAL} creates, ${CONNECTIONS} keep-alive connections round-robin over the instances, 2 options each, static rates; daemons, PostgreSQL (fsync on) and the load generator on one machine`;
    rows.push({
      bench: "instances",
      metric: "requests/s, 1 instance, SQLite",
      value: base.toFixed(0),
      note,
    });
    rows.push({
      bench: "instances",
      metric: "p99 latency ms, 1 instance, SQLite",
      value: pct(sqlite.latencies, 0.99),
    });
    for (const n of (process.env.BENCH_INSTANCES ?? "1,2,3").split(",").map(Number)) {
      const name = `bench_${n}`;
      // empty: the first daemon migrates it and imports the pool, as `depositd serve` does
      const url = await createDatabase(pgDir, name);
      const got = await measure(dir, `pg${n}`, n, { engine: "postgres", url }, anvil.url, poolFile);
      const rps = TOTAL / got.seconds;
      rows.push({
        bench: "instances",
        metric: `requests/s, ${n} instance${n > 1 ? "s" : ""}, PostgreSQL`,
        value: rps.toFixed(0),
        yardstick: `1 instance on SQLite ${base.toFixed(0)}/s (${(rps / base).toFixed(2)}×)`,
      });
      rows.push({
        bench: "instances",
        metric: `p50 / p99 latency ms, ${n} instance${n > 1 ? "s" : ""}, PostgreSQL`,
        value: `${pct(got.latencies, 0.5)} / ${pct(got.latencies, 0.99)}`,
        yardstick: `SQLite ${pct(sqlite.latencies, 0.5)} / ${pct(sqlite.latencies, 0.99)}`,
      });
      rows.push({
        bench: "instances",
        metric: `non-201 answers, ${n} instance${n > 1 ? "s" : ""}, PostgreSQL`,
        value: String(got.failures),
      });
    }
    for (const [answer, n] of answers) process.stderr.write(`  non-201 ×${n}: ${answer}\n`);
    return rows;
  } finally {
    await anvil.stop();
    removePostgresDir(pgDir);
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`  kept ${dir}\n`);
  }
}
