// Outage-aware deadlines through the ledger: an order with options on two chains expires only
// when both chains' watchers have scanned past expires_at; each binding ends when its own chain
// has passed late_until. Chain facts are handed to recordScan as a watcher would.
import { describe, expect, it } from "vitest";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { createScanProgress } from "../../src/watch/progress.js";
import { clock, evmPoolText, testCommon, testConfig, testDatabase } from "../helpers/config.js";

const MIN = 60_000;

function setup() {
  const c = clock();
  const chain = (id: string, chainId: number) => ({
    id,
    kind: "evm",
    rpc: ["http://127.0.0.1:1"],
    chain_id: chainId,
    start_block: 1,
    pool: { source: "static", cooldown_minutes: 0, low_water: 0 },
  });
  const config = testConfig({
    orders: { valid_minutes: 10, late_window_minutes: 10, timer_interval_ms: 100 },
    rates: { static: { USD: { ETH: "3000", BNB: "600" } } },
    chains: [chain("eth", 1), chain("bsc", 56)],
    assets: [
      { id: "ETH", chain: "eth", decimals: 18, confirmations: 1 },
      { id: "BNB", chain: "bsc", decimals: 18, confirmations: 1 },
    ],
  });
  const common = testCommon(config, c.now);
  const db = testDatabase();
  const progress = createScanProgress(db);
  const ledger = createLedger(db, common, createCatalog(config), { scannedTime: progress.scannedTime });
  for (const id of ["eth", "bsc"]) {
    importPoolFile(db, id, createEvmAddressCodec(), evmPoolText(2).text, c.now());
    ledger.initCursor(id, 1, c.now());
  }
  const height: Record<string, number> = { eth: 1, bsc: 1 };
  /** the chain's watcher scans one more (empty) block stamped `at` */
  const scan = (id: string, at: number) => {
    const n = height[id]!++;
    const hash = (k: number) => "0x" + k.toString(16).padStart(64, "0");
    ledger.recordScan(
      {
        chain: id,
        heads: { head: n },
        blocks: [{ number: n, hash: hash(n), parentHash: hash(n - 1), timestamp: at }],
        transfers: [],
        keepBlocks: 64,
      },
      c.now(),
    );
  };
  const live = db
    .prepare<[string], number>("SELECT count(*) FROM bindings WHERE chain = ? AND released_at IS NULL")
    .pluck();
  return { c, ledger, progress, scan, live };
}

describe("deadlines follow the chains", () => {
  it("default: a two-chain order expires when the slower chain has passed expires_at", () => {
    const { c, ledger, progress, scan } = setup();
    const o = ledger.createOrder(
      "shop",
      { merchant_order_id: "M-1", amount: "30", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
      c.now(),
    ).order;
    expect(o.options.map((x) => x.chain).sort()).toEqual(["bsc", "eth"]);
    const expiresAt = Date.parse(o.expires_at);
    c.set(expiresAt + 5 * MIN);
    // no chain scanned yet: nothing expires
    expect(ledger.tick(c.now()).expired).toBe(0);
    scan("eth", expiresAt + MIN);
    scan("bsc", expiresAt - MIN); // bsc lags
    expect(ledger.tick(c.now()).expired).toBe(0);
    expect(ledger.getOrder("shop", o.id)!.status).toBe("pending");
    expect(progress.waiting("bsc", c.now()).orders).toBe(1);
    expect(progress.waiting("eth", c.now()).orders).toBe(0);
    scan("bsc", expiresAt + 1);
    expect(ledger.tick(c.now()).expired).toBe(1);
    expect(ledger.getOrder("shop", o.id)!.status).toBe("expired");
  });

  it("behavior: each binding ends when its own chain has passed late_until", () => {
    const { c, ledger, scan, live } = setup();
    const o = ledger.createOrder(
      "shop",
      { merchant_order_id: "M-2", amount: "30", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
      c.now(),
    ).order;
    const expiresAt = Date.parse(o.expires_at);
    const lateUntil = expiresAt + 10 * MIN;
    c.set(lateUntil + 60 * MIN);
    scan("eth", expiresAt + 1);
    scan("bsc", expiresAt + 1);
    expect(ledger.tick(c.now())).toMatchObject({ expired: 1, released: 0 }); // late window still open on both
    scan("eth", lateUntil + 1);
    expect(ledger.tick(c.now()).released).toBe(1);
    expect([live.get("eth"), live.get("bsc")]).toEqual([0, 1]);
    scan("bsc", lateUntil + 1);
    expect(ledger.tick(c.now()).released).toBe(1);
    expect(live.get("bsc")).toBe(0);
  });
});
