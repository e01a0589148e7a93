// The watched addresses in memory, compact: a million of them must load in well under a second and
// a few dozen MB. Canonical EVM addresses (`0x` + 40 lower-case hex digits, src/chains/evm/address.ts)
// are kept as 20 bytes (five 32-bit words) in an open-addressing table; every other string (Tron
// base58, Bitcoin addresses, anything not in that exact form) goes to a plain Set. Membership is
// exact string equality, as a Set<string> would answer it: "0xAB…" never matches a stored "0xab…".

const WORDS = 5; // 20 bytes
const EMPTY = 0; // table slots hold key index + 1

/** the nibble of a lower-case hex digit's char code, or -1 */
function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

export class AddressSet {
  /** the 20-byte keys, WORDS words each, in insertion order */
  private keys = new Int32Array(WORDS * 1024);
  private count = 0;
  /** open addressing, linear probing; capacity a power of two, at most half full */
  private table = new Int32Array(2048);
  private readonly others = new Set<string>();
  /** the parsed words of the string being looked up (no allocation per call) */
  private readonly scratch = new Int32Array(WORDS);

  get size(): number {
    return this.count + this.others.size;
  }

  add(address: string): void {
    this.addSlice(address, 0, address.length);
  }

  /** add `text.slice(start, end)` without making that string when it is an EVM address */
  addSlice(text: string, start: number, end: number): void {
    if (end - start !== 42 || !this.parse(text, start)) {
      this.others.add(start === 0 && end === text.length ? text : text.slice(start, end));
      return;
    }
    if (this.find() >= 0) return;
    if ((this.count + 1) * 2 > this.table.length) this.grow();
    if ((this.count + 1) * WORDS > this.keys.length) {
      const keys = new Int32Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys.set(this.scratch, this.count * WORDS);
    this.count++;
    this.place(this.count);
  }

  has(address: string): boolean {
    return address.length === 42 && this.parse(address, 0) ? this.find() >= 0 : this.others.has(address);
  }

  /** the 42 characters at `at`, if `0x` + 40 lower-case hex digits, into scratch */
  private parse(s: string, at: number): boolean {
    if (s.charCodeAt(at) !== 48 || s.charCodeAt(at + 1) !== 120) return false;
    const w = this.scratch;
    for (let i = 0, p = at + 2; i < WORDS; i++) {
      let v = 0;
      for (let j = 0; j < 8; j++, p++) {
        const n = nibble(s.charCodeAt(p));
        if (n < 0) return false;
        v = (v << 4) | n;
      }
      w[i] = v;
    }
    return true;
  }

  /** a hash of all five words (vanity addresses share leading zeros, sequential ones the rest) */
  private static hash(w: Int32Array, at: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < WORDS; i++) h = Math.imul(h ^ w[at + i]!, 0x01000193) ^ (h >>> 15);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    return h ^ (h >>> 13);
  }

  /** the table slot holding scratch's key, or -1 */
  private find(): number {
    const mask = this.table.length - 1;
    const w = this.scratch;
    for (let slot = AddressSet.hash(w, 0) & mask; ; slot = (slot + 1) & mask) {
      const k = this.table[slot]!;
      if (k === EMPTY) return -1;
      const at = (k - 1) * WORDS;
      const keys = this.keys;
      if (
        keys[at] === w[0] &&
        keys[at + 1] === w[1] &&
        keys[at + 2] === w[2] &&
        keys[at + 3] === w[3] &&
        keys[at + 4] === w[4]
      )
        return slot;
    }
  }

  /** put key number k (1-based) into the table */
  private place(k: number): void {
    const mask = this.table.length - 1;
    let slot = AddressSet.hash(this.keys, (k - 1) * WORDS) & mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.table[slot] = k;
  }

  private grow(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let k = 1; k <= this.count; k++) this.place(k);
  }
}
