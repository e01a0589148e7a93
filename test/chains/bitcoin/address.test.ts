import { pbkdf2Sync } from "node:crypto";
import * as ecc from "@bitcoinerlab/secp256k1";
import { BIP32Factory } from "bip32";
import { initEccLib, networks, payments, type Network } from "bitcoinjs-lib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type BitcoinScript,
  createBitcoinAddressCodec,
  createBitcoinDeriver,
} from "../../../src/chains/bitcoin/address.js";
import { InvalidAddressError } from "../../../src/chains/types.js";
import { NonRetryableError } from "../../../src/errors.js";
import { type BitcoindNode, startBitcoind } from "../../helpers/bitcoind.js";

initEccLib(ecc);
const bip32 = BIP32Factory(ecc);

const MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
// BIP39 mnemonic → seed: PBKDF2-HMAC-SHA512, salt "mnemonic" + passphrase, 2048 rounds.
const seed = pbkdf2Sync(Buffer.from(MNEMONIC.normalize("NFKD")), Buffer.from("mnemonic"), 2048, 64, "sha512");
const root = bip32.fromSeed(seed);

/** bitcoin/testnet network objects carrying SLIP-132 version bytes, to serialize keys as ypub/zpub/upub/vpub. */
const withVersions = (base: Network, pub: number, prv: number) => ({
  ...base,
  bip32: { public: pub, private: prv },
});
const ZPUB = withVersions(networks.bitcoin, 0x04b24746, 0x04b2430c);
const YPUB = withVersions(networks.bitcoin, 0x049d7cb2, 0x049d7878);
const VPUB = withVersions(networks.testnet, 0x045f1cf6, 0x045f18bc);
const UPUB = withVersions(networks.testnet, 0x044a5262, 0x044a4e28);

/** The same address computed from the PRIVATE root along the full path (independent of the deriver). */
function fromPrivateRoot(path: string, script: BitcoinScript, network: Network): string {
  const pubkey = root.derivePath(path).publicKey;
  const address =
    script === "p2pkh"
      ? payments.p2pkh({ pubkey, network }).address
      : script === "p2sh-p2wpkh"
        ? payments.p2sh({ redeem: payments.p2wpkh({ pubkey, network }), network }).address
        : script === "p2wpkh"
          ? payments.p2wpkh({ pubkey, network }).address
          : payments.p2tr({ internalPubkey: pubkey.slice(1, 33), network }).address;
  return address!;
}

