// End to end on anvil: a USD order priced live from three local markets speaking the real shapes.
// One market moves 5 % away and is dropped; two stop answering and creates get 503 with nothing
// bound, then recover; an order created before the moves keeps its rate and is paid by its quote.
import { Writable } from "node:stream";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetList, orderJson, problemJson, rateList } from "../../src/api/schemas.js";
import { createCommon } from "../../src/common.js";
import { parseAmount } from "../../src/core/amount.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import { type PriceServer, startPriceServer } from "../../src/dev/prices.js";
import { type TestAnvil, startAnvil } from "../helpers/anvil.js";
import { API_KEY, clock, evmPoolText, testConfig } from "../helpers/config.js";
import { type EvmKit, createEvmKit } from "../helpers/evm.js";

let anvil: TestAnvil;
let kit: EvmKit;
let daemon: Daemon;
let coinbase: PriceServer;
let kraken: PriceServer;
let bitstamp: PriceServer;
let time: ReturnType<typeof clock>;
const logs: { msg: string; provider?: string }[] = [];
const dir = mkdtempSync(join(tmpdir(), "depositd-rates-"));

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 31337 });
  kit = await createEvmKit(anvil.url);
  // the harness clock starts at the chain's own time, so block times and order times agree
  const head = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  time = clock(Number(head.timestamp) * 1000);
  const servers = await Promise.all(
    ["3000.00", "3001.00", "3002.00"].map((p) =>
      startPriceServer({ prices: { "ETH/USD": p }, now: time.now }),
    ),
  );
  coinbase = servers[0]!;
  kraken = servers[1]!;
  bitstamp = servers[2]!;
  const poolFile = join(dir, "pool.txt");
  writeFileSync(poolFile, evmPoolText(6).text);
  const config = testConfig({
    database: { path: join(dir, "d.sqlite"), synchronous: "NORMAL" },
    rates: {
      static: {},
      live: {
        providers: [
          { kind: "coinbase", url: coinbase.url },
          { kind: "kraken", url: kraken.url },
          { kind: "bitstamp", url: bitstamp.url },
        ],
        min_sources: 2,
        max_spread: "1%",
        max_age_seconds: 60,
        refresh_seconds: 15,
      },
    },
    chains: [
      {
        id: "anvil",
        kind: "evm",
        rpc: [anvil.url],
        chain_id: 31337,
        poll_interval_ms: 100,
        start_block: await kit.blockNumber(),
        pool: { source: "static", file: poolFile, low_water: 0 },
      },
    ],
    assets: [{ id: "ETH", chain: "anvil", decimals: 18, confirmations: 1 }],
    log: { level: "info" },
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  daemon = await startDaemon(createCommon(config, { logger: pino({ level: "info" }, sink), now: time.now }), {
    manualWatchers: true,
    manualRates: true,
    noDelivery: true,
    noTimers: true,
  });
});
afterAll(async () => {
  await daemon?.stop();
  await Promise.all([coinbase, kraken, bitstamp].map((s) => s?.close()));
  kit?.close();
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const base = () => `http://${daemon.address.host}:${daemon.address.port}`;
async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(base() + path, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as any;
  // the daemon does not check its own answers (startApi does): check these against their schemas
  const schema = res.headers.get("content-type")?.startsWith("application/problem+json")
    ? problemJson
    : { "/v1/rates": rateList, "/v1/assets": assetList, "/v1/orders": orderJson }[path.split("?")[0]!];
  const checked = schema?.safeParse(json);
  if (checked && !checked.success) throw new Error(`${method} ${path}: ${checked.error.message}`);
  return { status: res.status, type: res.headers.get("content-type"), body: json };
}
const create = (id: string, extra: Record<string, unknown> = {}) =>
  call("POST", "/v1/orders", {
    merchant_order_id: id,
    amount: "30.01",
    currency: "USD",
    callback_url: "http://127.0.0.1:9/cb",
    ...extra,
  });
const counts = () =>
  Object.fromEntries(
    ["orders", "order_options", "bindings"].map((t) => [
      t,
      daemon.db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number,
    ]),
  );
const ethRate = async () => (await call("GET", "/v1/rates")).body.rates.find((r: any) => r.asset === "ETH");
async function sync() {
  const w = daemon.watchers.get("anvil")!;
  for (let i = 0; i < 50; i++) if ((await w.runOnce())?.caughtUp) return;
}

describe("live rates end to end", () => {
  let first: any;

  it("default: a USD order priced from three markets: their median, locked with its sources and time", async () => {
    await daemon.rates!.refresh();
    const r = await create("L-1");
    expect(r.status).toBe(201);
    first = r.body;
    const option = first.options[0];
    expect(option).toMatchObject({
      asset: "ETH",
      rate: "3001",
      amount_due: "0.01",
      rate_at: new Date(Math.floor(time.now() / 1000) * 1000).toISOString(), // Bitstamp stamps in seconds
    });
    expect(option.rate_sources).toEqual([
      { source: "coinbase", price: "3000" },
      { source: "kraken", price: "3001" },
      { source: "bitstamp", price: "3002" },
    ]);
    expect(await ethRate()).toMatchObject({ source: "live", rate: "3001", dropped: [], age_seconds: 0 });
    expect((await call("GET", "/v1/assets")).body.assets[0]).toMatchObject({
      rates: { USD: "3001" },
      unpriced: [],
    });
  });

  it("behavior: a market 5 % away from the others is dropped; the two that agree price the next order", async () => {
    time.advance(15_000);
    bitstamp.set("ETH/USD", "3151.05"); // 5 % above 3001
    await daemon.rates!.refresh();
    const rate = await ethRate();
    expect(rate).toMatchObject({
      rate: "3000.5",
      dropped: [{ source: "bitstamp", price: "3151.05", reason: "outlier" }],
    });
    expect(rate.sources.map((s: any) => s.source)).toEqual(["coinbase", "kraken"]);
    const r = await create("L-2");
    expect(r.status).toBe(201);
    expect(r.body.options[0]).toMatchObject({
      rate: "3000.5",
      rate_sources: [
        { source: "coinbase", price: "3000" },
        { source: "kraken", price: "3001" },
      ],
    });
    const metrics = await (await fetch(base() + "/metrics")).text();
    expect(metrics).toMatch(
      /depositd_rate_source_deviation_ratio\{provider="bitstamp",pair="ETH\/USD"\} 0\.05/,
    );
  });

  it("error: two markets stop answering → once their prices age out, creates answer 503 rates_unavailable naming the pair, nothing bound", async () => {
    coinbase.mode = "down";
    kraken.mode = "down";
    bitstamp.set("ETH/USD", "3002.00");
    time.advance(15_000);
    await daemon.rates!.refresh();
    // their last prices are 15 s old: still fresh, still a rate
    expect((await ethRate()).rate).toBe("3001");
    time.advance(46_000);
    await daemon.rates!.refresh();
    await daemon.rates!.refresh();
    const before = counts();
    const listed = await create("L-3", { assets: ["ETH"] });
    expect(listed.status).toBe(503);
    expect(listed.type).toMatch(/^application\/problem\+json/);
    expect(listed.body).toMatchObject({
      type: "urn:depositd:problem:rates_unavailable",
      status: 503,
      errors: [{ path: "assets[0]", message: expect.stringContaining("ETH/USD") }],
    });
    expect(listed.body.detail).toContain("ETH/USD");
    const unlisted = await create("L-4");
    expect(unlisted.status).toBe(503);
    expect(unlisted.body.errors).toEqual([{ path: "assets", message: expect.stringContaining("ETH/USD") }]);
    expect(counts()).toEqual(before);

    expect(await ethRate()).toMatchObject({ rate: null, reason: expect.stringMatching(/1 fresh source/) });
    expect((await call("GET", "/v1/assets")).body.assets[0]).toMatchObject({ rates: {}, unpriced: ["USD"] });
    const health = (await call("GET", "/healthz")).body;
    expect(health.checks.rates).toMatchObject({
      ok: true,
      detail: { warnings: [expect.stringContaining("ETH/USD")] },
    });
    expect(Object.keys(health.checks.rates.detail.providers_failing).sort()).toEqual(["coinbase", "kraken"]);
    // three failing attempts each, one log line each
    expect(
      logs
        .filter((l) => l.msg.startsWith("rate provider failing"))
        .map((l) => l.provider)
        .sort(),
    ).toEqual(["coinbase", "kraken"]);
    const metrics = await (await fetch(base() + "/metrics")).text();
    expect(metrics).toContain('depositd_rate_fresh{pair="ETH/USD"} 0');
    expect(metrics).toContain('depositd_rate_errors_total{provider="coinbase"} 3');
  });

  it("behavior: the markets come back → creates work again, recovery logged once", async () => {
    coinbase.mode = "ok";
    kraken.mode = "ok";
    time.advance(15_000);
    await daemon.rates!.refresh();
    const r = await create("L-5");
    expect(r.status).toBe(201);
    expect(r.body.options[0].rate).toBe("3001");
    expect(
      logs
        .filter((l) => l.msg === "rate provider answers again")
        .map((l) => l.provider)
        .sort(),
    ).toEqual(["coinbase", "kraken"]);
    expect((await call("GET", "/healthz")).body.checks.rates.detail.warnings).toEqual([]);
  });

  it("behavior: the order created before the moves kept its rate and is paid by the amount it quoted", async () => {
    const now = await call("GET", `/v1/orders/${first.id}`);
    expect(now.body.options[0]).toEqual({ ...first.options[0], paid: "0", pending: "0" });
    const option = first.options[0];
    await kit.sendEth(option.address, parseAmount(option.amount_due, 18), kit.accounts[1]);
    time.advance(1_000);
    await sync();
    const paid = await call("GET", `/v1/orders/${first.id}`);
    expect(paid.body).toMatchObject({ status: "paid", paid_amount: "30.01" });
    expect(paid.body.options[0]).toMatchObject({ rate: "3001", amount_due: "0.01", paid: "0.01" });
  });
});
