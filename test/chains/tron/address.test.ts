import {
  HDNodeWallet,
  Wallet,
  concat,
  dataSlice,
  decodeBase58,
  encodeBase58,
  getBytes,
  sha256,
  toBeArray,
} from "ethers";
import { utils as tronUtils } from "tronweb";
import { describe, expect, it } from "vitest";
import {
  createTronAddressCodec,
  createTronDeriver,
  tronAddressOfPublicKey,
  tronBase58ToHex,
  tronHexToBase58,
} from "../../../src/chains/tron/address.js";
import { InvalidAddressError } from "../../../src/chains/types.js";
import { NonRetryableError } from "../../../src/errors.js";

const MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const ACCOUNT = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/195'/0'");
const XPUB = ACCOUNT.neuter().extendedKey;

// Known pairs: USDT mainnet contract, and addresses from the docs' fixtures (converted by tronweb).
const PAIRS: Array<[string, string]> = [
  ["TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"],
  ["TJ4eV1hnVAiFmeArBsuL6GkgTGVnWBe7eV", "4158c85b7b6a5118beb3b23c14fcb2f3551a81d79a"],
  ["TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf", "41eca9bc828a3005b9a3b909f2cc5c2a54794de05f"],
];

describe("createTronAddressCodec", () => {
  const codec = createTronAddressCodec();

  it("default: base58 T-addresses are canonical and display form", () => {
    for (const [b58] of PAIRS) expect(codec.parse(b58)).toEqual({ canonical: b58, display: b58 });
  });

  it("args: 41-hex (any case, optional 0x) becomes the base58 form", () => {
    for (const [b58, hex] of PAIRS) {
      expect(codec.parse(hex).canonical).toBe(b58);
      expect(codec.parse(hex.toUpperCase()).canonical).toBe(b58);
      expect(codec.parse("0x" + hex).canonical).toBe(b58);
    }
  });

  it("agrees with tronweb on random keys", () => {
    for (let i = 0; i < 20; i++) {
      const w = Wallet.createRandom();
      const expected = tronUtils.address.fromPrivateKey(w.privateKey.slice(2)) as string;
      expect(tronAddressOfPublicKey(w.signingKey.publicKey)).toBe(expected);
      expect(codec.parse(tronUtils.address.toHex(expected)).canonical).toBe(expected);
    }
  });

  const bad: Array<[string, string, RegExp]> = [
    ["checksum", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", /checksum/],
    ["invalid character", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60", /invalid base58 character "0"/],
    ["wrong version (bitcoin p2pkh)", "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA", /version byte 0x00/],
    ["wrong length (truncated)", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj", /checksum|length/],
    ["hex with wrong prefix", "42a614f803b6fd780986a42c78ec9c7f77e6ded13c", /version byte 0x42/],
    ["EVM address", "0xdAC17F958D2ee523a2206206994597C13D831ec7", /EVM/],
    ["empty", "  ", /empty/],
  ];
  for (const [name, text, message] of bad) {
    it(`error: ${name}`, () => {
      expect(() => codec.parse(text)).toThrow(InvalidAddressError);
      expect(() => codec.parse(text)).toThrow(message);
    });
  }

  it("error: right checksum, wrong length", () => {
    // a valid base58check of 22 bytes starting with 0x41
    const b58 = tronUtils.crypto.getBase58CheckAddress([0x41, ...new Array<number>(21).fill(7)]);
    expect(() => codec.parse(b58)).toThrow(/wrong length.*22/);
  });
});

describe("tronHexToBase58 / tronBase58ToHex", () => {
  it("default: round trip on known pairs", () => {
    for (const [b58, hex] of PAIRS) {
      expect(tronHexToBase58(hex)).toBe(b58);
      expect(tronBase58ToHex(b58)).toBe(hex);
    }
  });

  it("args: 20-byte EVM form (as in TRC-20 logs) gets the 41 prefix", () => {
    expect(tronHexToBase58("a614f803b6fd780986a42c78ec9c7f77e6ded13c")).toBe(
      "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    );
  });

  it("error: other lengths", () => {
    expect(() => tronHexToBase58("a614f803")).toThrow(InvalidAddressError);
    expect(() => tronBase58ToHex("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u")).toThrow(/checksum/);
  });
});

describe("createTronDeriver", () => {
  it("default: the public vector m/44'/195'/0'/0/0", () => {
    expect(createTronDeriver(XPUB).derive(0)).toEqual({
      canonical: "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH",
      display: "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH",
    });
  });

  it("indexes 1, 2 and 57 match tronweb's derivation from the mnemonic", () => {
    const deriver = createTronDeriver(XPUB);
    expect(deriver.derive(1).canonical).toBe("TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK");
    expect(deriver.derive(2).canonical).toBe("TYJPRrdB5APNeRs4R7fYZSwW3TcrTKw2gx");
    for (const i of [1, 2, 57]) {
      const expected = tronUtils.accounts.generateAccountWithMnemonic(
        MNEMONIC,
        `m/44'/195'/0'/0/${i}`,
      ).address;
      expect(deriver.derive(i).canonical).toBe(expected);
    }
  });

  it("error: refuses extended private keys and says why", () => {
    expect(() => createTronDeriver(ACCOUNT.extendedKey)).toThrow(/never be given private keys/);
    // a private key re-labelled with xpub version bytes is still refused
    const raw = getBytes(toBeArray(decodeBase58(ACCOUNT.extendedKey))).slice(0, 78);
    raw.set([0x04, 0x88, 0xb2, 0x1e], 0);
    const relabelled = encodeBase58(concat([raw, dataSlice(sha256(sha256(raw)), 0, 4)]));
    expect(relabelled.startsWith("xpub")).toBe(true);
    expect(() => createTronDeriver(relabelled)).toThrow(/never be given private keys/);
  });

  it("error: bad checksum, wrong depth, bad index", () => {
    const broken = XPUB.slice(0, -1) + (XPUB.endsWith("a") ? "b" : "a");
    expect(() => createTronDeriver(broken)).toThrow(/checksum/);
    const master = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m").neuter().extendedKey;
    expect(() => createTronDeriver(master)).toThrow(/depth 0/);
    expect(() => createTronDeriver(XPUB).derive(-1)).toThrow(NonRetryableError);
    expect(() => createTronDeriver(XPUB).derive(2 ** 31)).toThrow(NonRetryableError);
  });
});
