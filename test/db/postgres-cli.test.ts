// `depositd migrate`, `status` and `orders list` with database.engine: postgres, through the compiled CLI
// (npm test builds first), against the run's throw-away PostgreSQL.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { readPostgresMigrations } from "../../src/db/postgres.js";
import { evmPoolText, rawConfig } from "../helpers/config.js";
import { createTestDatabase } from "../helpers/postgres.js";

const main = join(process.cwd(), "dist", "src", "main.js");
let dir: string;
let url: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "depositd-pgcli-"));
  url = await createTestDatabase();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

function configFile(name: string, database: Record<string, unknown>): string {
  const pool = join(dir, `${name}.pool.txt`);
  writeFileSync(pool, evmPoolText(2).text);
  const base = rawConfig();
  const chains = (base.chains as Record<string, unknown>[]).map((c) => ({
    ...c,
    pool: { ...(c.pool as object), file: pool },
  }));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ ...base, chains, database }));
  return file;
}

describe("depositd CLI on PostgreSQL", () => {
  it("behavior: migrate applies the PostgreSQL set once and prints the versions", async () => {
    const file = configFile("m", {
      engine: "postgres",
      url,
      pool_size: 2,
      password: { env: "DEPOSITD_TEST_PG_PW" },
    });
    // the password is a secret like the others: a missing one is named (the trust-auth test
    // cluster then ignores the value)
    const missing = run(["--config", file, "migrate"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(
      "database.password: environment variable DEPOSITD_TEST_PG_PW is not set",
    );

    const env = { DEPOSITD_TEST_PG_PW: "unused-by-trust-auth" };
    const first = run(["--config", file, "migrate"], env);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const versions = readPostgresMigrations().map((m) => m.version);
    expect(first.stdout.trim()).toBe(`applied migrations: ${versions.join(", ")}`);
    const again = run(["--config", file, "migrate"], env);
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe("database is up to date");

    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const rows = await c.query<{ n: string }>("SELECT count(*) AS n FROM schema_migrations");
    await c.end();
    expect(Number(rows.rows[0]!.n)).toBe(versions.length);
  });

  it("behavior: the ledger's commands run on the migrated database; one not migrated is refused naming the fix", async () => {
    const file = configFile("s", { engine: "postgres", url });
    const status = run(["--config", file, "status"]);
    expect(status.stderr).toBe("");
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^depositd status — .* — postgres:\/\/.*\n\nchains\n/);
    expect(status.stdout).toContain("anvil");
    const list = run(["--config", file, "orders", "list"]);
    expect(list.stderr).toBe("");
    expect(list.status).toBe(0);

    const empty = configFile("e", { engine: "postgres", url: await createTestDatabase() });
    const need = Math.max(...readPostgresMigrations().map((m) => m.version));
    for (const args of [["status"], ["orders", "list"]]) {
      const r = run(["--config", empty, ...args]);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `error: database schema is at version 0, this depositd needs ${need}: run \`depositd migrate\`\n`,
      );
    }
  });

  it("error: migrate against a server that is not there fails with the cause, not a stack", () => {
    const file = configFile("down", {
      engine: "postgres",
      url: `postgres://postgres@${encodeURIComponent(join(dir, "nowhere"))}/x`,
    });
    const r = run(["--config", file, "migrate"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: .*(ENOENT|connect)/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
