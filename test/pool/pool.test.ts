// Address pools: static imports, xpub derivation ahead, exclusivity under random interleavings.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HDNodeWallet } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createEvmAddressCodec, createEvmDeriver } from "../../src/chains/evm/address.js";
import { validateConfig } from "../../src/config/load.js";
import { foldCounters } from "../../src/db/counters.js";
import type { DB } from "../../src/db/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { ProblemError } from "../../src/errors.js";
import { PoolError, ensureDerived, importPoolFile, poolReuses, poolStatus } from "../../src/pool/index.js";
import { TEST_EPOCH_MS, evmPoolText, rawConfig, testCommon, testDatabase } from "../helpers/config.js";
import { TEST_ENGINE } from "../helpers/postgres.js";

const MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
const XPUB = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'").neuter().extendedKey;
const OTHER_XPUB = HDNodeWallet.fromPhrase(
  "test test test test test test test test test test test junk",
  undefined,
  "m/44'/60'/0'",
).neuter().extendedKey;

describe("poolReuses", () => {
  const xpub = {
    source: "xpub",
    xpub: XPUB,
    script: "p2wpkh",
    lookahead: 100,
    cooldown_minutes: 0,
    low_water: 10,
  } as const;
  it.each([
    [
      "behavior: a static pool always hands a released address out again",
      { source: "static", cooldown_minutes: 0, low_water: 10 } as const,
      true,
    ],
    ["behavior: an xpub pool by default never", { ...xpub, reuse: false }, false],
    ["behavior: an xpub pool with reuse: true does", { ...xpub, reuse: true }, true],
  ])("%s", (_name, pool, expected) => expect(poolReuses(pool)).toBe(expected));
});

describe("static pool import", () => {
  it("default: imports idempotently, skipping comments and blank lines", () => {
    const db = testDatabase();
    const { text, addresses } = evmPoolText(3);
    expect(importPoolFile(db, "eth", createEvmAddressCodec(), text, 0)).toEqual({ added: 3, existing: 0 });
    expect(importPoolFile(db, "eth", createEvmAddressCodec(), text + "\n# more\n\n", 0)).toEqual({
      added: 0,
      existing: 3,
    });
    const stored = db.prepare("SELECT address, display FROM pool_addresses ORDER BY id").all();
    expect(stored).toEqual(addresses.map((a) => ({ address: a.toLowerCase(), display: a })));
  });

  it("error: one bad line (wrong EIP-55 checksum) rejects the whole file, naming the line; nothing imported", () => {
    const db = testDatabase();
    const { addresses } = evmPoolText(3);
    const good = addresses[1]!;
    // flip the case of one letter: a mixed-case address with a wrong checksum
    const i = [...good].findIndex((c, k) => k > 1 && /[a-fA-F]/.test(c));
    const bad =
      good.slice(0, i) +
      (good[i] === good[i]!.toUpperCase() ? good[i]!.toLowerCase() : good[i]!.toUpperCase()) +
      good.slice(i + 1);
    const text = `# pool\n${addresses[0]}\n${bad}\n${addresses[2]}\nnot-an-address\n`;
    expect(() => importPoolFile(db, "eth", createEvmAddressCodec(), text, 0, "eth.txt")).toThrow(PoolError);
    try {
      importPoolFile(db, "eth", createEvmAddressCodec(), text, 0, "eth.txt");
    } catch (e) {
      expect((e as Error).message).toMatch(/eth\.txt:3: .*checksum/);
      expect((e as Error).message).toMatch(/eth\.txt:5: /);
    }
    expect(db.prepare("SELECT count(*) AS n FROM pool_addresses").get()).toEqual({ n: 0 });
  });

  it("error: a duplicate address in one file is named", () => {
    const db = testDatabase();
    const { addresses } = evmPoolText(1);
    expect(() =>
      importPoolFile(
        db,
        "eth",
        createEvmAddressCodec(),
        `${addresses[0]}\n${addresses[0]!.toLowerCase()}\n`,
        0,
        "f",
      ),
    ).toThrow(/f:2: duplicate/);
  });
});

