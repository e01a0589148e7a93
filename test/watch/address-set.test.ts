// The compact watched set answers exactly as a Set<string> of the same strings would: EVM
// canonical addresses kept as 20 bytes, everything else (Tron, Bitcoin, odd forms) as strings;
// loaded from the ledger's pool in chunks, and refreshed with only what is new.
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { createCommon } from "../../src/common.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { AddressSet } from "../../src/watch/address-set.js";
import { createWatchedSet } from "../../src/watch/index.js";
import { TEST_EPOCH_MS, testConfig, testDatabase } from "../helpers/config.js";

const evm = (i: number, fill = "0") => "0x" + i.toString(16).padStart(40, fill);
/** distinct EVM addresses per prefix digit */
const evmAt = (prefix: string, i: number) => "0x" + prefix + i.toString(16).padStart(39, "0");

describe("AddressSet", () => {
  const cases: { name: string; add: string[]; hits: string[]; misses: string[] }[] = [
    { name: "empty", add: [], hits: [], misses: [evm(0), "", "0x", "TQ"] },
    {
      name: "EVM canonical, the all-zero address included",
      add: [evm(0), evm(1), "0x" + "f".repeat(40), "0xdac17f958d2ee523a2206206994597c13d831ec7"],
      hits: [evm(0), evm(1), "0x" + "f".repeat(40), "0xdac17f958d2ee523a2206206994597c13d831ec7"],
      misses: [evm(2), "0x" + "f".repeat(39) + "e", "0xdac17f958d2ee523a2206206994597c13d831ec8"],
    },
    {
      name: "exact strings: case and form are never normalized",
      add: ["0xdac17f958d2ee523a2206206994597c13d831ec7"],
      hits: ["0xdac17f958d2ee523a2206206994597c13d831ec7"],
      misses: [
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",
        "0XDAC17F958D2EE523A2206206994597C13D831EC7",
        "dac17f958d2ee523a2206206994597c13d831ec7",
        "0xdac17f958d2ee523a2206206994597c13d831ec", // 41 characters
        "0xdac17f958d2ee523a2206206994597c13d831ec70", // 43 characters
      ],
    },
    {
      name: "non-EVM forms of every length, next to EVM ones",
      add: [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "0xDAC17F958D2EE523A2206206994597C13D831EC7",
        "0x" + "g".repeat(40),
        "x",
        evm(7),
      ],
      hits: [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "0xDAC17F958D2EE523A2206206994597C13D831EC7",
        "0x" + "g".repeat(40),
        "x",
        evm(7),
      ],
      misses: [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5md",
        "0xdac17f958d2ee523a2206206994597c13d831ec7",
        "X",
        evm(8),
      ],
    },
  ];
  it.each(cases)("$name", ({ add, hits, misses }) => {
    const set = new AddressSet();
    for (const a of add) set.add(a);
    for (const a of add) set.add(a); // duplicates are not counted twice
    expect(set.size).toBe(new Set(add).size);
    for (const a of hits) expect(set.has(a), a).toBe(true);
    for (const a of misses) expect(set.has(a), a).toBe(false);
  });

  it("grows past many table sizes and still answers every key and miss like a Set", () => {
    const set = new AddressSet();
    const reference = new Set<string>();
    // sequential (differ in the last bytes), vanity-like (shared leading zeros) and spread keys
    for (let i = 0; i < 50_000; i++) {
      for (const a of [evm(i), evm(i * 0x10001, "0"), "0x" + (i * 2654435761).toString(16).padEnd(40, "a")]) {
        set.add(a);
        reference.add(a);
      }
      if (i % 10_000 === 0) expect(set.size).toBe(reference.size);
    }
    expect(set.size).toBe(reference.size);
    for (const a of reference) if (!set.has(a)) throw new Error(`lost ${a}`);
    for (let i = 0; i < 20_000; i++) {
      const miss = "0x" + (i + 1).toString(16).padStart(40, "e");
      expect(set.has(miss)).toBe(reference.has(miss));
    }
  });

  it("adds a slice of a longer text without taking anything around it", () => {
    const set = new AddressSet();
    const text = [evm(1), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", evm(2)].join("\n");
    set.addSlice(text, 0, 42);
    set.addSlice(text, 43, 77);
    set.addSlice(text, 78, 120);
    expect([set.has(evm(1)), set.has("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"), set.has(evm(2))]).toEqual([
      true,
      true,
      true,
    ]);
    expect(set.size).toBe(3);
  });
});

describe("the watcher's watched set over the pool", () => {
  it("loads every pool address of its chain in chunks, then only what is added", () => {
    const config = testConfig();
    const common = createCommon(config, { logger: pino({ level: "silent" }) });
    const db = testDatabase();
    const ledger = createLedger(db, common, createCatalog(config));
    const chain = config.chains[0]!.id;
    const codec = createEvmAddressCodec();
    const first = Array.from({ length: 25_001 }, (_, i) => evmAt("a", i + 1));
    importPoolFile(db, chain, codec, first.join("\n"), TEST_EPOCH_MS);
    const watched = createWatchedSet(ledger, chain);
    watched.refresh();
    expect(watched.size).toBe(first.length);
    for (const a of first) if (!watched.has(a)) throw new Error(`not loaded: ${a}`);
    expect(watched.has(evmAt("a", 0))).toBe(false);
    watched.refresh(); // nothing new
    expect(watched.size).toBe(first.length);
    const more = [evmAt("b", 1), evmAt("b", 2)];
    importPoolFile(db, chain, codec, more.join("\n"), TEST_EPOCH_MS);
    watched.refresh();
    expect(watched.size).toBe(first.length + 2);
    for (const a of more) expect(watched.has(a)).toBe(true);
    db.close();
  });
});
