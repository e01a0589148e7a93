// `npm run bench`: runs every benchmark (or those named on the command line) and writes the
// table to bench/RESULTS.md. Benchmarks measure; tests never assert on timings.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../src/paths.js";
import type { Bench, BenchRow } from "./types.js";

const benches: Record<string, () => Promise<{ run: Bench }>> = {};

export function registerBench(name: string, load: () => Promise<{ run: Bench }>): void {
  benches[name] = load;
}

async function main(): Promise<void> {
  const { registerAll } = await import("./index.js");
  registerAll(registerBench);
  const wanted = process.argv.slice(2);
  const rows: BenchRow[] = [];
  for (const [name, load] of Object.entries(benches)) {
    if (wanted.length && !wanted.includes(name)) continue;
    process.stderr.write(`bench ${name} …\n`);
    const mod = await load();
    const got = await mod.run();
    for (const r of got)
      process.stderr.write(`  ${r.metric}: ${r.value}${r.yardstick ? ` (vs ${r.yardstick})` : ""}\n`);
    rows.push(...got);
  }
  const table = [
    `# depositd benchmarks`,
    ``,
    `Run: ${new Date().toISOString()} · node ${process.version} · ${process.platform}/${process.arch}`,
    ``,
    `| bench | metric | value | yardstick (same run) | note |`,
    `|---|---|---|---|---|`,
    ...rows.map((r) => `| ${r.bench} | ${r.metric} | ${r.value} | ${r.yardstick ?? ""} | ${r.note ?? ""} |`),
    ``,
  ].join("\n");
  const out = join(packageRoot(), "bench", wanted.length ? `RESULTS-${wanted.join("-")}.md` : "RESULTS.md");
  writeFileSync(out, table);
  console.log(table);
  console.log(`written to ${out}`);
  process.exit(0);
}

void main();
