// Tron addresses: base58check of 0x41 + 20 bytes (T…), or the same 21 bytes as hex (41…).
// Blocks carry 41-hex, TRC-20 logs carry the bare 20 bytes; storage and matching use base58.
import { accountKeyProblem } from "../account-key.js";
import { createHash } from "node:crypto";
import { HDNodeWallet, SigningKey, keccak256 } from "ethers";
import { type AddressCodec, type AddressDeriver, InvalidAddressError } from "../types.js";
import { NonRetryableError } from "../../errors.js";

const VERSION = 0x41;
const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHABET_INDEX = new Map([...ALPHABET].map((c, i) => [c, BigInt(i)]));

function sha256(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

function checksumOf(payload: Uint8Array): Buffer {
  return sha256(sha256(payload)).subarray(0, 4);
}

function encodeBase58(bytes: Uint8Array): string {
  let n = BigInt("0x" + (Buffer.from(bytes).toString("hex") || "0"));
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = "1" + out;
  }
  return out;
}

/** Base58 text to bytes; leading '1's are zero bytes. Throws InvalidAddressError naming a bad character. */
function decodeBase58(text: string): Buffer {
  let n = 0n;
  for (const [i, c] of [...text].entries()) {
    const v = ALPHABET_INDEX.get(c);
    if (v === undefined)
      throw new InvalidAddressError(`invalid base58 character "${c}" at position ${i + 1}`);
    n = n * 58n + v;
  }
  const hex = n === 0n ? "" : n.toString(16);
  const body = Buffer.from(hex.length % 2 ? "0" + hex : hex, "hex");
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  return Buffer.concat([Buffer.alloc(zeros), body]);
}

/** Base58check encoding of 21 address bytes (0x41 + 20). */
function base58check(payload: Uint8Array): string {
  return encodeBase58(Buffer.concat([payload, checksumOf(payload)]));
}

/** Decode base58check text; returns the payload without checksum. */
function decodeBase58check(text: string, what: string): Buffer {
  const raw = decodeBase58(text);
  if (raw.length < 5) throw new InvalidAddressError(`${what} is too short`);
  const payload = raw.subarray(0, raw.length - 4);
  if (!checksumOf(payload).equals(raw.subarray(raw.length - 4))) {
    throw new InvalidAddressError(`bad checksum in ${what} (mistyped or truncated?)`);
  }
  return payload;
}

/** 21 address bytes from base58 T… text; throws InvalidAddressError naming the problem. */
function bytesFromBase58(text: string): Buffer {
  const payload = decodeBase58check(text, "Tron address");
  if (payload.length !== 21) {
    throw new InvalidAddressError(`wrong length: Tron addresses hold 21 bytes, this one ${payload.length}`);
  }
  if (payload[0] !== VERSION) {
    throw new InvalidAddressError(
      `wrong version byte 0x${payload[0]!.toString(16).padStart(2, "0")}: Tron addresses start with 0x41 (T…)`,
    );
  }
  return payload;
}

/** 21 address bytes from "41…" hex or the 20-byte form used in logs (without 41). */
function bytesFromHex(hex: string): Buffer {
  const h = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (!/^[0-9a-fA-F]*$/.test(h)) throw new InvalidAddressError(`not a hex address: "${hex}"`);
  if (h.length === 40) return Buffer.from("41" + h, "hex");
  if (h.length !== 42)
    throw new InvalidAddressError(`wrong length: a hex Tron address has 42 hex chars (41…), got ${h.length}`);
  const bytes = Buffer.from(h, "hex");
  if (bytes[0] !== VERSION)
    throw new InvalidAddressError(`wrong version byte 0x${h.slice(0, 2)}: hex Tron addresses start with 41`);
  return bytes;
}

/** "41…" (21 bytes) or bare 20-byte hex (TRC-20 logs and topics) to the base58 T-address. */
export function tronHexToBase58(hex: string): string {
  return base58check(bytesFromHex(hex));
}

