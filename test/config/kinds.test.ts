// Each chain kind's config fragment (src/chains/<kind>/config.ts) as the schema composes it: the
// kind's own fields, its reorg default, its secret, and what its assets may say, as tables.
import { describe, expect, it } from "vitest";
import { CHAIN_KINDS, assetIssues, chainSecretOf, reorgDepthOf } from "../../src/chains/kinds.js";
import { ConfigError, validateConfig } from "../../src/config/load.js";
import { rawConfig } from "../helpers/config.js";

const pool = { source: "static", cooldown_minutes: 0, low_water: 0 };
const chains = {
  evm: { id: "eth", kind: "evm", rpc: ["http://127.0.0.1:1"], chain_id: 1, pool },
  tron: { id: "tron", kind: "tron", rpc: ["http://127.0.0.1:1"], api_key: "tron-key", pool },
  bitcoin: { id: "btc", kind: "bitcoin", rpc: ["http://127.0.0.1:1"], rpc_auth: "u:p", pool },
} as const;

/** the problems validateConfig reports for one chain of `kind` and one asset on it */
function problems(kind: keyof typeof chains, asset: Record<string, unknown>, chain = {}): string[] {
  const c = { ...chains[kind], ...chain };
  try {
    validateConfig(
      rawConfig({
        chains: [c],
        assets: [
          { id: "COIN", chain: c.id, decimals: 8 },
          { id: "X", chain: c.id, decimals: 6, ...asset },
        ],
        rates: { static: {} },
      }),
      {},
    );
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe("asset rules per kind", () => {
  const table: [keyof typeof chains, Record<string, unknown>, string[]][] = [
    ["evm", { contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }, []],
    ["tron", { contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" }, []],
    ["bitcoin", { contract: "anything" }, ["assets[1].contract: bitcoin assets have no contract"]],
    ["tron", { contract: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", confirmations: "solidified" }, []],
    [
      "evm",
      { contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3", confirmations: "solidified" },
      ["assets[1].confirmations: solidified is for tron chains only"],
    ],
    [
      "bitcoin",
      { contract: "x", confirmations: "solidified" },
      [
        "assets[1].contract: bitcoin assets have no contract",
        "assets[1].confirmations: solidified is for tron chains only",
      ],
    ],
  ];
  it.each(table)("%s %j → %j", (kind, asset, expected) => {
    expect(problems(kind, asset)).toEqual(expected);
  });

  it("error: a field of another kind is refused", () => {
    expect(
      problems("evm", { contract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }, { api_key: "k" }),
    ).toEqual(['chains[0]: Unrecognized key: "api_key"']);
  });
});

describe("defaults and secrets per kind", () => {
  const table: [keyof typeof chains, number, { field: string; ref: string } | undefined][] = [
    ["evm", 64, undefined],
    ["tron", 32, { field: "api_key", ref: "tron-key" }],
    ["bitcoin", 12, { field: "rpc_auth", ref: "u:p" }],
  ];
  it.each(table)("%s: reorg depth %d, secret %j", (kind, depth, secret) => {
    expect(reorgDepthOf(chains[kind])).toBe(depth);
    expect(reorgDepthOf({ ...chains[kind], reorg_depth: 7 })).toBe(7);
    expect(chainSecretOf(chains[kind])).toEqual(secret);
  });

  it("behavior: the loader reads each kind's secret into chainSecrets", () => {
    const cfg = validateConfig(
      rawConfig({
        chains: Object.values(chains),
        assets: Object.values(chains).map((c) => ({ id: c.id.toUpperCase(), chain: c.id, decimals: 8 })),
        rates: { static: {} },
      }),
      {},
    );
    expect(cfg.chainSecrets).toEqual({ tron: "tron-key", btc: "u:p" });
  });

  it("default: every kind is listed once, under its own name", () => {
    for (const [name, k] of Object.entries(CHAIN_KINDS)) expect(k.kind).toBe(name);
    expect(assetIssues("tron", { confirmations: "solidified" })).toEqual([]);
  });
});
