// Chain identity per RPC URL: a failover list whose other URLs serve another chain (another anvil
// with another chain id, one with the same chain id and another genesis, a Tron server of another
// network). Such a URL is identified at the failover, quarantined, never used: nothing it serves
// is credited, and /healthz and /metrics name it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon } from "../../src/common.js";
import { validateConfig } from "../../src/config/load.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import { type TestAnvil, startAnvil } from "../helpers/anvil.js";
import { API_KEY_SHA, CALLBACK_SECRET, TEST_EPOCH_MS, evmPoolText } from "../helpers/config.js";
import { type EvmKit, type TokenChain, createEvmKit, startTokenChain } from "../helpers/evm.js";
import { type FlakyProxy, startFlakyProxy } from "../helpers/flaky-proxy.js";
import { startTronServer } from "../helpers/tron-server.js";
import { createEvmWatch } from "../helpers/evm-watch.js";
import { createWatchHarness } from "../helpers/watch-harness.js";
import { pino } from "pino";

const USDT = (n: number) => BigInt(n) * 1_000_000n;

describe("EVM: failover URLs on another chain", () => {
  let real: TokenChain;
  let otherId: TestAnvil; // chain id 31338
  let otherGenesis: TestAnvil; // chain id 31337, another genesis
  const kits: EvmKit[] = [];
  let primary: FlakyProxy;
  let daemon: Daemon;
  const dir = mkdtempSync(join(tmpdir(), "depositd-identity-"));

  beforeAll(async () => {
    real = await startTokenChain(USDT(1_000_000));
    otherId = await startAnvil({ chainId: 31338 });
    otherGenesis = await startAnvil({ chainId: 31337, args: ["--timestamp", "1700000000"] });
    // the same deployer and nonce: the token has the same address on every chain, so the other
    // chains' Transfers look exactly like real ones
    for (const a of [otherId, otherGenesis]) {
      const kit = await createEvmKit(a.url);
      kits.push(kit);
      expect(await kit.deployToken({ decimals: 6, symbol: "USDT" })).toBe(real.token);
      await kit.mintToken(real.token, kit.accounts[1]!, USDT(1_000_000));
    }
    primary = await startFlakyProxy(real.anvil.url, { seed: 13, failRate: 0, modes: ["502"] });
    const pool = evmPoolText(3);
    writeFileSync(join(dir, "pool.txt"), pool.text);
    const config = validateConfig(
      {
        database: { path: join(dir, "d.sqlite"), synchronous: "NORMAL" },
        api: { listen: "127.0.0.1:0", keys: [{ name: "shop", sha256: API_KEY_SHA }] },
        notify: { secrets: [{ id: "k1", value: CALLBACK_SECRET }], allow_private_targets: true },
        rates: { static: { USD: { "USDT-ERC20": "1" } } },
        chains: [
          {
            id: "anvil",
            kind: "evm",
            rpc: [primary.url, otherId.url, otherGenesis.url],
            chain_id: 31337,
            start_block: (await real.kit.blockNumber()) + 1,
            poll_interval_ms: 50,
            request_timeout_ms: 2000,
            pool: { source: "static", file: join(dir, "pool.txt"), low_water: 0 },
          },
        ],
        assets: [{ id: "USDT-ERC20", chain: "anvil", contract: real.token, decimals: 6, confirmations: 1 }],
        log: { level: "silent" },
      },
      {},
    );
    daemon = await startDaemon(createCommon(config, { logger: pino({ level: "silent" }) }), {
      manualWatchers: true,
      noDelivery: true,
      noTimers: true,
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await primary.stop();
    for (const k of kits) k.close();
    await Promise.all([otherId.stop(), otherGenesis.stop(), real.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("default: failing over to them quarantines both, credits nothing from them, and /healthz names them", async () => {
    const watcher = daemon.watchers.get("anvil")!;
    // orders are made at the chain's time (the test's clock comes from the chain it started)
    const latest = await real.anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    const createdAt = Number(latest.timestamp) * 1000;
    const order = (id: string) =>
      daemon.ledger.createOrder(
        "shop",
        {
          merchant_order_id: id,
          amount: "10",
          currency: "USDT-ERC20",
          callback_url: "http://127.0.0.1:9/cb",
        },
        createdAt,
      ).order;
    const paidHere = order("I-1");
    const paidElsewhere = order("I-2");
    await watcher.runOnce(); // first start: the genesis is learned from the first URL and stored
    await real.kit.sendToken(real.token, paidHere.options[0]!.address, USDT(10), real.kit.accounts[1]);
    for (const kit of kits)
      await kit.sendToken(real.token, paidElsewhere.options[0]!.address, USDT(10), kit.accounts[1]);

    primary.setFailRate(1); // the first URL fails: every request fails over
    await expect(watcher.runOnce()).rejects.toThrow(/HTTP 502/);
    const quarantined = watcher.status().quarantined;
    expect(quarantined.map((q) => q.url).sort()).toEqual([otherGenesis.url, otherId.url].sort());
    expect(quarantined.find((q) => q.url === otherId.url)!.reason).toMatch(/chain id 31338/);
    expect(quarantined.find((q) => q.url === otherGenesis.url)!.reason).toMatch(
      /genesis 0x[0-9a-f]{64}, expected/,
    );

    const base = `http://127.0.0.1:${daemon.address.port}`;
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      checks: Record<string, { detail: { quarantined: { url: string; reason: string }[] } }>;
    };
    expect(health.checks["chain:anvil"]!.detail.quarantined.map((q) => q.url).sort()).toEqual(
      [otherGenesis.url, otherId.url].sort(),
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`depositd_rpc_url_quarantined{chain="anvil",url="${otherId.url}"} 1`);

    primary.setFailRate(0);
    for (let i = 0; i < 20; i++) {
      const r = await watcher.runOnce().catch(() => null);
      if (r?.caughtUp) break;
    }
    expect(daemon.ledger.getOrder("shop", paidHere.id)!.status).toBe("paid");
    expect(daemon.ledger.getOrder("shop", paidElsewhere.id)!.status).toBe("pending");
    expect(daemon.ledger.orderPayments("shop", paidElsewhere.id)).toEqual([]);
    expect(daemon.ledger.unattributedPayments(10)).toEqual([]);
    // and they stay out: the primary's answers alone were used
    expect(primary.stats.forwarded).toBeGreaterThan(0);
  });
});

describe("Tron: a failover URL on another network", () => {
  it("default: a Tron server with another genesis is quarantined and never credits an order", async () => {
    const clockMs = TEST_EPOCH_MS;
    const real = await startTronServer({ initialBlocks: 5, solidLag: 0, clock: () => clockMs });
    const other = await startTronServer({ initialBlocks: 5, solidLag: 0, clock: () => clockMs });
    const primary = await startFlakyProxy(real.url, { seed: 7, failRate: 0, modes: ["502"] });
    const pool = Array.from({ length: 2 }, () => real.chain.newAccount());
    const h = createWatchHarness({
      now: () => clockMs,
      poolText: pool.map((a) => a.address).join("\n"),
      rates: { USD: { TRX: "0.25" } },
      chain: {
        id: "tron",
        kind: "tron",
        rpc: [primary.url, other.url],
        poll_interval_ms: 50,
        start_block: real.chain.head + 1,
        request_timeout_ms: 2000,
        pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
      },
      assets: [{ id: "TRX", chain: "tron", decimals: 6, confirmations: 1 }],
    });
    try {
      expect(other.chain.blockId(0)).not.toBe(real.chain.blockId(0));
      const o = h.createOrder({ merchant_order_id: "T-1", currency: "TRX", amount: "10" });
      await h.sync();
      other.chain.transferTrx(other.chain.newAccount(), o.options[0]!.address, 10_000_000n);
      other.chain.mine(3);
      real.chain.mine(1);
      primary.setFailRate(1);
      await expect(h.watcher.runOnce()).rejects.toThrow();
      expect(h.watcher.status().quarantined).toEqual([
        { url: other.url, reason: expect.stringMatching(/has genesis block [0-9a-f]{64}, expected/) },
      ]);
      primary.setFailRate(0);
      await h.sync();
      expect(h.payments(o.id)).toEqual([]);
      expect(h.order(o.id).status).toBe("pending");
      // nothing but identity checks ever reached the other server
      expect(new Set(other.requests.map((r) => r.path))).toEqual(new Set(["/wallet/getblockbynum"]));
    } finally {
      await h.close();
      await primary.stop();
      await Promise.all([real.stop(), other.stop()]);
    }
  });
});

describe("the oldest stored block", () => {
  let chain: TokenChain;
  beforeAll(async () => {
    chain = await startTokenChain(USDT(1_000));
  });
  afterAll(() => chain.stop());

  /** a watcher that scanned 3 blocks, then the node's history is replaced from `below` up */
  async function replacedFrom(depthBelowFirst: number) {
    const { anvil, kit, token } = chain;
    await kit.mine(3);
    const first = (await kit.blockNumber()) + 1;
    const snap = await anvil.rpc<string>("evm_snapshot"); // taken at first - 1
    await kit.mine(3);
    const w = createEvmWatch({ rpc: [anvil.url], token, startBlock: first, pool: 0 });
    await w.sync();
    expect(w.watcher.status().scanned).toBe(first + 2);
    await anvil.rpc("evm_revert", [snap]);
    if (depthBelowFirst > 0) await anvil.rpc("anvil_reorg", [depthBelowFirst, []]);
    const latest = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    await anvil.rpc("evm_setNextBlockTimestamp", [Number(latest.timestamp) + 1000]); // other hashes
    await kit.mine(5);
    return { w, first };
  }

  it("behavior: every scanned block replaced above a parent the node still has: that parent is the ancestor", async () => {
    const { w, first } = await replacedFrom(0);
    try {
      const r = await w.watcher.runOnce();
      expect(r?.reorg).toEqual({ ancestor: first - 1 });
    } finally {
      await w.close();
    }
  });

  it("error: the node does not hold the oldest stored block nor its parent: fatal, never taken for an ancestor", async () => {
    const { w, first } = await replacedFrom(2);
    try {
      await expect(w.watcher.runOnce()).rejects.toThrow(
        new RegExp(`does not hold the oldest block this watcher stored \\(${first}\\)`),
      );
    } finally {
      await w.close();
    }
  });
});
