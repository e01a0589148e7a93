// The small bag of shared dependencies every subsystem receives (as ponder's `common`).
import { pino, type Logger } from "pino";
import { Registry, collectDefaultMetrics } from "prom-client";
import type { ResolvedConfig } from "./config/load.js";

export interface Common {
  config: ResolvedConfig;
  logger: Logger;
  metrics: Registry;
  /** the daemon's clock, in ms; tests pass their own */
  now: () => number;
}

export const REDACT_PATHS = [
  "secret",
  "*.secret",
  "secrets",
  "*.secrets",
  "value",
  "*.value",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "api_key",
  "*.api_key",
  "chainSecrets",
  "*.chainSecrets",
  "notify.secrets",
  "config.notify.secrets",
  "config.chainSecrets",
  "rpc_auth",
  "*.rpc_auth",
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { svc: "depositd" }, redact: { paths: REDACT_PATHS, censor: "[redacted]" } },
    destination ?? process.stdout,
  );
}

export function createCommon(
  config: ResolvedConfig,
  opts: { logger?: Logger; now?: () => number } = {},
): Common {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: "depositd_process_" });
  return {
    config,
    logger: opts.logger ?? createLogger(config.log.level),
    metrics,
    now: opts.now ?? Date.now,
  };
}
