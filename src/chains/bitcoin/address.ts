// Bitcoin addresses: validation (checksums, network, witness version/variant, program length) and
// watch-only derivation from an account-level extended public key.
import { accountKeyProblem } from "../account-key.js";
import * as ecc from "@bitcoinerlab/secp256k1";
import { BIP32Factory, type BIP32Interface } from "bip32";
import { address as btcAddress, initEccLib, networks, payments, type Network } from "bitcoinjs-lib";
import { type AddressCodec, type AddressDeriver, InvalidAddressError } from "../types.js";
import { NonRetryableError } from "../../errors.js";

export type BitcoinNetwork = "mainnet" | "testnet" | "regtest";
export type BitcoinScript = "p2pkh" | "p2sh-p2wpkh" | "p2wpkh" | "p2tr";

// p2tr address checks and derivation need secp256k1 x-only point maths.
initEccLib(ecc);
const bip32 = BIP32Factory(ecc);

const NETWORKS: Record<BitcoinNetwork, Network> = {
  mainnet: networks.bitcoin,
  testnet: networks.testnet,
  regtest: networks.regtest,
};

/** Which network a bech32 prefix belongs to, for error messages. */
const HRP_NETWORK: Record<string, string> = { bc: "mainnet", tb: "testnet/signet", bcrt: "regtest" };

function networkOfBase58Version(version: number): string | undefined {
  if (version === networks.bitcoin.pubKeyHash || version === networks.bitcoin.scriptHash) return "mainnet";
  if (version === networks.testnet.pubKeyHash || version === networks.testnet.scriptHash)
    return "testnet/regtest";
  return undefined;
}

/** Address rules of one Bitcoin network: p2pkh, p2sh, p2wpkh, p2wsh (bech32) and p2tr (bech32m). */
export function createBitcoinAddressCodec(network: BitcoinNetwork): AddressCodec {
  const net = NETWORKS[network];
  const hrpPattern = /^(bc|tb|bcrt)1/i;

  function parseBech32(text: string): string {
    let decoded: ReturnType<typeof btcAddress.fromBech32>;
    try {
      // Checks the checksum, the variant per witness version (bech32 for v0, bech32m for v1+),
      // mixed case and padding.
      decoded = btcAddress.fromBech32(text);
    } catch (e) {
      const why = (e as Error).message.includes("wrong encoding")
        ? "uses the wrong checksum variant (bech32 for v0, bech32m for v1+)"
        : "has an invalid bech32 checksum or characters";
      throw new InvalidAddressError(`"${text}" ${why}`);
    }
    if (decoded.prefix !== net.bech32) {
      const other = HRP_NETWORK[decoded.prefix] ?? `"${decoded.prefix}"`;
      throw new InvalidAddressError(`"${text}" is a ${other} address, this chain is ${network}`);
    }
    const { version, data } = decoded;
    if (version === 0 && data.length !== 20 && data.length !== 32) {
      throw new InvalidAddressError(`"${text}": a v0 witness program is 20 or 32 bytes, not ${data.length}`);
    }
    if (version === 1 && data.length !== 32) {
      throw new InvalidAddressError(`"${text}": a taproot (v1) program is 32 bytes, not ${data.length}`);
    }
    if (version > 1) throw new InvalidAddressError(`"${text}": witness version ${version} is not supported`);
    if (version === 1 && !ecc.isXOnlyPoint(data)) {
      throw new InvalidAddressError(`"${text}": the taproot output key is not a valid curve point`);
    }
    return text.toLowerCase();
  }

  function parseBase58(text: string): string {
    let decoded: ReturnType<typeof btcAddress.fromBase58Check>;
    try {
      decoded = btcAddress.fromBase58Check(text);
    } catch (e) {
      const message = (e as Error).message;
      const why = /too (short|long)/.test(message)
        ? "has the wrong length"
        : "has an invalid base58 checksum or characters";
      throw new InvalidAddressError(`"${text}" ${why}`);
    }
    if (decoded.version !== net.pubKeyHash && decoded.version !== net.scriptHash) {
      const other = networkOfBase58Version(decoded.version);
      throw new InvalidAddressError(
        other
          ? `"${text}" is a ${other} address, this chain is ${network}`
          : `"${text}" has an unknown version byte 0x${decoded.version.toString(16)}`,
      );
    }
    return text;
  }

  return {
    parse(text: string) {
      if (typeof text !== "string" || text.length === 0) throw new InvalidAddressError("empty address");
      if (/\s/.test(text)) throw new InvalidAddressError(`"${text}" contains whitespace`);
      if (text.length > 90)
        throw new InvalidAddressError(`"${text.slice(0, 20)}…" is too long for a Bitcoin address`);
      const canonical = hrpPattern.test(text) ? parseBech32(text) : parseBase58(text);
      return { canonical, display: canonical };
    },
  };
}

interface KeyFamily {
  /** what operators see at the start of the key */
  prefix: string;
  public: number;
  private: number;
  mainnet: boolean;
  /** the script the version bytes promise (SLIP-132); undefined = any */
  script?: BitcoinScript;
}

