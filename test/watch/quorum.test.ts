// rpc_quorum: two anvils with the same chain (the second forked from the first after the payment
// was mined), the second behind a proxy that drops the payment's Transfer log from eth_getLogs.
// With rpc_quorum: 2 the lie is never committed, /healthz and /metrics name the disagreement, and
// once the proxy tells the truth the payment is recorded exactly once. Also: the comparison itself
// as a table, and the config rule.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Agreement, Transfer } from "../../src/chains/types.js";
import { createCommon } from "../../src/common.js";
import { validateConfig } from "../../src/config/load.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import { TRANSFER_TOPIC } from "../../src/chains/evm/adapter.js";
import { compareAgreement, dissenters } from "../../src/watch/quorum.js";
import { type TestAnvil, startAnvil } from "../helpers/anvil.js";
import { evmPoolText, rawConfig } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";
import { type RpcProxy, startRpcProxy } from "../helpers/rpc-proxy.js";
import { type FlakyProxy, startFlakyProxy } from "../helpers/flaky-proxy.js";
import { type TronServer, startTronServer } from "../helpers/tron-server.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";
import { createWatchHarness } from "../helpers/watch-harness.js";

const USDT = (n: number) => BigInt(n) * 1_000_000n;

const H = (c: string) => "0x" + c.repeat(64);
const t = (block: number, over: Partial<Transfer> = {}): Transfer => ({
  txid: H("a"),
  index: 0,
  via: "log",
  asset: "USDT",
  address: "0x" + "1".repeat(40),
  amount: 5n,
  block: { number: block, hash: H(String(block)), timestamp: 0 },
  ...over,
});
const blocks = (...ns: number[]) => ns.map((n) => ({ number: n, hash: H(String(n)) }));

describe("compareAgreement", () => {
  const base: Agreement = { blocks: blocks(1, 2), transfers: [t(1), t(2, { txid: H("b"), index: 3 })] };
  const cases: { name: string; other: Agreement; diff: RegExp | null }[] = [
    { name: "the same answer", other: { ...base, transfers: [...base.transfers].reverse() }, diff: null },
    { name: "a block missing", other: { ...base, blocks: blocks(1) }, diff: /2 blocks against 1/ },
    {
      name: "another hash at one height",
      other: { ...base, blocks: [blocks(1)[0]!, { number: 2, hash: H("f") }] },
      diff: /block 2 is 0x2+ against 0xf+/,
    },
    {
      name: "a transfer left out",
      other: { ...base, transfers: [t(1)] },
      diff: /block 2: 1 transfer\(s\) against 0; only in the first: 0xb+:3/,
    },
    {
      name: "another amount",
      other: { ...base, transfers: [t(1, { amount: 6n }), base.transfers[1]!] },
      diff: /block 1: 1 transfer\(s\) against 1; only in the first: 0xa+:0; only in the second: 0xa+:0/,
    },
    {
      name: "another address",
      other: { ...base, transfers: [t(1, { address: "0x" + "2".repeat(40) }), base.transfers[1]!] },
      diff: /block 1/,
    },
    {
      name: "an extra transfer",
      other: { ...base, transfers: [...base.transfers, t(2, { index: 9 })] },
      diff: /block 2: 1 transfer\(s\) against 2; only in the second: 0xa+:9/,
    },
    {
      name: "a traced transfer the other side does not check",
      other: { ...base, unchecked: ["trace"] },
      diff: null,
    },
  ];
  it.each(cases)("$name", ({ other, diff }) => {
    const withTrace: Agreement = {
      ...base,
      transfers: [...base.transfers, t(2, { via: "trace", index: 7 })],
    };
    const a = other.unchecked ? withTrace : base;
    const got = compareAgreement(a, other);
    if (diff === null) expect(got).toBeNull();
    else expect(got).toMatch(diff);
  });

  it("dissenters: the minority; both sides when only two answered", () => {
    expect(dissenters("A", [{ url: "B", agrees: true }])).toEqual([]);
    expect(dissenters("A", [{ url: "B", agrees: false }])).toEqual(["A", "B"]);
    expect(
      dissenters("A", [
        { url: "B", agrees: true },
        { url: "C", agrees: false },
      ]),
    ).toEqual(["C"]);
    expect(
      dissenters("A", [
        { url: "B", agrees: false },
        { url: "C", agrees: false },
      ]),
    ).toEqual(["A"]);
  });

  it("error: rpc_quorum above the number of distinct rpc URLs is a config error naming the field", () => {
    const chains = (rpc: string[], rpc_quorum: number) => [
      { ...(rawConfig().chains as Record<string, unknown>[])[0], rpc, rpc_quorum },
    ];
    expect(() => validateConfig(rawConfig({ chains: chains(["http://127.0.0.1:1"], 2) }), {})).toThrow(
      /chains\[0\]\.rpc_quorum: rpc_quorum 2 needs at least 2 distinct rpc URLs; chain "anvil" has 1/s,
    );
    expect(() =>
      validateConfig(rawConfig({ chains: chains(["http://127.0.0.1:1", "http://127.0.0.1:1/"], 2) }), {}),
    ).toThrow(/rpc_quorum/);
    expect(() => validateConfig(rawConfig({ chains: chains(["http://127.0.0.1:1"], 0) }), {})).toThrow(
      /chains\[0\]\.rpc_quorum/,
    );
    const ok = validateConfig(
      rawConfig({ chains: chains(["http://127.0.0.1:1", "http://127.0.0.1:2"], 2) }),
      {},
    );
    expect(ok.chains[0]!.rpc_quorum).toBe(2);
  });
});