describe("xpub pools", () => {
  it("default: derives the lookahead ahead of use, persists the next index, checks the key at start", () => {
    const db = testDatabase();
    const deriver = createEvmDeriver(XPUB);
    expect(ensureDerived(db, "eth", deriver, 5, 0)).toBe(5);
    expect(ensureDerived(db, "eth", deriver, 5, 0)).toBe(0);
    const rows = db
      .prepare("SELECT derivation_index AS i, display FROM pool_addresses ORDER BY id")
      .all() as { i: number; display: string }[];
    expect(rows.map((r) => r.i)).toEqual([0, 1, 2, 3, 4]);
    expect(rows[0]!.display).toBe("0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
    expect(poolStatus(db, "eth", 0, false)).toMatchObject({
      source: "xpub",
      total: 5,
      free: 5,
      next_index: 5,
    });
    // a different key for the same chain is refused, nothing added
    expect(() => ensureDerived(db, "eth", createEvmDeriver(OTHER_XPUB), 5, 0)).toThrow(
      /refusing to mix two keys/,
    );
    expect(poolStatus(db, "eth", 0, false).total).toBe(5);
  });

  it("error: a private extended key is refused with a message never to give depositd private keys", () => {
    const xprv = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'").extendedKey;
    expect(() => createEvmDeriver(xprv)).toThrow(/never give depositd private keys/);
  });

  it("behavior: with reuse false an xpub address is bound once; binding tops up the lookahead without skipping indexes", () => {
    const config = validateConfig(
      rawConfig({
        chains: [
          {
            ...(rawConfig().chains as object[])[0]!,
            pool: { source: "xpub", xpub: XPUB, lookahead: 2, cooldown_minutes: 0 },
          },
        ],
      }),
      {},
    );
    let now = TEST_EPOCH_MS;
    const common = testCommon(config, () => now);
    const db = testDatabase();
    const ledger = createLedger(db, common, createCatalog(config));
    const deriver = createEvmDeriver(XPUB);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      ensureDerived(db, "anvil", deriver, 2, now);
      const o = ledger.createOrder(
        "shop",
        {
          merchant_order_id: `X-${i}`,
          amount: "1",
          currency: "ETH",
          callback_url: "http://127.0.0.1:9/",
          valid_minutes: 1,
        },
        now,
      ).order;
      expect(seen.has(o.options[0]!.address)).toBe(false);
      seen.add(o.options[0]!.address);
      ledger.cancelOrder("shop", o.id, now);
      now += 3 * 3600_000; // past expiry and the late window: the binding ends
      ledger.tick(now);
    }
    const idx = db.prepare("SELECT derivation_index AS i FROM pool_addresses ORDER BY i").pluck().all();
    expect(idx).toEqual(Array.from({ length: idx.length }, (_, i) => i));
    expect([...seen]).toEqual(Array.from({ length: 6 }, (_, i) => deriver.derive(i).display));
  });
});

describe("xpub pools in the daemon", () => {
  it("behavior: creates beyond the lookahead derive more at once instead of failing", async () => {
    const { startDaemon } = await import("../../src/daemon.js");
    const base = rawConfig();
    const config = validateConfig(
      {
        ...base,
        chains: [{ ...(base.chains as object[])[0]!, pool: { source: "xpub", xpub: XPUB, lookahead: 2 } }],
      },
      {},
    );
    const daemon = await startDaemon(testCommon(config), {
      manualWatchers: true,
      noDelivery: true,
      noTimers: true,
    });
    try {
      const deriver = createEvmDeriver(XPUB);
      for (let i = 0; i < 5; i++) {
        const o = daemon.ledger.createOrder(
          "shop",
          { merchant_order_id: `D-${i}`, amount: "1", currency: "ETH", callback_url: "http://127.0.0.1:9/" },
          Date.now(),
        ).order;
        expect(o.options[0]!.address).toBe(deriver.derive(i).display);
      }
    } finally {
      await daemon.stop();
    }
  });
});

