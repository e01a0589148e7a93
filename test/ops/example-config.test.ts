import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { deriverFor } from "../../src/chains/index.js";
import { type ConfigError, parseConfigText, validateConfig } from "../../src/config/load.js";
import { configSchema } from "../../src/config/schema.js";

const EXAMPLE = new URL("../../config/depositd.example.yaml", import.meta.url).pathname;
const CREDENTIALS = "/run/credentials/depositd.service/";
const POOLS = "/etc/depositd/pools/";

/**
 * The example as systemd would run it: each file under $CREDENTIALS_DIRECTORY is replaced by a
 * temporary file with a test value.
 */
function exampleWithCredentials(dir: string, values: Record<string, string>): unknown {
  const text = readFileSync(EXAMPLE, "utf8").replaceAll(CREDENTIALS, `${dir}/`).replaceAll(POOLS, `${dir}/`);
  for (const [name, value] of Object.entries(values)) writeFileSync(join(dir, name), `${value}\n`);
  // the static pool file in place, as `serve` and `config check` read it
  writeFileSync(join(dir, "eth.txt"), "0x5FbDB2315678afecb367f032d93F642f64180aa3\n");
  return parseConfigText(text, EXAMPLE);
}

describe("config/depositd.example.yaml", () => {
  const dir = mkdtempSync(join(tmpdir(), "depositd-example-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const apiKey = "example-api-key-0123456789";
  const values = {
    "callback-secret": "whsec_example_0123456789abcdef",
    "api-key-shop.sha256": createHash("sha256").update(apiKey).digest("hex"),
    "bitcoind-rpc-auth": "depositd:example-rpc-password",
  };

  it("default: passes the schema as written", () => {
    const r = configSchema.safeParse(parse(readFileSync(EXAMPLE, "utf8")));
    expect(r.success ? [] : r.error.issues).toEqual([]);
  });

  it("default: validates with its secrets supplied the way systemd supplies them", () => {
    const cfg = validateConfig(exampleWithCredentials(dir, values), { TRON_API_KEY: "unused" });
    expect(cfg.chains.map((c) => c.kind)).toEqual(["evm", "tron", "bitcoin"]);
    expect(cfg.assets.map((a) => a.id)).toEqual(["ETH", "USDT-ERC20", "TRX", "USDT-TRC20", "BTC"]);
    expect(cfg.api.keys).toEqual([
      { name: "shop", sha256: values["api-key-shop.sha256"], role: "merchant", scopes: ["read", "write"] },
    ]);
    expect(cfg.notify.secrets).toEqual([{ id: "k1", value: values["callback-secret"] }]);
    expect(cfg.chainSecrets.btc).toBe(values["bitcoind-rpc-auth"]);
    expect(cfg.notify.allow_private_targets).toBe(false);
    expect(cfg.database).toMatchObject({ engine: "sqlite", path: "/var/lib/depositd/depositd.sqlite" });
    // every asset can be priced in USD: statically (stablecoins) or live from the markets
    const priced = new Set([
      ...Object.keys(cfg.rates.static.USD ?? {}),
      ...(cfg.rates.live?.currencies.includes("USD") ? cfg.assets.map((a) => a.id) : []),
    ]);
    expect([...priced].sort()).toEqual(cfg.assets.map((a) => a.id).sort());
    expect(cfg.rates.live?.providers.map((p) => p.kind)).toEqual(["coinbase", "kraken", "bitstamp"]);
  });

  it("behavior: its xpubs derive the documented public test vectors (so REPLACE is not optional)", () => {
    const cfg = validateConfig(exampleWithCredentials(dir, values), {});
    const first = (id: string) => deriverFor(cfg.chains.find((c) => c.id === id)!)!.derive(0).display;
    expect(first("btc")).toBe("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
    expect(first("tron")).toBe("TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH");
    expect(readFileSync(EXAMPLE, "utf8")).toMatch(/REPLACE\. This is the PUBLIC test vector/);
  });

  it("error: a missing credential file is reported by path, like any config problem", () => {
    const raw = exampleWithCredentials(dir, values) as { notify: { secrets: { value: { file: string } }[] } };
    raw.notify.secrets[0]!.value.file = join(dir, "missing-secret");
    let problems: string[] = [];
    try {
      validateConfig(raw, {});
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems).toEqual([
      `notify.secrets[0].value: cannot read secret file ${join(dir, "missing-secret")}: ENOENT`,
    ]);
  });
});
