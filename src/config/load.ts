import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { addressCodecFor, deriverFor } from "../chains/index.js";
import { chainSecretOf } from "../chains/kinds.js";
import { DepositdError } from "../errors.js";
import { parsePoolFile } from "../pool/index.js";
import type { SecretRef } from "./fields.js";
import { type Config, configSchema } from "./schema.js";

export class ConfigError extends DepositdError {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/** A config whose secrets have been read: every SecretRef is now its value. */
export interface ResolvedConfig extends Omit<Config, "api" | "notify"> {
  api: Omit<Config["api"], "keys"> & {
    keys: (Omit<Config["api"]["keys"][number], "sha256"> & { sha256: string })[];
  };
  notify: Omit<Config["notify"], "secrets"> & { secrets: { id: string; value: string }[] };
  /** secrets by chain id (tron api key, bitcoin rpc auth) */
  chainSecrets: Record<string, string | undefined>;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(root)";
}

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
}

export function parseConfigText(text: string, source: string): unknown {
  try {
    return source.endsWith(".json") ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (e) {
    throw new ConfigError([`${source}: cannot parse: ${(e as Error).message.split("\n")[0]}`]);
  }
}

export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatZodIssues(parsed.error));
  const cfg = parsed.data;
  const problems: string[] = [];
  const read = (ref: SecretRef, path: string): string => {
    if (typeof ref === "string") return ref;
    if ("env" in ref) {
      const v = env[ref.env];
      if (v === undefined || v === "") problems.push(`${path}: environment variable ${ref.env} is not set`);
      return v ?? "";
    }
    try {
      return readFileSync(ref.file, "utf8").trim();
    } catch (e) {
      problems.push(
        `${path}: cannot read secret file ${ref.file}: ${(e as NodeJS.ErrnoException).code ?? "error"}`,
      );
      return "";
    }
  };
  const keys = cfg.api.keys.map((k, i) => {
    const sha = read(k.sha256, `api.keys[${i}].sha256`).toLowerCase();
    if (sha && !/^[0-9a-f]{64}$/.test(sha)) problems.push(`api.keys[${i}].sha256: must be 64 hex chars`);
    return { ...k, sha256: sha };
  });
  const secrets = cfg.notify.secrets.map((s, i) => {
    const value = read(s.value, `notify.secrets[${i}].value`);
    if (value && value.length < 16)
      problems.push(`notify.secrets[${i}].value: must be at least 16 characters`);
    return { id: s.id, value };
  });
  const chainSecrets: Record<string, string | undefined> = {};
  cfg.chains.forEach((c, i) => {
    const secret = chainSecretOf(c);
    if (secret) chainSecrets[c.id] = read(secret.ref, `chains[${i}].${secret.field}`);
  });
  problems.push(...poolProblems(cfg));
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze({
    ...cfg,
    api: { ...cfg.api, keys },
    notify: { ...cfg.notify, secrets },
    chainSecrets,
  });
}

/**
 * What `serve` would refuse about the pools before it touches the network: an xpub that is private,
 * malformed or at the wrong depth for its chain and script; a static pool file that cannot be
 * read or has a bad line. Checked here so that `config check` ok means `serve` accepts the config.
 */
function poolProblems(cfg: Config): string[] {
  const problems: string[] = [];
  cfg.chains.forEach((c, i) => {
    const pool = c.pool;
    try {
      if (pool.source === "xpub") deriverFor(c);
      else if (pool.file) parsePoolFile(addressCodecFor(c), readFileSync(pool.file, "utf8"), pool.file);
    } catch (e) {
      const key = pool.source === "xpub" ? "xpub" : "file";
      const err = e as NodeJS.ErrnoException;
      const why = err.code
        ? `cannot read ${pool.source === "static" ? pool.file : ""}: ${err.code}`
        : err.message;
      problems.push(`chains[${i}].pool.${key}: ${why.replace(/\n\s*/g, "; ")}`);
    }
  });
  return problems;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError([
      `${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    ]);
  }
  return validateConfig(parseConfigText(text, path), env);
}