describe("exclusivity under random interleavings (property)", () => {
  type Op =
    | { kind: "create"; pool: "static" | "xpub" }
    | { kind: "cancel"; which: number }
    | { kind: "advance"; minutes: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant("create" as const),
      pool: fc.constantFrom("static" as const, "xpub" as const),
    }),
    fc.record({ kind: fc.constant("cancel" as const), which: fc.nat(20) }),
    fc.record({ kind: fc.constant("advance" as const), minutes: fc.constantFrom(1, 5, 20, 31, 60, 90, 200) }),
  );

  it("behavior: never two live orders on one address, never a resting address, never an xpub address twice", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const base = rawConfig();
        const config = validateConfig(
          {
            ...base,
            orders: { valid_minutes: 30, late_window_minutes: 30, timer_interval_ms: 100 },
            chains: [
              {
                ...(base.chains as object[])[0]!,
                id: "s",
                pool: { source: "static", cooldown_minutes: 45, low_water: 0 },
              },
              {
                ...(base.chains as object[])[0]!,
                id: "x",
                pool: { source: "xpub", xpub: XPUB, lookahead: 2, low_water: 0 },
              },
            ],
            assets: [
              { id: "SETH", chain: "s", decimals: 18 },
              { id: "XETH", chain: "x", decimals: 18 },
            ],
            rates: { static: {} },
          },
          {},
        );
        let now = TEST_EPOCH_MS;
        const common = testCommon(config, () => now);
        const db = testDatabase();
        const ledger = createLedger(db, common, createCatalog(config));
        importPoolFile(db, "s", createEvmAddressCodec(), evmPoolText(3).text, now);
        const deriver = createEvmDeriver(XPUB);
        const orders: string[] = [];
        let n = 0;
        for (const o of ops) {
          ensureDerived(db, "x", deriver, 2, now);
          if (o.kind === "create") {
            try {
              const created = ledger.createOrder(
                "shop",
                {
                  merchant_order_id: `P-${n++}`,
                  amount: "1",
                  currency: o.pool === "static" ? "SETH" : "XETH",
                  callback_url: "http://127.0.0.1:9/",
                },
                now,
              );
              orders.push(created.order.id);
              const addr = created.order.options[0]!.address.toLowerCase();
              // never a resting address: its rest time is over
              const restUntil = db
                .prepare("SELECT rest_until FROM pool_addresses WHERE address = ?")
                .pluck()
                .get(addr) as number;
              expect(restUntil).toBeLessThanOrEqual(now);
            } catch (e) {
              expect(e).toBeInstanceOf(ProblemError);
              expect((e as ProblemError).code).toBe("pool_exhausted");
            }
          } else if (o.kind === "cancel" && orders.length) {
            try {
              ledger.cancelOrder("shop", orders[o.which % orders.length]!, now);
            } catch (e) {
              expect((e as ProblemError).code).toBe("conflict");
            }
          } else if (o.kind === "advance") {
            now += o.minutes * 60_000;
            ledger.tick(now);
          }
          const doubleLive = db
            .prepare(
              "SELECT count(*) FROM (SELECT address FROM bindings WHERE released_at IS NULL GROUP BY chain, address HAVING count(*) > 1) twice",
            )
            .pluck()
            .get();
          expect(doubleLive).toBe(0);
          const xpubTwice = db
            .prepare(
              "SELECT count(*) FROM (SELECT address FROM bindings WHERE chain = 'x' GROUP BY address HAVING count(*) > 1) twice",
            )
            .pluck()
            .get();
          expect(xpubTwice).toBe(0);
          // a static address bound again only after its previous binding's release + cooldown
          const early = db
            .prepare(
              `SELECT count(*) FROM bindings a JOIN bindings b ON a.chain = b.chain AND a.address = b.address AND b.id > a.id
               WHERE a.chain = 's' AND (a.released_at IS NULL OR b.bound_at < a.released_at + 45 * 60000)`,
            )
            .pluck()
            .get();
          expect(early).toBe(0);
          // the counters the database keeps equal a recount of the rows, whatever happened
          for (const [chain, reuse] of [
            ["s", true],
            ["x", false],
          ] as const) {
            expect(poolStatus(db, chain, now, reuse)).toMatchObject(recountPool(db, chain, now, reuse));
          }
          expect(countersOf(db)).toEqual(recountStatuses(db));
        }
        db.close();
      }),
      // each run is a fresh database: on PostgreSQL a CREATE DATABASE (~0.4 s), so fewer runs there
      { seed: 20261122, numRuns: TEST_ENGINE === "postgres" ? 60 : 150 },
    );
  });
});

/** The pool's counts by scanning its rows (what poolStatus did before the counters). */
function recountPool(db: DB, chain: string, now: number, reuse: boolean) {
  return db
    .prepare(
      `SELECT count(*) AS total, count(*) FILTER (WHERE bound = 1) AS bound,
              count(*) FILTER (WHERE bound = 0 AND rest_until > @now) AS resting,
              count(*) FILTER (WHERE bound = 0 AND rest_until <= @now AND (used = 0 OR @reuse = 1)) AS free
       FROM pool_addresses WHERE chain = @chain`,
    )
    .get({ chain, now, reuse: reuse ? 1 : 0 }) as Record<string, number>;
}

function countersOf(db: DB) {
  foldCounters(db); // PostgreSQL's pending deltas into the table (0013); nothing on SQLite
  return db.prepare("SELECT kind, chain, status, n FROM status_counts WHERE n != 0 ORDER BY 1, 2, 3").all();
}

function recountStatuses(db: DB) {
  return db
    .prepare(
      `SELECT 'order' AS kind, '' AS chain, status, count(*) AS n FROM orders GROUP BY status
       UNION ALL SELECT 'payment', chain, status, count(*) FROM payments GROUP BY chain, status ORDER BY 1, 2, 3`,
    )
    .all();
}

describe("pool commands", () => {
  it("default: `pool derive` prints the xpub's addresses and `pool status` the counts", () => {
    const dir = mkdtempSync(join(tmpdir(), "depositd-pool-cli-"));
    try {
      const base = rawConfig();
      const cfg = {
        ...base,
        database: { path: join(dir, "d.sqlite") },
        chains: [{ ...(base.chains as object[])[0]!, pool: { source: "xpub", xpub: XPUB, lookahead: 3 } }],
      };
      const file = join(dir, "c.yaml");
      writeFileSync(file, stringify(cfg));
      const main = join(process.cwd(), "dist", "src", "main.js");
      const out = execFileSync(
        process.execPath,
        [main, "--config", file, "pool", "derive", "--chain", "anvil", "--count", "3"],
        { encoding: "utf8" },
      );
      const lines = out.trim().split("\n");
      const deriver = createEvmDeriver(XPUB);
      expect(lines).toEqual([0, 1, 2].map((i) => `${i}\t${deriver.derive(i).display}`));
      execFileSync(process.execPath, [
        main,
        "--config",
        file,
        "pool",
        "derive",
        "--chain",
        "anvil",
        "--count",
        "1",
        "--store",
      ]);
      const status = execFileSync(process.execPath, [main, "--config", file, "pool", "status"], {
        encoding: "utf8",
      });
      expect(status).toMatch(/anvil.*xpub.*3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
