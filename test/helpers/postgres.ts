// A throw-away PostgreSQL 15 cluster for the tests (Debian's `postgresql` package), never PGlite:
// PGlite is one connection, so "concurrent" transactions run one after another there and an
// advisory lock is granted twice. One cluster per test run: the global setup (test/global-setup.ts)
// makes an empty folder and stops whatever was started in it at the end; the first test file that
// asks for a database starts the cluster there (under a lock, so two workers never both initdb),
// and every test file gets its own fresh database.
//
// As root, initdb and postgres run as the `postgres` user (postgres refuses to run as root) in a
// folder that user owns. The server listens on a unix socket in that folder only (no TCP port to
// collide with), with fsync off. libfaketime is left out of its environment: the server's clock is
// the machine's, which the lease tests use as "database time" (never the calendar).
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import { PgDatabase } from "../../src/db/pg-sync.js";

export const PG_BIN = process.env.DEPOSITD_PG_BIN ?? "/usr/lib/postgresql/15/bin";

declare module "vitest" {
  export interface ProvidedContext {
    /** the folder the run's PostgreSQL cluster lives in (made by test/global-setup.ts) */
    postgresDir: string;
  }
}

interface PgUser {
  uid: number;
  gid: number;
}

/** The user the server runs as: `postgres` when we are root, else ourselves. */
function serverUser(): PgUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** The environment the server's tools run in: no libfaketime, a plain locale. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: "C", LANG: "C" };
  delete env.LD_PRELOAD;
  delete env.FAKETIME;
  delete env.FAKETIME_DONT_FAKE_MONOTONIC;
  return env;
}

function runAsServer(user: PgUser | undefined, tool: string, args: string[]): void {
  const [cmd, argv] = user
    ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, tool), ...args]]
    : [join(PG_BIN, tool), args];
  const r = spawnSync(cmd, argv, { env: serverEnv(), encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${tool} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
}

/** An empty folder the server's user owns (the global setup's half). */
export function makePostgresDir(): string {
  // no postgres user (the package is not installed): the run goes on, and the first test file that
  // asks for a database fails saying what to install
  let user: PgUser | undefined;
  try {
    user = serverUser();
  } catch {
    user = undefined;
  }
  // the postgres user must reach the folder (a root-only TMPDIR would not do) and a unix socket
  // path must stay under ~100 bytes: /tmp as root
  const dir = mkdtempSync(join(user ? "/tmp" : tmpdir(), "depositd-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  return dir;
}

/** Stop the cluster in `dir`, if one was started, and remove the folder. */
export function removePostgresDir(dir: string): void {
  if (existsSync(join(dir, "data", "postmaster.pid")))
    runAsServer(serverUser(), "pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]);
  rmSync(dir, { recursive: true, force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** initdb + start in `dir`, once per run across workers (a mkdir lock; the others wait for "ready"). */
async function ensureCluster(dir: string): Promise<void> {
  const ready = join(dir, "ready");
  if (existsSync(ready)) return;
  let mine = false;
  try {
    mkdirSync(join(dir, "lock"));
    mine = true;
  } catch {
    // another worker is starting it
  }
  if (mine) {
    try {
      if (!existsSync(join(PG_BIN, "postgres")))
        throw new Error(
          `no PostgreSQL binaries in ${PG_BIN}: apt-get install -y --no-install-recommends postgresql (see .ci/run)`,
        );
      const user = serverUser();
      const data = join(dir, "data");
      runAsServer(user, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]);
      runAsServer(user, "pg_ctl", [
        "-D",
        data,
        "-l",
        join(dir, "server.log"),
        "-w",
        "-t",
        "60",
        "-o",
        `-c listen_addresses='' -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
        "start",
      ]);
      writeFileSync(ready, "ok");
    } catch (e) {
      writeFileSync(join(dir, "failed"), (e as Error).message);
      throw e;
    }
    return;
  }
  for (let i = 0; i < 1200; i++) {
    if (existsSync(ready)) return;
    if (existsSync(join(dir, "failed")))
      throw new Error(`PostgreSQL did not start: ${readFileSync(join(dir, "failed"), "utf8")}`);
    await sleep(50);
  }
  throw new Error(`PostgreSQL in ${dir} was not ready after 60 s`);
}

/** The connection URL of database `name` in the cluster in `dir` (unix socket, user postgres). */
export function postgresUrl(dir: string, name: string): string {
  return `postgres://postgres@${encodeURIComponent(dir)}/${name}`;
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
  const ready = join(dir, "template-ready");
  if (existsSync(ready)) return;
  let mine = false;
  try {
    mkdirSync(join(dir, "template-lock"));
    mine = true;
  } catch {
    // another worker is making it
  }
  if (mine) {
    const admin = new pg.Client({ connectionString: postgresUrl(dir, "postgres") });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${TEMPLATE}`);
    } finally {
      await admin.end();
    }
    const { createPool, migratePostgres } = await import("../../src/db/postgres.js");
    const pool = createPool({ url: postgresUrl(dir, TEMPLATE), pool_size: 1, password: undefined });
    try {
      await migratePostgres(pool);
    } finally {
      await pool.end();
    }
    writeFileSync(ready, "ok");
    return;
  }
  for (let i = 0; i < 1200 && !existsSync(ready); i++) await sleep(50);
  if (!existsSync(ready)) throw new Error("the PostgreSQL template database was not ready after 60 s");
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
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl(dir, "postgres") });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return postgresUrl(dir, name);
}
