import { randomFillSync } from "node:crypto";

// Sortable ids: 48-bit ms time + 80 random bits, Crockford base32 (ULID layout), with a type prefix.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// Random bytes are drawn from a pool: one syscall per 256 ids, not one per id.
const pool = Buffer.alloc(16 * 256);
let offset = pool.length;

export function newId(prefix: "ord" | "pay" | "evt" | "acc", now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[pool[offset + i]! % 32];
  offset += 16;
  return `${prefix}_${time}${rand}`;
}