describe("EVM: rpc_quorum 2 with one URL dropping a Transfer log", () => {
  let a: TokenChain;
  let b: TestAnvil;
  let proxy: RpcProxy;
  let daemon: Daemon;
  let payBlock: number;
  let payTx: string;
  let createdAt: number;
  const dir = mkdtempSync(join(tmpdir(), "depositd-quorum-"));
  const pool = evmPoolText(3);
  let lying = true;

  beforeAll(async () => {
    a = await startTokenChain(USDT(1_000_000));
    const startBlock = (await a.kit.blockNumber()) + 1;
    const latest = await a.anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    createdAt = Number(latest.timestamp) * 1000;
    // the first order of a static pool binds its first address
    const tx = await a.kit.sendToken(a.token, pool.addresses[0]!, USDT(10), a.kit.accounts[1]!);
    payBlock = tx.blockNumber;
    payTx = tx.hash;
    await a.kit.mine(3);
    // the second node: the same chain, forked from the first at its head
    b = await startAnvil({ chainId: 31337, args: ["--fork-url", a.anvil.url] });
    proxy = await startRpcProxy(b.url, (call, reply) => {
      if (!lying || call.method !== "eth_getLogs" || !Array.isArray(reply.result)) return reply;
      const logs = reply.result as { transactionHash: string; topics: string[] }[];
      return {
        ...reply,
        result: logs.filter((l) => !(l.transactionHash === payTx && l.topics[0] === TRANSFER_TOPIC)),
      };
    });
    writeFileSync(join(dir, "pool.txt"), pool.text);
    const config = validateConfig(
      rawConfig({
        database: { path: join(dir, "d.sqlite"), synchronous: "NORMAL" },
        rates: { static: { USD: { "USDT-ERC20": "1" } } },
        chains: [
          {
            id: "anvil",
            kind: "evm",
            rpc: [a.anvil.url, proxy.url],
            rpc_quorum: 2,
            chain_id: 31337,
            start_block: startBlock,
            poll_interval_ms: 50,
            request_timeout_ms: 2000,
            rpc_max_rps: 10_000,
            pool: { source: "static", file: join(dir, "pool.txt"), low_water: 0 },
          },
        ],
        assets: [{ id: "USDT-ERC20", chain: "anvil", contract: a.token, decimals: 6, confirmations: 1 }],
        log: { level: "silent" },
      }),
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
    await proxy?.stop();
    await b?.stop();
    await a?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("error: the lie is never committed and is reported; once it ends the payment is recorded exactly once", async () => {
    const order = daemon.ledger.createOrder(
      "shop",
      {
        merchant_order_id: "Q-1",
        amount: "10",
        currency: "USDT-ERC20",
        callback_url: "http://127.0.0.1:9/cb",
      },
      createdAt,
    ).order;
    expect(order.options[0]!.address.toLowerCase()).toBe(pool.addresses[0]!.toLowerCase());
    const watcher = daemon.watchers.get("anvil")!;
    const errors: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await watcher.runOnce().catch((e: Error) => (errors.push(e.message), null));
      if (r) expect(r.to).toBeLessThan(payBlock); // never past the block it lies about
    }
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => /disagree/.test(e))).toBe(true);
    expect(daemon.ledger.orderPayments("shop", order.id)).toEqual([]);
    expect(daemon.ledger.cursor("anvil")!.next_block).toBeLessThanOrEqual(payBlock);

    const base = `http://127.0.0.1:${daemon.address.port}`;
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      checks: Record<
        string,
        { ok: boolean; detail: { quorum: { disagreeing: string | null; urls: unknown[] } } }
      >;
    };
    const check = health.checks["chain:anvil"]!;
    expect(check.ok).toBe(false);
    expect(check.detail.quorum.disagreeing).toContain(proxy.url);
    expect(check.detail.quorum.disagreeing).toContain(`block ${payBlock}`);
    expect(check.detail.quorum.urls).toContainEqual(
      expect.objectContaining({ url: proxy.url, disagreements: expect.any(Number) as number }),
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`depositd_rpc_quorum_disagreements_total\\{chain="anvil",url="${proxy.url}"\\} [1-9]`),
    );

    // the proxy tells the truth again: the batch is agreed and committed, once
    lying = false;
    let caughtUp = false;
    for (let i = 0; i < 20 && !caughtUp; i++) {
      const r = await watcher.runOnce().catch(() => null);
      caughtUp = r?.caughtUp ?? false;
    }
    expect(caughtUp).toBe(true);
    for (let i = 0; i < 3; i++) await watcher.runOnce();
    const payments = daemon.ledger.orderPayments("shop", order.id)!;
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ txid: payTx, amount: "10" });
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("paid");
    const after = (await (await fetch(`${base}/healthz`)).json()) as typeof health;
    expect(after.checks["chain:anvil"]!.ok).toBe(true);
    expect(after.checks["chain:anvil"]!.detail.quorum.disagreeing).toBeNull();
    // the second URL served its share: both were asked
    expect(proxy.calls.eth_getLogs).toBeGreaterThan(0);
  });

  it("error: the head is the lowest of the quorum, and another block at one height never commits", async () => {
    const watcher = daemon.watchers.get("anvil")!;
    const tip = await b.rpc<string>("eth_blockNumber").then(Number);
    expect(daemon.ledger.cursor("anvil")!.next_block).toBe(tip + 1);
    // the first node moves on alone: the second does not have the block yet, so it is not scanned
    await a.kit.mine(1);
    const r = await watcher.runOnce();
    expect(r).toMatchObject({ head: tip, caughtUp: true });
    expect(daemon.ledger.cursor("anvil")!.next_block).toBe(tip + 1);
    // the second node mines its own block at that height (the forks diverged): hashes disagree
    await b.rpc("anvil_mine", ["0x1"]);
    const ha = (
      await a.anvil.rpc<{ hash: string }>("eth_getBlockByNumber", ["0x" + (tip + 1).toString(16), false])
    ).hash;
    const hb = (await b.rpc<{ hash: string }>("eth_getBlockByNumber", ["0x" + (tip + 1).toString(16), false]))
      .hash;
    expect(ha).not.toBe(hb);
    for (let i = 0; i < 3; i++)
      await expect(watcher.runOnce()).rejects.toThrow(new RegExp(`block ${tip + 1} is 0x`));
    expect(daemon.ledger.cursor("anvil")!.next_block).toBe(tip + 1);
    const health = (await (await fetch(`http://127.0.0.1:${daemon.address.port}/healthz`)).json()) as {
      checks: Record<string, { ok: boolean; detail: { quorum: { disagreeing: string | null } } }>;
    };
    expect(health.checks["chain:anvil"]!.ok).toBe(false);
    expect(health.checks["chain:anvil"]!.detail.quorum.disagreeing).toMatch(
      new RegExp(
        `blocks ${tip + 1}\\.\\.${tip + 1}: .*disagree: .*block ${tip + 1} is (${ha} against ${hb}|${hb} against ${ha})`,
      ),
    );
  });
});

