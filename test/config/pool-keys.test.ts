// One place decides whether a pool key is acceptable: validateConfig, which both `config check` and
// `serve` run. Keys come from a fixed seed, so the expected addresses are derived independently
// (from the private seed along the full path) rather than through the deriver under test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ecc from "@bitcoinerlab/secp256k1";
import { BIP32Factory } from "bip32";
import { initEccLib, networks, payments } from "bitcoinjs-lib";
import { HDNodeWallet } from "ethers";
import { afterAll, describe, expect, it } from "vitest";
import { accountKeyProblem } from "../../src/chains/account-key.js";
import { deriverFor } from "../../src/chains/index.js";
import { tronAddressOfPublicKey } from "../../src/chains/tron/address.js";
import { ConfigError, validateConfig } from "../../src/config/load.js";
import { rawConfig } from "../helpers/config.js";

initEccLib(ecc);
const bip32 = BIP32Factory(ecc);
const SEED = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
const regtest = bip32.fromSeed(SEED, networks.regtest);
const evmRoot = HDNodeWallet.fromSeed(SEED);
const tmp = mkdtempSync(join(tmpdir(), "depositd-pool-keys-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const btcChain = (pool: Record<string, unknown>) => ({
  id: "btc",
  kind: "bitcoin",
  network: "regtest",
  rpc: ["http://127.0.0.1:1"],
  pool: { source: "xpub", script: "p2wpkh", ...pool },
});
const evmChain = (pool: Record<string, unknown>) => ({
  id: "anvil",
  kind: "evm",
  rpc: ["http://127.0.0.1:1"],
  chain_id: 31337,
  pool: { source: "xpub", ...pool },
});
const tronChain = (pool: Record<string, unknown>) => ({
  id: "tron",
  kind: "tron",
  rpc: ["http://127.0.0.1:1"],
  pool: { source: "xpub", ...pool },
});

function configWith(chain: Record<string, unknown>) {
  const native = { id: "NATIVE", chain: chain.id, decimals: 8, confirmations: 1 };
  return rawConfig({ chains: [chain], assets: [native], rates: { static: {} } });
}

