// The hand-written operator docs must keep naming what the code has: every endpoint and problem
// code in docs/api.md, every metric in docs/operations.md, and links that resolve.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildOpenApi } from "../../src/api/openapi.js";
import { routes } from "../../src/api/routes.js";
import { openDatabase } from "../../src/db/index.js";
import { PROBLEMS } from "../../src/errors.js";
import { notifyMetrics, registerMetrics, registerRateMetrics } from "../../src/metrics.js";
import { testCommon, testConfig } from "../helpers/config.js";
import { operations } from "./openapi-check.js";

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");

describe("operator docs", () => {
  it("behavior: api.md covers every endpoint and every problem code", () => {
    const api = doc("api.md");
    for (const { method, path } of operations(buildOpenApi(routes) as Record<string, unknown>)) {
      const shown = method === "HEAD" ? "`HEAD`" : `\`${method} ${path}`;
      expect(api, `${method} ${path}`).toContain(shown);
    }
    // the problem table in src/errors.ts, mirrored row by row
    for (const [code, p] of Object.entries(PROBLEMS))
      expect(api, code).toContain(`| \`${code}\` | ${p.status} | ${p.when} |`);
  });

  it("behavior: operations.md explains every metric the daemon exports", async () => {
    const common = testCommon(testConfig());
    const db = openDatabase(":memory:");
    registerMetrics(common, db, () => []);
    notifyMetrics(common.metrics);
    registerRateMetrics(common, () => undefined);
    const names = (await common.metrics.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => !n.startsWith("depositd_process_"));
    db.close();
    expect(names.length).toBeGreaterThanOrEqual(14);
    const ops = doc("operations.md");
    for (const name of names) expect(ops, name).toContain(`| \`${name}\` |`);
  });

  it("behavior: relative links between the docs resolve", () => {
    for (const name of ["api.md", "install.md", "operations.md", "config.md"]) {
      for (const m of doc(name).matchAll(
        /\]\(((?:\.\.\/)?[A-Za-z0-9_./-]+\.(?:md|yaml|ts|service))(#[a-z0-9-]+)?\)/g,
      )) {
        const target = m[1]!;
        // webhooks.md is written alongside by the callbacks work
        if (target === "webhooks.md") continue;
        expect(existsSync(new URL(`../../docs/${target}`, import.meta.url)), `${name} → ${target}`).toBe(
          true,
        );
      }
    }
  });
});