// Tron has no cheaper agreement(): the second URL's full scan is compared. One Tron server behind
// two URLs (the second through a transparent proxy): both agree, the payment is recorded once.
describe("Tron: rpc_quorum 2 (the second URL's answer is a full scan)", () => {
  let server: TronServer;
  let second: FlakyProxy;
  let clockMs = TEST_EPOCH_MS;
  beforeAll(async () => {
    server = await startTronServer({ initialBlocks: 5, solidLag: 2, clock: () => clockMs });
    second = await startFlakyProxy(server.url, { seed: 16, failRate: 0 });
  });
  afterAll(async () => {
    await second?.stop();
    await server?.stop();
  });

  it("default: both URLs are asked and agree; the TRX payment pays the order once", async () => {
    const pool = Array.from({ length: 2 }, () => server.chain.newAccount());
    const h = createWatchHarness({
      now: () => clockMs,
      poolText: pool.map((a) => a.address).join("\n"),
      rates: { USD: { TRX: "0.25" } },
      chain: {
        id: "tron",
        kind: "tron",
        rpc: [server.url, second.url],
        rpc_quorum: 2,
        poll_interval_ms: 50,
        start_block: server.chain.head + 1,
        request_timeout_ms: 2000,
        pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
      },
      assets: [{ id: "TRX", chain: "tron", decimals: 6, confirmations: 1 }],
    });
    try {
      const o = h.createOrder({ merchant_order_id: "T-1", currency: "TRX", amount: "1" });
      const payer = server.chain.newAccount();
      const txid = server.chain.transferTrx(payer, o.options[0]!.address, 1_000_000);
      clockMs += 3000;
      server.chain.mine(2);
      await h.sync();
      expect(h.order(o.id).status).toBe("paid");
      expect(h.payments(o.id)).toEqual([expect.objectContaining({ txid, amount: "1", status: "confirmed" })]);
      const blockReads = (path: string) => server.requests.filter((r) => r.path === path).length;
      // the same range was read twice: once per URL (the proxy forwarded the second URL's share)
      expect(second.stats.forwarded).toBeGreaterThan(0);
      expect(blockReads("/wallet/getblockbylimitnext")).toBeGreaterThanOrEqual(2);
      expect(h.watcher.status().quorum).toMatchObject({ size: 2, disagreeing: null });
    } finally {
      h.close();
    }
  });
});
