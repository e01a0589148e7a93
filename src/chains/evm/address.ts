// EVM address rules (EIP-55) and watch-only derivation of pool addresses from an account xpub.
import { accountKeyProblem } from "../account-key.js";
import { type HDNodeVoidWallet, HDNodeWallet, decodeBase58, getAddress, sha256, toBeArray } from "ethers";
import { type AddressCodec, type AddressDeriver, InvalidAddressError } from "../types.js";
import { NonRetryableError } from "../../errors.js";

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** canonical = lower-case 0x hex (storage, matching); display = EIP-55 checksummed. */
export function createEvmAddressCodec(): AddressCodec {
  return {
    parse(text: string) {
      if (typeof text !== "string" || !HEX_ADDRESS.test(text)) {
        throw new InvalidAddressError(
          `"${String(text).slice(0, 60)}" is not an EVM address (0x + 40 hex digits)`,
        );
      }
      const body = text.slice(2);
      const display = getAddress(text.toLowerCase());
      // All-lower or all-upper carries no checksum; mixed case must be exactly EIP-55.
      const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
      if (mixed && display !== text) {
        throw new InvalidAddressError(`${text}: bad EIP-55 checksum (expected ${display})`);
      }
      return { canonical: text.toLowerCase(), display };
    },
  };
}

/** Account-level (m/44'/60'/0', or `path`) extended public key → addresses at 0/i. */
export function createEvmDeriver(xpub: string, opts: { path?: string } = {}): AddressDeriver {
  const key = xpub.trim();
  if (/^[a-z]prv/i.test(key)) {
    throw new InvalidAddressError(
      "that is an extended PRIVATE key: never give depositd private keys; export the account's extended public key (xpub) instead",
    );
  }
  if (!base58CheckValid(key)) {
    throw new InvalidAddressError(
      "invalid extended public key: not 82 bytes of base58 with a valid checksum (typo?)",
    );
  }
  let node: HDNodeVoidWallet | HDNodeWallet;
  try {
    node = HDNodeWallet.fromExtendedKey(key);
  } catch (e) {
    throw new InvalidAddressError(`invalid extended public key: ${(e as Error).message.split(" (")[0]}`);
  }
  if (node instanceof HDNodeWallet) {
    throw new InvalidAddressError(
      "that key holds a private key: never give depositd private keys; use the xpub",
    );
  }
  const problem = accountKeyProblem(node, opts.path ?? "m/44'/60'/0'", opts.path !== undefined);
  if (problem) throw new InvalidAddressError(problem);
  const external = node.deriveChild(0);
  return {
    derive(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) {
        throw new NonRetryableError(`derivation index must be an integer in [0, 2^31): ${index}`);
      }
      const display = external.deriveChild(index).address;
      return { canonical: display.toLowerCase(), display };
    },
  };
}

// ethers skips the base58check checksum for 82-byte keys, so a typo would derive foreign addresses.
function base58CheckValid(key: string): boolean {
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(key)) return false;
  let bytes: Uint8Array;
  try {
    bytes = toBeArray(decodeBase58(key));
  } catch {
    return false;
  }
  if (bytes.length > 82) return false;
  const full = new Uint8Array(82);
  full.set(bytes, 82 - bytes.length);
  const check = sha256(sha256(full.slice(0, 78))).slice(2, 10);
  return Buffer.from(full.slice(78)).toString("hex") === check;
}