/** The ConfigError's lines, or [] when the config is accepted. */
function problemsOf(chain: Record<string, unknown>): string[] {
  try {
    validateConfig(configWith(chain), {});
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

const btcXpub = (path: string) => regtest.derivePath(path).neutered().toBase58();

describe("accountKeyProblem (table)", () => {
  const H = 0x80000000;
  it.each([
    { key: { depth: 3, index: H }, path: "m/84'/0'/0'", explicit: true, ok: true },
    { key: { depth: 3, index: H + 1 }, path: "m/84'/0'/0'", explicit: false, ok: true },
    {
      key: { depth: 3, index: H + 1 },
      path: "m/84'/0'/0'",
      explicit: true,
      ok: false,
      says: /child 1'.*ends in 0'/,
    },
    { key: { depth: 0, index: 0 }, path: "m/84'/0'/0'", explicit: false, ok: false, says: /master.*depth 3/ },
    {
      key: { depth: 4, index: 0 },
      path: "m/84'/0'/0'",
      explicit: false,
      ok: false,
      says: /chain-level.*depth 3/,
    },
    {
      key: { depth: 5, index: 7 },
      path: "m/84'/0'/0'",
      explicit: false,
      ok: false,
      says: /address-level key \(depth 5\)/,
    },
    { key: { depth: 4, index: 2 }, path: "m/0'/1'/2'/2", explicit: true, ok: true },
  ])("$path depth $key.depth explicit=$explicit → ok=$ok", ({ key, path, explicit, ok, says }) => {
    const problem = accountKeyProblem(key, path, explicit);
    if (ok) expect(problem).toBeNull();
    else expect(problem).toMatch(says!);
  });
});

describe("Bitcoin account keys", () => {
  it("default: the BIP84 account key is accepted and derives what the seed derives at m/84'/1'/0'/0/i", () => {
    for (const pool of [
      { xpub: btcXpub("m/84'/1'/0'") },
      { xpub: btcXpub("m/84'/1'/0'"), path: "m/84'/1'/0'" },
    ]) {
      const cfg = validateConfig(configWith(btcChain(pool)), {});
      const deriver = deriverFor(cfg.chains[0]!)!;
      for (const i of [0, 1, 7]) {
        const pubkey = regtest.derivePath(`m/84'/1'/0'/0/${i}`).publicKey;
        expect(deriver.derive(i).canonical).toBe(
          payments.p2wpkh({ pubkey, network: networks.regtest }).address,
        );
      }
    }
  });

  it("args: pool.path names another account; addresses follow it", () => {
    const pool = { xpub: btcXpub("m/84'/1'/3'"), path: "m/84'/1'/3'" };
    const deriver = deriverFor(validateConfig(configWith(btcChain(pool)), {}).chains[0]!)!;
    const pubkey = regtest.derivePath("m/84'/1'/3'/0/2").publicKey;
    expect(deriver.derive(2).canonical).toBe(payments.p2wpkh({ pubkey, network: networks.regtest }).address);
  });

  it.each([
    {
      what: "a master key",
      xpub: () => regtest.neutered().toBase58(),
      says: /master \(root\) key.*m\/84'\/1'\/0' \(depth 3\)/,
    },
    {
      what: "a chain key m/84'/1'/0'/0",
      xpub: () => btcXpub("m/84'/1'/0'/0"),
      says: /chain-level key.*depth 3/,
    },
    {
      what: "a leaf key",
      xpub: () => btcXpub("m/84'/1'/0'/0/0"),
      says: /address-level key \(depth 5\).*depth 3/,
    },
    {
      what: "a purpose-level key",
      xpub: () => btcXpub("m/84'"),
      says: /above the account level \(depth 1\)/,
    },
  ])("error: $what is refused, naming the depth given and the depth expected", ({ xpub, says }) => {
    const problems = problemsOf(btcChain({ xpub: xpub() }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^chains\[0\]\.pool\.xpub: /);
    expect(problems[0]).toMatch(says);
  });

  it("error: an explicit path whose account is not the key's is refused", () => {
    const problems = problemsOf(btcChain({ xpub: btcXpub("m/84'/1'/0'"), path: "m/84'/1'/2'" }));
    expect(problems).toEqual([expect.stringMatching(/pool\.xpub: the key is child 0' .*ends in 2'/)]);
  });

  it("error: an extended private key is refused", () => {
    const problems = problemsOf(btcChain({ xpub: regtest.derivePath("m/84'/1'/0'").toBase58() }));
    expect(problems).toEqual([expect.stringMatching(/pool\.xpub: .*PRIVATE key/)]);
  });
});

describe("EVM and Tron account keys", () => {
  it("default: accepted at depth 3 and derive what the seed derives", () => {
    const evm = deriverFor(
      validateConfig(
        configWith(evmChain({ xpub: evmRoot.derivePath("m/44'/60'/0'").neuter().extendedKey })),
        {},
      ).chains[0]!,
    )!;
    expect(evm.derive(4).display).toBe(evmRoot.derivePath("m/44'/60'/0'/0/4").address);
    const tronKey = evmRoot.derivePath("m/44'/195'/1'").neuter().extendedKey;
    const tron = deriverFor(
      validateConfig(configWith(tronChain({ xpub: tronKey, path: "m/44'/195'/1'" })), {}).chains[0]!,
    )!;
    expect(tron.derive(3).canonical).toBe(
      tronAddressOfPublicKey(evmRoot.derivePath("m/44'/195'/1'/0/3").publicKey),
    );
  });

  it("error: xprv, wrong depth and a wrong explicit account are refused for both kinds", () => {
    const xprv = evmRoot.derivePath("m/44'/60'/0'").extendedKey;
    expect(problemsOf(evmChain({ xpub: xprv }))).toEqual([
      expect.stringMatching(/pool\.xpub: .*PRIVATE key/),
    ]);
    expect(problemsOf(tronChain({ xpub: xprv }))).toEqual([
      expect.stringMatching(/pool\.xpub: .*PRIVATE key/),
    ]);
    const leaf = evmRoot.derivePath("m/44'/60'/0'/0/0").neuter().extendedKey;
    expect(problemsOf(evmChain({ xpub: leaf }))).toEqual([
      expect.stringMatching(/address-level key \(depth 5\)/),
    ]);
    const account0 = evmRoot.derivePath("m/44'/195'/0'").neuter().extendedKey;
    expect(problemsOf(tronChain({ xpub: account0, path: "m/44'/195'/1'" }))).toEqual([
      expect.stringMatching(/child 0' .*ends in 1'/),
    ]);
  });
});

describe("static pool files", () => {
  it("error: a missing file and a bad line are reported by validateConfig, with the file and line", () => {
    const missing = join(tmp, "missing.txt");
    expect(problemsOf({ ...evmChain({}), pool: { source: "static", file: missing } })).toEqual([
      `chains[0].pool.file: cannot read ${missing}: ENOENT`,
    ]);
    const bad = join(tmp, "bad.txt");
    writeFileSync(bad, "0x5FbDB2315678afecb367f032d93F642f64180aa3\nnot-an-address\n");
    expect(problemsOf({ ...evmChain({}), pool: { source: "static", file: bad } })).toEqual([
      expect.stringMatching(new RegExp(`^chains\\[0\\]\\.pool\\.file: .*${bad}:2: `)),
    ]);
  });
});

describe("depositd config check", () => {
  it("error: refuses an xprv and a wrong-depth Bitcoin key with exit 2, as serve would", () => {
    const main = new URL("../../dist/src/main.js", import.meta.url).pathname;
    const cases = [
      { chain: evmChain({ xpub: evmRoot.derivePath("m/44'/60'/0'").extendedKey }), says: /PRIVATE key/ },
      { chain: btcChain({ xpub: btcXpub("m/84'/1'/0'/0") }), says: /chain-level key/ },
    ];
    for (const [i, c] of cases.entries()) {
      const path = join(tmp, `bad-${i}.json`);
      writeFileSync(path, JSON.stringify(configWith(c.chain)));
      for (const command of [["config", "check"], ["serve"]]) {
        const r = spawnSync(process.execPath, [main, ...command, "--config", path], {
          encoding: "utf8",
          timeout: 30_000,
        });
        expect(r.status, `${command.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/chains\[0\]\.pool\.xpub: /);
        expect(r.stderr).toMatch(c.says);
      }
    }
  });
});
