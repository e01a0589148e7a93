// `npm run chaos`: the fault suite at full size (≥ 50 kills, ≥ 10,000 fuzz cases, …), built first,
// results collected into bench/CHAOS.md. `npm test` runs the same files at reduced size.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

const results = join(tmpdir(), `depositd-chaos-results-${process.pid}.jsonl`);
process.env.DEPOSITD_CHAOS_RESULTS = results;

export default defineConfig({
  test: {
    include: ["test/chaos/**/*.test.ts", "test/fuzz/**/*.test.ts"],
    globalSetup: ["test/chaos/global-setup.ts"],
    env: { DEPOSITD_CHAOS_FULL: "1", DEPOSITD_CHAOS_RESULTS: results },
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
