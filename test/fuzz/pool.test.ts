// Hostile pool files: valid, checksum-broken, truncated, unicode and duplicate lines, comments, CRLF.
// importPoolFile either imports exactly the new addresses, or throws PoolError naming every bad line
// (up to its cap) and inserts nothing.
import { getAddress, hexlify } from "ethers";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { openDatabase } from "../../src/db/index.js";
import { PoolError, importPoolFile } from "../../src/pool/index.js";
import { seededRandom } from "../helpers/flaky-proxy.js";
import { SEED, recordResult, size } from "../chaos/harness.js";

const RUNS = size(1500, 10_000);
const db = openDatabase(":memory:", { synchronous: "NORMAL" });
afterAll(() => db.close());
const codec = createEvmAddressCodec();

// A fixed supply of real addresses, so files often repeat ones already imported.
const bytes = seededRandom(SEED);
const known = Array.from({ length: 40 }, () =>
  getAddress(hexlify(Uint8Array.from({ length: 20 }, () => Math.floor(bytes() * 256)))),
);

type Line = { text: string; good: boolean; canonical?: string };

const goodLine = fc
  .constantFrom(...known)
  .chain((a) =>
    fc.constantFrom<Line>(
      { text: a, good: true, canonical: a.toLowerCase() },
      { text: a.toLowerCase(), good: true, canonical: a.toLowerCase() },
      { text: "0x" + a.slice(2).toUpperCase(), good: true, canonical: a.toLowerCase() },
      { text: `  ${a}\t# customer 7`, good: true, canonical: a.toLowerCase() },
    ),
  );
const badLine = fc.oneof(
  // one letter's case flipped: a broken EIP-55 checksum
  fc.tuple(fc.constantFrom(...known), fc.nat()).map(([a, n]): Line => {
    const letters = [...a.slice(2)].map((c, i) => (/[a-fA-F]/.test(c) ? i : -1)).filter((i) => i >= 0);
    const mixed = a.slice(2) !== a.slice(2).toLowerCase() && a.slice(2) !== a.slice(2).toUpperCase();
    if (letters.length < 2 || !mixed) return { text: a.slice(0, 41), good: false };
    const i = letters[n % letters.length]! + 2;
    const c = a[i]!;
    const flipped =
      a.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + a.slice(i + 1);
    const body = flipped.slice(2);
    // flipping the only upper-case letter leaves an all-lower address: no checksum, still valid
    if (body === body.toLowerCase() || body === body.toUpperCase())
      return { text: flipped, good: true, canonical: a.toLowerCase() };
    return { text: flipped, good: false };
  }),
  fc.constantFrom(...known).map((a): Line => ({ text: a.slice(0, 41), good: false })),
  fc.constantFrom(...known).map((a): Line => ({ text: a + "0", good: false })),
  fc.constantFrom(...known).map((a): Line => ({ text: a.slice(2), good: false })),
  fc.constantFrom(...known).map((a): Line => ({ text: `${a} ${a}`, good: false })),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 50 }).map((s): Line => ({ text: s, good: false })),
  fc.constantFrom<Line>(
    { text: "0x" + "g".repeat(40), good: false },
    { text: "'; DROP TABLE pool_addresses; --", good: false },
    { text: "ｏx" + "0".repeat(40), good: false },
    { text: "0x" + "0".repeat(39) + "\u0000", good: false },
    { text: "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", good: false },
    { text: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", good: false },
  ),
);
const quiet = fc.constantFrom<Line>(
  { text: "", good: true },
  { text: "   ", good: true },
  { text: "# comment", good: true },
  { text: "#0xdeadbeef", good: true },
);

/** The importer's line rules, restated: `#` starts a comment, whitespace around is ignored. */
const content = (text: string) => text.replace(/#.*$/, "").trim();

describe("fuzz: pool-file importer", () => {
  it(`behavior: ${RUNS} hostile pool files: exact imports, or PoolError naming every bad line and inserting nothing`, () => {
    const started = Date.now();
    const count = () => db.prepare("SELECT count(*) FROM pool_addresses").pluck().get() as number;
    const tally = { imported: 0, rejected: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 5, arbitrary: goodLine }, { weight: 2, arbitrary: quiet }, badLine), {
          maxLength: 30,
        }),
        fc.constantFrom("\n", "\r\n"),
        (lines, eol) => {
          const text = lines.map((l) => l.text).join(eol);
          // what must happen, from our own reading of the lines
          const bad = new Set<number>();
          const firstSeen = new Map<string, number>();
          text.split(/\r?\n/).forEach((raw, i) => {
            const line = content(raw);
            if (!line) return;
            const spec = lines[i];
            const canonical = spec?.good && content(spec.text) === line ? spec.canonical : undefined;
            if (!canonical) return void bad.add(i + 1);
            if (firstSeen.has(canonical)) bad.add(i + 1);
            else firstSeen.set(canonical, i + 1);
          });
          const existing = new Set(
            db.prepare("SELECT address FROM pool_addresses").pluck().all() as string[],
          );
          const before = count();
          try {
            const r = importPoolFile(db, "anvil", codec, text, 1, "pool.txt");
            expect(bad.size).toBe(0);
            const fresh = [...firstSeen.keys()].filter((a) => !existing.has(a)).length;
            expect(r).toEqual({ added: fresh, existing: firstSeen.size - fresh });
            expect(count()).toBe(before + fresh);
            tally.imported++;
          } catch (e) {
            if (!(e instanceof PoolError)) throw e;
            expect(bad.size).toBeGreaterThan(0);
            const named = [...e.message.matchAll(/pool\.txt:(\d+):/g)].map((m) => Number(m[1]));
            expect(named).toEqual([...bad].sort((a, b) => a - b).slice(0, 50));
            expect(count()).toBe(before);
            tally.rejected++;
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
    recordResult({
      scenario: "fuzz: pool importer",
      faults: `${RUNS} hostile pool files (${tally.rejected} rejected, ${tally.imported} imported)`,
      checked: "bad lines named exactly; nothing inserted on rejection",
      delivered: "-",
      mismatches: 0,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(tally.rejected).toBeGreaterThan(RUNS / 4);
    expect(tally.imported).toBeGreaterThan(RUNS / 10);
  });
});
