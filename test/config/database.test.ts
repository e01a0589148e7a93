// `database:` picks the engine: sqlite (the default, as every config before engines had it) or
// postgres (url, pool_size, a password secret). Every mistake names its field.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, validateConfig } from "../../src/config/load.js";
import { SqliteOnlyError, sqliteDatabase } from "../../src/db/index.js";
import { rawConfig } from "../helpers/config.js";

const tmp = mkdtempSync(join(tmpdir(), "depositd-dbcfg-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const withDatabase = (database: unknown, env: NodeJS.ProcessEnv = {}) =>
  validateConfig(rawConfig({ database }), env);

function problems(database: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    withDatabase(database, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("config was accepted");
}

describe("database config", () => {
  it("default: a config without engine is SQLite, as before", () => {
    expect(withDatabase({ path: "/x/d.sqlite" }).database).toEqual({
      engine: "sqlite",
      path: "/x/d.sqlite",
      synchronous: "FULL",
    });
    const noSection = rawConfig();
    delete noSection.database;
    expect(validateConfig(noSection, {}).database).toEqual({
      engine: "sqlite",
      path: "./data/depositd.sqlite",
      synchronous: "FULL",
    });
  });

  it("behavior: postgres takes a url, a pool size and a password read from env or file", () => {
    const url = "postgres://depositd@db.internal:5432/depositd";
    expect(withDatabase({ engine: "postgres", url }).database).toEqual({
      engine: "postgres",
      url,
      pool_size: 10,
      lease_ttl_ms: 10_000,
      password: undefined,
    });
    const fromEnv = withDatabase(
      { engine: "postgres", url, pool_size: 3, password: { env: "DB_PW" } },
      { DB_PW: "s3cret" },
    );
    expect(fromEnv.database).toEqual({
      engine: "postgres",
      url,
      pool_size: 3,
      lease_ttl_ms: 10_000,
      password: "s3cret",
    });
    const file = join(tmp, "pw");
    writeFileSync(file, "from-a-file\n");
    expect(withDatabase({ engine: "postgres", url, password: { file } }).database).toMatchObject({
      password: "from-a-file",
    });
  });

  it("error: each mistake names its field", () => {
    expect(problems({ engine: "mysql" })).toEqual([
      'database.engine: must be "sqlite" (the default) or "postgres"',
    ]);
    expect(problems({ engine: "postgres" })[0]).toMatch(/^database\.url: /);
    expect(problems({ engine: "postgres", url: "postgres://u@h/db", lease_ttl_ms: 100 })[0]).toMatch(
      /^database\.lease_ttl_ms: /,
    );
    expect(problems({ engine: "postgres", url: "mysql://h/db" })).toEqual([
      "database.url: must be a postgres:// URL",
    ]);
    expect(problems({ engine: "postgres", url: "postgres://u:hunter2@h/db" })).toEqual([
      "database.url: must be a valid URL without a password (put it in database.password)",
    ]);
    expect(problems({ engine: "postgres", url: "postgres://u@h/db", pool_size: 0 })[0]).toMatch(
      /^database\.pool_size: /,
    );
    expect(problems({ engine: "postgres", url: "postgres://u@h/db", password: { env: "NOPE_PW" } })).toEqual([
      "database.password: environment variable NOPE_PW is not set",
    ]);
    // a SQLite key under postgres (or the reverse) is a mistake, not ignored
    expect(problems({ engine: "postgres", url: "postgres://u@h/db", path: "/x" })[0]).toMatch(
      /^database: Unrecognized key: "path"/,
    );
    expect(problems({ path: "/x", url: "postgres://u@h/db" })[0]).toMatch(
      /^database: Unrecognized key: "url"/,
    );
  });

  it("error: a command that reads the SQLite file refuses a postgres config with one clear line", () => {
    const cfg = withDatabase({ engine: "postgres", url: "postgres://u@h/db" });
    expect(() => sqliteDatabase(cfg.database, "migrate-to-postgres")).toThrow(SqliteOnlyError);
    expect(() => sqliteDatabase(cfg.database, "migrate-to-postgres")).toThrow(
      "database.engine: postgres: migrate-to-postgres reads a SQLite file; this config has none",
    );
  });
});