// SLIP-132 version bytes. Multisig families (Ypub/Zpub…) are not single-key wallets: not accepted.
const FAMILIES: KeyFamily[] = [
  { prefix: "xpub", public: 0x0488b21e, private: 0x0488ade4, mainnet: true },
  { prefix: "ypub", public: 0x049d7cb2, private: 0x049d7878, mainnet: true, script: "p2sh-p2wpkh" },
  { prefix: "zpub", public: 0x04b24746, private: 0x04b2430c, mainnet: true, script: "p2wpkh" },
  { prefix: "tpub", public: 0x043587cf, private: 0x04358394, mainnet: false },
  { prefix: "upub", public: 0x044a5262, private: 0x044a4e28, mainnet: false, script: "p2sh-p2wpkh" },
  { prefix: "vpub", public: 0x045f1cf6, private: 0x045f18bc, mainnet: false, script: "p2wpkh" },
];

const PRIVATE_KEY_REFUSAL =
  "is an extended PRIVATE key. depositd only watches: give it the account-level extended PUBLIC key " +
  "(xpub/ypub/zpub, tpub/upub/vpub) and never give depositd a private key. Treat this key as exposed if it was " +
  "stored anywhere depositd reads.";

/** Decode an xpub/ypub/zpub/tpub/upub/vpub; refuse private keys and keys of the other network. */
function decodeAccountKey(text: string, network: BitcoinNetwork, script: BitcoinScript): BIP32Interface {
  const trimmed = text.trim();
  const prefix = trimmed.slice(0, 4);
  if (/^[xyztuvYZUV]prv$/.test(prefix))
    throw new NonRetryableError(`the configured key (${prefix}…) ${PRIVATE_KEY_REFUSAL}`);
  let lastError = "unknown version bytes (expected xpub/ypub/zpub or tpub/upub/vpub)";
  for (const family of FAMILIES) {
    let node: BIP32Interface;
    try {
      // bip32 accepts only the version bytes of the network object it is given.
      node = bip32.fromBase58(trimmed, {
        ...NETWORKS.mainnet,
        bip32: { public: family.public, private: family.private },
      });
    } catch (e) {
      const message = (e as Error).message;
      if (message !== "Invalid network version") {
        lastError = message;
        break; // checksum, length or key errors do not depend on the version bytes
      }
      continue;
    }
    if (!node.isNeutered()) throw new NonRetryableError(`the configured key ${PRIVATE_KEY_REFUSAL}`);
    const wantMainnet = network === "mainnet";
    if (family.mainnet !== wantMainnet) {
      throw new NonRetryableError(
        `a ${family.prefix} key is for ${family.mainnet ? "mainnet" : "testnet/regtest"}, this chain is ${network}`,
      );
    }
    if (family.script && family.script !== script) {
      throw new NonRetryableError(
        `a ${family.prefix} key is for ${family.script} addresses, but the pool's script is ${script}; ` +
          `use the matching script or the key's xpub/tpub form`,
      );
    }
    return node;
  }
  throw new NonRetryableError(`invalid extended public key: ${lastError}`);
}

const PURPOSE: Record<BitcoinScript, number> = { p2pkh: 44, "p2sh-p2wpkh": 49, p2wpkh: 84, p2tr: 86 };

/** The standard account path of a script type (BIP44/49/84/86), account 0. */
export function defaultBitcoinAccountPath(script: BitcoinScript, network: BitcoinNetwork): string {
  return `m/${PURPOSE[script]}'/${network === "mainnet" ? 0 : 1}'/0'`;
}

/** Watch-only addresses at <account>/0/i for one script type; `path` is the key's account path. */
export function createBitcoinDeriver(
  xpub: string,
  script: BitcoinScript,
  network: BitcoinNetwork,
  opts: { path?: string } = {},
): AddressDeriver {
  const net = NETWORKS[network];
  const account = decodeAccountKey(xpub, network, script);
  const path = opts.path ?? defaultBitcoinAccountPath(script, network);
  const problem = accountKeyProblem(account, path, opts.path !== undefined);
  if (problem) throw new NonRetryableError(problem);
  const receive = account.derive(0);

  function addressOf(pubkey: Uint8Array): string | undefined {
    switch (script) {
      case "p2pkh":
        return payments.p2pkh({ pubkey, network: net }).address;
      case "p2sh-p2wpkh":
        return payments.p2sh({ redeem: payments.p2wpkh({ pubkey, network: net }), network: net }).address;
      case "p2wpkh":
        return payments.p2wpkh({ pubkey, network: net }).address;
      case "p2tr":
        // BIP86: key-path only, the x-only internal key tweaked with an empty script tree.
        return payments.p2tr({ internalPubkey: pubkey.slice(1, 33), network: net }).address;
    }
  }

  return {
    derive(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
        throw new NonRetryableError(`address index must be an integer in [0, 2^31), got ${index}`);
      }
      const address = addressOf(receive.derive(index).publicKey);
      if (!address) throw new NonRetryableError(`could not derive a ${script} address at index ${index}`);
      return { canonical: address, display: address };
    },
  };
}
