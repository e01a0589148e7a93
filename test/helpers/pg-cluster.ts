// A throw-away PostgreSQL 15 cluster from Debian's `postgresql` binaries, never PGlite: PGlite is
// one connection, so "concurrent" transactions run one after another there and an advisory lock
// is granted twice. No vitest here: the tests (test/helpers/postgres.ts) and the benchmarks
// (bench/instances.bench.ts) share it.
//
// As root, initdb and postgres run as the `postgres` user (postgres refuses to run as root) in a
// folder that user owns. The server listens on a unix socket in that folder only (no TCP port to
// collide with), with fsync off. libfaketime is left out of its environment: the server's clock is
// the machine's, which the lease tests use as "database time" (never the calendar).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

export const PG_BIN = process.env.DEPOSITD_PG_BIN ?? "/usr/lib/postgresql/15/bin";

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

/** An empty folder the server's user owns. */
export function makePostgresDir(): string {
  // no postgres user (the package is not installed): the run goes on, and the first caller that
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

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * `make` once per folder across processes: the first caller takes a mkdir lock and runs it, the
 * others wait (up to 60 s) for the "<name>-ready" mark, or fail with the first caller's error.
 */
export async function oncePerDir(dir: string, name: string, make: () => Promise<void> | void): Promise<void> {
  const ready = join(dir, `${name}-ready`);
  const failed = join(dir, `${name}-failed`);
  if (existsSync(ready)) return;
  let mine = false;
  try {
    mkdirSync(join(dir, `${name}-lock`));
    mine = true;
  } catch {
    // another process is making it
  }
  if (mine) {
    try {
      await make();
      writeFileSync(ready, "ok");
    } catch (e) {
      writeFileSync(failed, (e as Error).message);
      throw e;
    }
    return;
  }
  for (let i = 0; i < 1200; i++) {
    if (existsSync(ready)) return;
    if (existsSync(failed)) throw new Error(`${name} failed: ${readFileSync(failed, "utf8")}`);
    await sleep(50);
  }
  throw new Error(`${name} in ${dir} was not ready after 60 s`);
}

/**
 * initdb + start in `dir`, once (oncePerDir). Tests run it with fsync off; `durable` keeps
 * PostgreSQL's defaults (fsync, synchronous commit) for benchmarks that compare with SQLite's FULL.
 */
export async function ensureCluster(dir: string, opts: { durable?: boolean } = {}): Promise<void> {
  const speed = opts.durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
  await oncePerDir(dir, "cluster", () => {
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
      `-c listen_addresses='' -k ${dir}${speed} -c max_connections=200`,
      "start",
    ]);
  });
}

/** The connection URL of database `name` in the cluster in `dir` (unix socket, user postgres). */
export function postgresUrl(dir: string, name: string): string {
  return `postgres://postgres@${encodeURIComponent(dir)}/${name}`;
}

/** CREATE DATABASE `name` [TEMPLATE `template`] in the running cluster in `dir`; returns its URL. */
export async function createDatabase(dir: string, name: string, template?: string): Promise<string> {
  const admin = new pg.Client({ connectionString: postgresUrl(dir, "postgres") });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ""}`);
  } finally {
    await admin.end();
  }
  return postgresUrl(dir, name);
}
