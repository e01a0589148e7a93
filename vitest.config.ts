import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // a folder for the run's throw-away PostgreSQL, started only if a test file asks for a database
    globalSetup: ["test/global-setup.ts"],
    // DEPOSITD_TEST_DB=postgres: the same suite on PostgreSQL (test/helpers/postgres.ts)
    setupFiles: ["test/setup-engine.ts"],
    pool: "forks",
    maxWorkers: 2,
    // the JSON report lets .ci/run print a plain "N passed, N failed" closing line
    reporters: ["default", "json"],
    outputFile: { json: ".cache/vitest-results.json" },
  },
});
