// The suite's PostgreSQL (the cluster itself: test/helpers/pg-cluster.ts). One cluster per test
// run: the global setup (test/global-setup.ts) makes an empty folder and stops whatever was started
// in it at the end; the first test file that asks for a database starts the cluster there (once
// across workers), and every test file gets its own fresh database.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { PgDatabase } from "../../src/db/pg-sync.js";
import { createDatabase, ensureCluster, oncePerDir, postgresUrl } from "./pg-cluster.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** the folder the run's PostgreSQL cluster lives in (made by test/global-setup.ts) */
    postgresDir: string;
  }
}

/**
 * Which engine the suite's ledgers run on: `DEPOSITD_TEST_DB=postgres npm test` runs every test that
 * takes its database from the test config on PostgreSQL, one fresh database per config.
 */
export const TEST_ENGINE: "sqlite" | "postgres" =
  process.env.DEPOSITD_TEST_DB === "postgres" ? "postgres" : "sqlite";

const TEMPLATE = "depositd_template";

/** A database with every PostgreSQL migration applied, made once per run; fresh ones are copies. */
async function ensureTemplate(dir: string): Promise<void> {
  await ensureCluster(dir);
  await oncePerDir(dir, "template", async () => {
    const { createPool, migratePostgres } = await import("../../src/db/postgres.js");
    const pool = createPool({ url: await createDatabase(dir, TEMPLATE), pool_size: 1, password: undefined });
    try {
      await migratePostgres(pool);
    } finally {
      await pool.end();
    }
  });
}

/** The suite's setup file (vitest.config.ts): on the postgres engine, the cluster and template first. */
export async function prepareTestEngine(): Promise<void> {
  if (TEST_ENGINE === "postgres") await ensureTemplate(inject("postgresDir"));
}

let adminDb: PgDatabase | undefined;

/**
 * A fresh database with the schema applied (a copy of the template), made synchronously so the test
 * config can hold it; only after prepareTestEngine.
 */
export function freshMigratedDatabaseSync(): string {
  const dir = inject("postgresDir");
  if (!existsSync(join(dir, "template-ready")))
    throw new Error("no template database: prepareTestEngine first");
  if (!adminDb) {
    adminDb = new PgDatabase({ url: postgresUrl(dir, "postgres"), password: undefined });
  }
  const name = `t_${randomBytes(6).toString("hex")}`;
  adminDb.exec(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  return postgresUrl(dir, name);
}

/** A fresh, empty database for this test file; returns its connection URL. */
export async function createTestDatabase(): Promise<string> {
  const dir = inject("postgresDir");
  if (!dir) throw new Error("no postgresDir: run through vitest.config.ts (test/global-setup.ts)");
  await ensureCluster(dir);
  return createDatabase(dir, `t_${randomBytes(6).toString("hex")}`);
}
