import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { createEvmAddressCodec, createEvmDeriver } from "../../../src/chains/evm/address.js";
import { InvalidAddressError } from "../../../src/chains/types.js";
import { NonRetryableError } from "../../../src/errors.js";

const MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const account = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), "m/44'/60'/0'");
const XPUB = account.neuter().extendedKey;

describe("createEvmAddressCodec", () => {
  const codec = createEvmAddressCodec();
  const checksummed = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";

  it.each([
    ["EIP-55 mixed case", checksummed],
    ["all lower case", checksummed.toLowerCase()],
    ["all upper case", "0x" + checksummed.slice(2).toUpperCase()],
  ])("accepts %s", (_name, text) => {
    expect(codec.parse(text)).toEqual({ canonical: checksummed.toLowerCase(), display: checksummed });
  });

  it("accepts the EIP-55 spec vectors", () => {
    for (const a of [
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
      "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
      "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ]) {
      expect(codec.parse(a).display).toBe(a);
    }
  });

  it("refuses a mixed-case address with a wrong checksum", () => {
    const wrong = "0x9858efFD232B4033E47d90003D41EC34EcaEda94";
    expect(() => codec.parse(wrong)).toThrow(InvalidAddressError);
    expect(() => codec.parse(wrong)).toThrow(/bad EIP-55 checksum/);
  });

  it.each([
    ["too short", "0x9858EfFD232B4033E47d90003D41EC34EcaEda9"],
    ["too long", "0x9858EfFD232B4033E47d90003D41EC34EcaEda944"],
    ["no 0x", "9858EfFD232B4033E47d90003D41EC34EcaEda94"],
    ["non-hex", "0x9858EfFD232B4033E47d90003D41EC34EcaEdaZZ"],
    ["a Tron address", "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"],
    ["empty", ""],
    ["padded", " 0x9858effd232b4033e47d90003d41ec34ecaeda94"],
  ])("refuses %s", (_name, text) => {
    expect(() => codec.parse(text)).toThrow(InvalidAddressError);
  });
});

describe("createEvmDeriver", () => {
  it("derives the public vector at m/44'/60'/0'/0/0", () => {
    expect(createEvmDeriver(XPUB).derive(0)).toEqual({
      canonical: "0x9858effd232b4033e47d90003d41ec34ecaeda94",
      display: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
    });
  });

  it("matches addresses derived independently from the mnemonic", () => {
    const deriver = createEvmDeriver(XPUB);
    for (const i of [1, 2, 1000]) {
      const expected = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).address;
      expect(deriver.derive(i)).toEqual({ canonical: expected.toLowerCase(), display: expected });
    }
  });

  it("refuses an extended private key and says why", () => {
    expect(() => createEvmDeriver(account.extendedKey)).toThrow(/never give depositd private keys/);
  });

  it("refuses garbage and keys at the wrong depth", () => {
    expect(() => createEvmDeriver("xpub-not-a-key")).toThrow(/invalid extended public key/);
    expect(() => createEvmDeriver(XPUB.slice(0, -1) + (XPUB.endsWith("a") ? "b" : "a"))).toThrow(
      InvalidAddressError,
    );
    const root = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m").neuter().extendedKey;
    expect(() => createEvmDeriver(root)).toThrow(/depth 0/);
    expect(() => createEvmDeriver(Wallet.createRandom().address)).toThrow(InvalidAddressError);
  });

  it("refuses negative and hardened indexes", () => {
    const deriver = createEvmDeriver(XPUB);
    expect(() => deriver.derive(-1)).toThrow(NonRetryableError);
    expect(() => deriver.derive(2 ** 31)).toThrow(NonRetryableError);
  });
});
