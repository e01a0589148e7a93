// The 2048-bit logs bloom of an EVM block header (yellow paper §4.3.1): what a block's receipts
// may contain. A bloom never misses an item that is there; it may claim one that is not.
import { keccak256 } from "ethers";

/** The three (byte, mask) bits an item (address or topic, as 0x hex) sets in a bloom. */
export type BloomBits = readonly (readonly [number, number])[];

export function bloomBits(item: string): BloomBits {
  const h = Buffer.from(keccak256(item).slice(2), "hex");
  const bits: [number, number][] = [];
  for (let i = 0; i < 6; i += 2) {
    const bit = ((h[i]! << 8) | h[i + 1]!) & 2047;
    bits.push([255 - (bit >> 3), 1 << (bit & 7)]);
  }
  return bits;
}

/** 0x + 512 hex digits → 256 bytes; null when it is not a bloom */
export function parseBloom(v: unknown): Buffer | null {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{512}$/.test(v)) return null;
  return Buffer.from(v.slice(2), "hex");
}

export function bloomMayHave(bloom: Buffer, bits: BloomBits): boolean {
  return bits.every(([byte, mask]) => (bloom[byte]! & mask) !== 0);
}