/** Base58 T-address to lower-case "41…" hex (as blocks carry it). */
export function tronBase58ToHex(addr: string): string {
  return bytesFromBase58(addr).toString("hex");
}

export function createTronAddressCodec(): AddressCodec {
  return {
    parse(text) {
      const t = text.trim();
      if (t === "") throw new InvalidAddressError("empty Tron address");
      let bytes: Buffer;
      if (/^(0x)?41[0-9a-fA-F]{40}$/.test(t)) bytes = bytesFromHex(t);
      else if (/^(0x)?[0-9a-fA-F]{40}$/.test(t)) {
        throw new InvalidAddressError(
          "a 20-byte EVM-style address is not a Tron address: use the T… form (or 41…)",
        );
      } else if (/^[0-9a-fA-F]{42}$/.test(t)) bytes = bytesFromHex(t);
      else bytes = bytesFromBase58(t);
      const canonical = base58check(bytes);
      return { canonical, display: canonical };
    },
  };
}

/** Tron address of an uncompressed or compressed secp256k1 public key (hex or bytes). */
export function tronAddressOfPublicKey(publicKey: string | Uint8Array): string {
  const uncompressed = SigningKey.computePublicKey(publicKey, false); // 0x04 + X + Y
  const hash = keccak256("0x" + uncompressed.slice(4));
  return tronHexToBase58("41" + hash.slice(-40));
}

const PUBLIC_VERSIONS = new Set(["0488b21e", "043587cf"]); // xpub, tpub
const PRIVATE_VERSIONS = new Set(["0488ade4", "04358394", "049d7878", "04b2430c", "044a4e28", "045f18bc"]);
const REFUSE_PRIVATE =
  "this is an extended PRIVATE key: depositd only watches and must never be given private keys; " +
  "export the account-level xpub (m/44'/195'/0') from your wallet instead";

/**
 * Watch-only Tron pool addresses from the account xpub (m/44'/195'/0'); address i is at 0/i.
 * `path`, when given, is the account path the key belongs to and fixes the expected depth.
 */
export function createTronDeriver(xpub: string, opts: { path?: string } = {}): AddressDeriver {
  const text = xpub.trim();
  if (/^[a-zA-Z]prv/.test(text)) throw new InvalidAddressError(REFUSE_PRIVATE);
  let raw: Buffer;
  try {
    raw = decodeBase58check(text, "extended public key");
  } catch (e) {
    throw new InvalidAddressError(`not an extended public key: ${(e as Error).message}`);
  }
  if (raw.length !== 78)
    throw new InvalidAddressError(`not an extended public key: ${raw.length} bytes instead of 78`);
  const version = raw.subarray(0, 4).toString("hex");
  if (PRIVATE_VERSIONS.has(version) || raw[45] === 0) throw new InvalidAddressError(REFUSE_PRIVATE);
  if (!PUBLIC_VERSIONS.has(version)) {
    throw new InvalidAddressError(`unsupported extended key version 0x${version}: Tron pools need an xpub`);
  }
  const place = { depth: raw[4]!, index: raw.readUInt32BE(9) };
  const problem = accountKeyProblem(place, opts.path ?? "m/44'/195'/0'", opts.path !== undefined);
  if (problem) throw new InvalidAddressError(problem);
  // ethers only knows the xpub/tpub version bytes we accepted above; checksum was verified by us.
  const account = HDNodeWallet.fromExtendedKey(text);
  if ("privateKey" in account) throw new InvalidAddressError(REFUSE_PRIVATE);
  const external = account.deriveChild(0);
  return {
    derive(index) {
      if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
        throw new NonRetryableError(`derivation index must be an integer in [0, 2^31), got ${index}`);
      }
      const address = tronAddressOfPublicKey(external.deriveChild(index).publicKey);
      return { canonical: address, display: address };
    },
  };
}
