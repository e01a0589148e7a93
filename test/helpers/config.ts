import { createHash } from "node:crypto";
import { getAddress, hexlify, randomBytes } from "ethers";
import { pino } from "pino";
import { createCommon, type Common } from "../../src/common.js";
import { type ResolvedConfig, validateConfig } from "../../src/config/load.js";
import { type DB, openDatabase } from "../../src/db/index.js";
import { TEST_ENGINE, freshMigratedDatabaseSync } from "./postgres.js";

export const API_KEY = "test-key-0123456789";
export const API_KEY_SHA = createHash("sha256").update(API_KEY).digest("hex");
export const OTHER_KEY = "other-key-0123456789";
/** an operator key ("ops"): every order, unattributed payments, any event */
export const OPERATOR_KEY = "operator-key-0123456789";
/** a second key of "shop", read-only (scopes [read]): a dashboard's */
export const READONLY_KEY = "readonly-key-0123456789";
export const CALLBACK_SECRET = "whsec_test_0123456789abcdef";

/** A valid raw config for tests: one EVM chain "anvil" with ETH and a token, USD rates. */
export function rawConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    database:
      TEST_ENGINE === "postgres"
        ? { engine: "postgres", url: freshMigratedDatabaseSync() }
        : { path: ":memory:", synchronous: "NORMAL" },
    api: {
      listen: "127.0.0.1:0",
      keys: [
        { name: "shop", sha256: API_KEY_SHA },
        { name: "other", sha256: createHash("sha256").update(OTHER_KEY).digest("hex") },
        { name: "ops", sha256: createHash("sha256").update(OPERATOR_KEY).digest("hex"), role: "operator" },
        {
          name: "shop",
          sha256: createHash("sha256").update(READONLY_KEY).digest("hex"),
          scopes: ["read"],
        },
      ],
    },
    notify: {
      secrets: [{ id: "k1", value: CALLBACK_SECRET }],
      allow_private_targets: true,
      timeout_ms: 2000,
      retry_schedule_s: [0.05, 0.1, 0.2],
    },
    orders: { valid_minutes: 30, late_window_minutes: 60, underpaid_tolerance: "0", timer_interval_ms: 100 },
    rates: { static: { USD: { ETH: "3000", "USDT-ERC20": "1" } } },
    chains: [
      {
        id: "anvil",
        kind: "evm",
        rpc: ["http://127.0.0.1:1"],
        chain_id: 31337,
        poll_interval_ms: 100,
        start_block: 0,
        rpc_max_rps: 10_000, // a local node: no free-tier budget to respect
        pool: { source: "static", cooldown_minutes: 10, low_water: 1 },
      },
    ],
    assets: [
      { id: "ETH", chain: "anvil", decimals: 18, confirmations: 1 },
      {
        id: "USDT-ERC20",
        chain: "anvil",
        contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        decimals: 6,
        confirmations: 1,
      },
    ],
    log: { level: "silent" },
    // a daemon's checkout page on a free port (tests run in parallel)
    checkout: { listen: "127.0.0.1:0" },
    ...over,
  };
}

/** The settings every adapter test's chain shares (the schema's defaults, a static pool): spread, then add the kind's own. */
export const CHAIN_TEST_DEFAULTS = {
  poll_interval_ms: 1000,
  start_block: "latest",
  batch_size: 100,
  blocks_per_scan: 500,
  max_lag_blocks: 50,
  request_timeout_ms: 5000,
  pool: { source: "static", cooldown_minutes: 0, low_water: 0 },
} as const;

/**
 * A fresh, migrated ledger database on the suite's engine (DEPOSITD_TEST_DB): SQLite in memory, or a
 * PostgreSQL copy of the migrated template.
 */
export function testDatabase(): DB {
  if (TEST_ENGINE === "sqlite") return openDatabase(":memory:");
  return openDatabase({
    engine: "postgres",
    url: freshMigratedDatabaseSync(),
    pool_size: 2,
    password: undefined,
    lease_ttl_ms: 10_000,
  });
}

export function testConfig(over: Record<string, unknown> = {}): ResolvedConfig {
  return validateConfig(rawConfig(over), {});
}

export function testCommon(config: ResolvedConfig, now?: () => number): Common {
  return createCommon(config, { logger: pino({ level: "silent" }), now });
}

/** n random EVM addresses, as a pool file's text (checksummed). */
export function evmPoolText(n: number): { text: string; addresses: string[] } {
  const addresses = Array.from({ length: n }, () => getAddress(hexlify(randomBytes(20))));
  return { text: `# test pool\n${addresses.join("\n")}\n`, addresses };
}

/**
 * The harness's fixed "now": tests take time from here (or from a chain they started), never from
 * the machine, so the suite passes on any date and under a moved clock (`faketime`).
 */
export const TEST_EPOCH_MS = Date.parse("2026-11-22T10:00:00.000Z");

/** A controllable clock, starting at the harness epoch. */
export function clock(start = TEST_EPOCH_MS) {
  let t = start;
  return {
    now: () => t,
    set: (ms: number) => void (t = ms),
    advance: (ms: number) => void (t += ms),
  };
}
