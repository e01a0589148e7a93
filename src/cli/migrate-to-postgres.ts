// `depositd migrate-to-postgres`: the config's SQLite database into PostgreSQL, verified. The
// target is a URL without a password (a command line is visible to every user in `ps`); the
// password comes from PGPASSWORD, which node-postgres reads itself, or --password-file.
import { readFileSync } from "node:fs";
import type { ResolvedConfig } from "../config/load.js";
import { sqliteDatabase } from "../db/index.js";
import {
  MigrateToPostgresError,
  type TargetDatabase,
  formatVerification,
  migrateToPostgres,
  verifyCopy,
} from "../db/migrate-to-postgres.js";

export interface MigrateToPostgresOptions {
  to: string;
  passwordFile?: string;
  verifyOnly?: boolean;
}

function target(o: MigrateToPostgresOptions): TargetDatabase {
  let url: URL;
  try {
    url = new URL(o.to);
  } catch {
    throw new MigrateToPostgresError(`--to: not a URL: "${o.to}" (postgres://user@host:port/database)`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    throw new MigrateToPostgresError("--to: must be a postgres:// URL");
  if (url.password !== "")
    throw new MigrateToPostgresError(
      "--to: the URL must not hold the password (it would show in ps); use PGPASSWORD or --password-file",
    );
  if (o.passwordFile === undefined) return { url: o.to };
  let text: string;
  try {
    text = readFileSync(o.passwordFile, "utf8");
  } catch (e) {
    throw new MigrateToPostgresError(
      `--password-file: cannot read ${o.passwordFile}: ${(e as Error).message}`,
    );
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new MigrateToPostgresError(`--password-file: ${o.passwordFile} is empty`);
  return { url: o.to, password };
}

/** Prints the comparison table; the exit code is 0 only when every table matched. */
export async function runMigrateToPostgres(
  cfg: ResolvedConfig,
  o: MigrateToPostgresOptions,
): Promise<number> {
  const { path } = sqliteDatabase(cfg.database, "migrate-to-postgres");
  const to = target(o);
  const where = `${path} → ${new URL(o.to).pathname.slice(1) || "(default database)"}`;
  if (o.verifyOnly) {
    const v = await verifyCopy(path, to);
    const { rows, summary } = formatVerification(v);
    console.log(`verify ${where}`);
    console.table(rows);
    for (const line of summary) console.log(line);
    return v.ok ? 0 : 1;
  }
  const r = await migrateToPostgres(path, to);
  console.log(`copy ${where}`);
  console.log(
    r.migrations.length
      ? `applied PostgreSQL migrations: ${r.migrations.join(", ")}`
      : "PostgreSQL migrations: up to date",
  );
  const { rows, summary } = formatVerification(r.verification);
  console.table(rows);
  for (const line of summary) console.log(line);
  console.log(r.committed ? "committed" : "rolled back: the PostgreSQL database is as it was");
  return r.committed ? 0 : 1;
}