// /work/shared/fixtures/README.md: the mnemonic's first receive address per account type.
const VECTORS: Array<{ path: string; script: BitcoinScript; first: string }> = [
  { path: "m/44'/0'/0'", script: "p2pkh", first: "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA" },
  { path: "m/49'/0'/0'", script: "p2sh-p2wpkh", first: "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf" },
  { path: "m/84'/0'/0'", script: "p2wpkh", first: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" },
  {
    path: "m/86'/0'/0'",
    script: "p2tr",
    first: "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
  },
];

describe("createBitcoinDeriver", () => {
  test.each(VECTORS)("default: $script from the account xpub at $path", ({ path, script, first }) => {
    const xpub = root.derivePath(path).neutered().toBase58();
    expect(xpub.startsWith("xpub")).toBe(true);
    const deriver = createBitcoinDeriver(xpub, script, "mainnet");
    expect(deriver.derive(0)).toEqual({ canonical: first, display: first });
    for (const i of [1, 2]) {
      expect(deriver.derive(i).canonical).toBe(fromPrivateRoot(`${path}/0/${i}`, script, networks.bitcoin));
    }
    expect(deriver.derive(1).canonical).not.toBe(first);
  });

  test("args: SLIP-132 zpub and ypub give the same addresses as the xpub form", () => {
    const zpub = bip32.fromSeed(seed, ZPUB).derivePath("m/84'/0'/0'").neutered().toBase58();
    // The BIP84 account key of this mnemonic, as in SPEC §7.1.
    expect(zpub).toBe(
      "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs",
    );
    expect(createBitcoinDeriver(zpub, "p2wpkh", "mainnet").derive(0).canonical).toBe(
      "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    );
    const ypub = bip32.fromSeed(seed, YPUB).derivePath("m/49'/0'/0'").neutered().toBase58();
    expect(ypub.startsWith("ypub")).toBe(true);
    const viaY = createBitcoinDeriver(ypub, "p2sh-p2wpkh", "mainnet");
    expect(viaY.derive(0).canonical).toBe("37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf");
    expect(viaY.derive(2).canonical).toBe(
      fromPrivateRoot("m/49'/0'/0'/0/2", "p2sh-p2wpkh", networks.bitcoin),
    );
  });

  test("args: tpub/vpub/upub derive testnet and regtest addresses", () => {
    const tpub = bip32.fromSeed(seed, networks.testnet).derivePath("m/84'/1'/0'").neutered().toBase58();
    const vpub = bip32.fromSeed(seed, VPUB).derivePath("m/84'/1'/0'").neutered().toBase58();
    const upub = bip32.fromSeed(seed, UPUB).derivePath("m/49'/1'/0'").neutered().toBase58();
    expect([tpub.slice(0, 4), vpub.slice(0, 4), upub.slice(0, 4)]).toEqual(["tpub", "vpub", "upub"]);
    const expected = fromPrivateRoot("m/84'/1'/0'/0/1", "p2wpkh", networks.testnet);
    expect(expected.startsWith("tb1q")).toBe(true);
    expect(createBitcoinDeriver(tpub, "p2wpkh", "testnet").derive(1).canonical).toBe(expected);
    expect(createBitcoinDeriver(vpub, "p2wpkh", "testnet").derive(1).canonical).toBe(expected);
    expect(createBitcoinDeriver(vpub, "p2wpkh", "regtest").derive(1).canonical).toBe(
      fromPrivateRoot("m/84'/1'/0'/0/1", "p2wpkh", networks.regtest),
    );
    expect(createBitcoinDeriver(upub, "p2sh-p2wpkh", "testnet").derive(0).canonical).toBe(
      fromPrivateRoot("m/49'/1'/0'/0/0", "p2sh-p2wpkh", networks.testnet),
    );
  });

  test("error: private keys are refused, and the message says never to give depositd one", () => {
    const account = root.derivePath("m/84'/0'/0'");
    const xprv = account.toBase58();
    const zprv = bip32.fromSeed(seed, ZPUB).derivePath("m/84'/0'/0'").toBase58();
    const tprv = bip32.fromSeed(seed, networks.testnet).derivePath("m/84'/1'/0'").toBase58();
    const yprv = bip32.fromSeed(seed, YPUB).derivePath("m/49'/0'/0'").toBase58();
    const uprv = bip32.fromSeed(seed, UPUB).derivePath("m/49'/1'/0'").toBase58();
    const vprv = bip32.fromSeed(seed, VPUB).derivePath("m/84'/1'/0'").toBase58();
    const keys = [xprv, yprv, zprv, tprv, uprv, vprv];
    expect(keys.map((k) => k.slice(0, 4))).toEqual(["xprv", "yprv", "zprv", "tprv", "uprv", "vprv"]);
    for (const [key, network] of keys.map((k, i) => [k, i < 3 ? "mainnet" : "regtest"] as const)) {
      let error: unknown;
      try {
        createBitcoinDeriver(key, "p2wpkh", network);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NonRetryableError);
      expect((error as Error).message).toMatch(/PRIVATE key/);
      expect((error as Error).message).toMatch(/never give depositd a private key/);
      // The secret itself is never echoed into logs.
      expect((error as Error).message).not.toContain(key.slice(4, 30));
    }
  });

  test("error: wrong network, conflicting SLIP-132 script, bad checksum, bad index", () => {
    const xpub = root.derivePath("m/84'/0'/0'").neutered().toBase58();
    const tpub = bip32.fromSeed(seed, networks.testnet).derivePath("m/84'/1'/0'").neutered().toBase58();
    const zpub = bip32.fromSeed(seed, ZPUB).derivePath("m/84'/0'/0'").neutered().toBase58();
    expect(() => createBitcoinDeriver(xpub, "p2wpkh", "regtest")).toThrow(
      /xpub key is for mainnet, this chain is regtest/,
    );
    expect(() => createBitcoinDeriver(tpub, "p2wpkh", "mainnet")).toThrow(/tpub key is for testnet\/regtest/);
    expect(() => createBitcoinDeriver(zpub, "p2tr", "mainnet")).toThrow(/zpub key is for p2wpkh addresses/);
    const corrupted = xpub.slice(0, 60) + (xpub[60] === "a" ? "b" : "a") + xpub.slice(61);
    expect(() => createBitcoinDeriver(corrupted, "p2wpkh", "mainnet")).toThrow(/invalid extended public key/);
    expect(() => createBitcoinDeriver("not a key", "p2wpkh", "mainnet")).toThrow(NonRetryableError);
    const deriver = createBitcoinDeriver(xpub, "p2wpkh", "mainnet");
    expect(() => deriver.derive(-1)).toThrow(NonRetryableError);
    expect(() => deriver.derive(2 ** 31)).toThrow(NonRetryableError);
  });
});

const TESTNET_P2PKH = fromPrivateRoot("m/44'/1'/0'/0/0", "p2pkh", networks.testnet);

describe("createBitcoinAddressCodec", () => {
  const mainnet = createBitcoinAddressCodec("mainnet");
  const testnet = createBitcoinAddressCodec("testnet");

  test.each([
    ["1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"],
    ["37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf"],
    ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"],
    // BIP173/BIP350 vectors: upper-case is valid and canonicalizes to lower-case.
    ["BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"],
    [
      "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
      "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ],
    [
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
      "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ],
    [
      "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
      "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
    ],
  ])("default: mainnet %s", (text, canonical) => {
    expect(mainnet.parse(text)).toEqual({ canonical, display: canonical });
  });

  test.each([
    ["tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", /checksum or characters|invalid/],
    ["bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd", /wrong checksum variant/],
    ["BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL", /wrong checksum variant/],
    ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", /wrong checksum variant/],
    ["bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", /checksum or characters/],
    ["bc1pw5dgrnzv", /taproot \(v1\) program is 32 bytes/],
    ["BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", /v0 witness program is 20 or 32 bytes/],
    ["bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", /checksum|variant/],
    ["bc1gmk9yu", /checksum/],
    ["bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyv", /invalid bech32 checksum/], // last char changed
    ["Bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", /checksum or characters/], // mixed case
    ["1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabB", /base58 checksum/],
    ["1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeab0", /base58 checksum or characters/], // 0 is not base58
    [
      "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
      /testnet\/signet address, this chain is mainnet/,
    ],
    [TESTNET_P2PKH, /testnet\/regtest address, this chain is mainnet/],
    [" 1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", /whitespace/],
    ["", /empty/],
  ])("error: mainnet refuses %s", (text, why) => {
    expect(() => mainnet.parse(text)).toThrow(InvalidAddressError);
    expect(() => mainnet.parse(text)).toThrow(why);
  });

  test("args: testnet accepts tb1 and m/n/2 addresses, refuses mainnet and regtest ones", () => {
    expect(testnet.parse("tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy").canonical).toBe(
      "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
    );
    expect(TESTNET_P2PKH).toMatch(/^[mn]/);
    expect(testnet.parse(TESTNET_P2PKH).canonical).toBe(TESTNET_P2PKH);
    expect(() => testnet.parse("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu")).toThrow(
      /mainnet address, this chain is testnet/,
    );
    expect(() => testnet.parse("1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA")).toThrow(/mainnet address/);
    expect(() => testnet.parse("bcrt1qxqcfnx6tk79lmat8vau9vfquz440rm9ztdx9v7")).toThrow(/regtest address/);
  });
});

describe("against a regtest bitcoind", () => {
  let node: BitcoindNode;
  beforeAll(async () => {
    node = await startBitcoind();
  });
  afterAll(async () => {
    await node?.stop();
  });

  test("behavior: every address type the node's wallet hands out parses on regtest, not on mainnet", async () => {
    const regtest = createBitcoinAddressCodec("regtest");
    for (const type of ["legacy", "p2sh-segwit", "bech32", "bech32m"] as const) {
      const address = await node.newAddress(type);
      expect(regtest.parse(address)).toEqual({ canonical: address, display: address });
      if (type === "bech32" || type === "bech32m")
        expect(regtest.parse(address.toUpperCase()).canonical).toBe(address);
      expect(() => createBitcoinAddressCodec("mainnet").parse(address)).toThrow(InvalidAddressError);
    }
  }, 30_000);

  test("behavior: the deriver matches Bitcoin Core's own deriveaddresses for every script type", async () => {
    const account = (path: string) =>
      bip32.fromSeed(seed, networks.testnet).derivePath(path).neutered().toBase58();
    const cases: Array<{ script: BitcoinScript; key: string; descriptor: (k: string) => string }> = [
      { script: "p2pkh", key: account("m/44'/1'/0'"), descriptor: (k) => `pkh(${k}/0/*)` },
      { script: "p2sh-p2wpkh", key: account("m/49'/1'/0'"), descriptor: (k) => `sh(wpkh(${k}/0/*))` },
      { script: "p2wpkh", key: account("m/84'/1'/0'"), descriptor: (k) => `wpkh(${k}/0/*)` },
      { script: "p2tr", key: account("m/86'/1'/0'"), descriptor: (k) => `tr(${k}/0/*)` },
    ];
    for (const { script, key, descriptor } of cases) {
      const info = await node.rpc<{ descriptor: string }>("getdescriptorinfo", [descriptor(key)]);
      const expected = await node.rpc<string[]>("deriveaddresses", [info.descriptor, [0, 4]]);
      const deriver = createBitcoinDeriver(key, script, "regtest");
      expect([0, 1, 2, 3, 4].map((i) => deriver.derive(i).canonical)).toEqual(expected);
    }
  }, 30_000);
});
