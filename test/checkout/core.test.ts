// The checkout's pure parts as tables (payment URIs, wallet transactions, languages, amounts left
// to pay), its live fan-out counted, and its HTTP guards (rate limit, frame-ancestors, backfill).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Interface } from "ethers";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { createEvmAddressCodec } from "../../src/chains/evm/address.js";
import { createCheckout, createRateLimiter, securityHeaders } from "../../src/checkout/index.js";
import { pickLanguage } from "../../src/checkout/i18n.js";
import { createLiveHub, type StreamClient } from "../../src/checkout/live.js";
import { esc, renderMain } from "../../src/checkout/render.js";
import type { CheckoutData, CheckoutStore } from "../../src/checkout/store.js";
import { evmTransaction, paymentUri, type PayTarget } from "../../src/checkout/uri.js";
import { checkoutState, type ViewContext } from "../../src/checkout/view.js";
import { migrate, openDatabase, readMigrations } from "../../src/db/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { importPoolFile } from "../../src/pool/index.js";
import { startApi } from "../helpers/api.js";
import { TEST_EPOCH_MS, evmPoolText, testCommon, testConfig, testDatabase } from "../helpers/config.js";

const ADDR = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const TRON = "TLa2f6ANg8yZM3Zb2HsQpMfpcVo3XqbkQR";
const BTC = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const DEFAULT = { qr: "uri", tron_qr: "address" } as const;

describe("payment URIs", () => {
  const cases: [
    string,
    PayTarget,
    typeof DEFAULT | { qr: "uri" | "address"; tron_qr: "address" | "tip17" },
    string,
  ][] = [
    [
      "ETH: EIP-681 value in wei",
      { kind: "evm", chainId: 1, address: ADDR, units: 3333333333333333334n, decimals: 18 },
      DEFAULT,
      `ethereum:${ADDR}@1?value=3333333333333333334`,
    ],
    [
      "ERC-20: EIP-681 transfer with uint256 base units",
      { kind: "evm", chainId: 137, contract: TOKEN, address: ADDR, units: 10n ** 30n, decimals: 6 },
      DEFAULT,
      `ethereum:${TOKEN}@137/transfer?address=${ADDR}&uint256=1000000000000000000000000000000`,
    ],
    [
      "BTC: BIP21 amount in BTC, no exponent",
      { kind: "bitcoin", address: BTC, units: 1n, decimals: 8 },
      DEFAULT,
      `bitcoin:${BTC}?amount=0.00000001`,
    ],
    [
      "BTC: nothing due, no amount",
      { kind: "bitcoin", address: BTC, units: 0n, decimals: 8 },
      DEFAULT,
      `bitcoin:${BTC}`,
    ],
    [
      "Tron: the bare address by default",
      { kind: "tron", contract: TRON, address: TRON, units: 10_000_000n, decimals: 6 },
      DEFAULT,
      TRON,
    ],
    [
      "Tron: TIP-17 on request",
      { kind: "tron", address: TRON, units: 10_500_000n, decimals: 6 },
      { qr: "uri", tron_qr: "tip17" },
      `tron:${TRON}?amount=10.5`,
    ],
    [
      "bare-address setting: every chain",
      { kind: "evm", chainId: 1, contract: TOKEN, address: ADDR, units: 5n, decimals: 6 },
      { qr: "address", tron_qr: "tip17" },
      ADDR,
    ],
  ];
  it.each(cases)("default: %s", (_name, target, mode, want) => {
    expect(paymentUri(target, mode)).toBe(want);
  });

  it("default: the wallet transaction is a native value, or the token's transfer(address,uint256)", () => {
    expect(evmTransaction({ kind: "evm", chainId: 31337, address: ADDR, units: 255n, decimals: 18 })).toEqual(
      {
        chainId: "0x7a69",
        to: ADDR,
        value: "0xff",
      },
    );
    const tx = evmTransaction({
      kind: "evm",
      chainId: 1,
      contract: TOKEN,
      address: ADDR,
      units: 10_000_000n,
      decimals: 6,
    });
    const iface = new Interface(["function transfer(address,uint256)"]);
    expect(tx).toEqual({
      chainId: "0x1",
      to: TOKEN,
      data: iface.encodeFunctionData("transfer", [ADDR, 10_000_000n]),
    });
  });
});

describe("languages and escaping", () => {
  it.each([
    [undefined, "zh-CN,zh;q=0.9,en;q=0.8", "zh"],
    [undefined, "fr-FR,es;q=0.5,en;q=0.4", "es"],
    [undefined, "en;q=0.1,es", "es"],
    [undefined, "de, fr", "en"],
    [undefined, undefined, "en"],
    ["es", "zh-CN", "es"],
    ["xx", "zh", "zh"],
    [undefined, "zh;q=0", "en"],
  ])("default: ?lang=%s with Accept-Language %s → %s", (q, accept, want) => {
    expect(pickLanguage(q, accept, "en")).toBe(want);
  });

  it("default: markup in merchant strings is text", () => {
    expect(esc(`<img src=x onerror="a()">&'`)).toBe("&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;&#39;");
  });
});

function data(payments: CheckoutData["payments"], status = "pending"): CheckoutData {
  return {
    order: {
      id: "ord_1",
      merchant: "shop",
      merchant_order_id: "A-1",
      status,
      resolution: null,
      amount: "1000",
      currency: "USD",
      currency_decimals: 2,
      underpaid_tolerance: "0",
      overpaid_tolerance: "0",
      paid_amount: "0",
      callback_url: "http://127.0.0.1:9/cb",
      metadata: '{"cart":7,"note":"<b>hi</b>"}',
      request_hash: "x",
      event_seq: 0,
      created_at: TEST_EPOCH_MS,
      updated_at: TEST_EPOCH_MS,
      expires_at: TEST_EPOCH_MS + 600_000,
      late_until: TEST_EPOCH_MS + 900_000,
      checkout_token: "a".repeat(48),
      return_url: null,
      accepted_paid: null,
    },
    options: [
      {
        order_id: "ord_1",
        asset: "ETH",
        chain: "anvil",
        address: ADDR,
        amount_due: "3333333333333334",
        decimals: 18,
        rate: "3000",
        rate_sources: "[]",
        rate_at: 0,
      },
      {
        order_id: "ord_1",
        asset: "USDT-ERC20",
        chain: "anvil",
        address: ADDR,
        amount_due: "10000000",
        decimals: 6,
        rate: "1",
        rate_sources: "[]",
        rate_at: 0,
      },
    ],
    payments,
  };
}

const config = testConfig({ checkout: { listen: "127.0.0.1:0", metadata_keys: ["note"] } });
const catalog = createCatalog(config);
const ctx = (head = 10): ViewContext => ({
  checkout: config.checkout,
  chain: (id) => catalog.chain(id),
  asset: (id) => catalog.asset(id),
  heads: new Map([["anvil", { head, solid: null }]]),
  now: TEST_EPOCH_MS + 60_000,
  logoUrl: null,
});

describe("what the page shows", () => {
  it("behavior: after a partial payment each option asks for the rest of the order, rounded up to a base unit", () => {
    const s = checkoutState(
      data(
        [
          {
            asset: "USDT-ERC20",
            chain: "anvil",
            amount: "4000000",
            status: "confirmed",
            block_number: 3,
            unexpected_asset: 0,
          },
        ],
        "partially_paid",
      ),
      ctx(),
      "ETH",
    );
    expect(s.selected).toBe("ETH");
    expect(s.options.map((o) => [o.asset, o.amount_due, o.received])).toEqual([
      ["ETH", "0.002000000000000001", "0"], // 3333333333333334 × 6/10 = 2000000000000000.4 → up
      ["USDT-ERC20", "6", "4"],
    ]);
    expect(s.options[1]!.qr).toBe(`ethereum:${TOKEN}@31337/transfer?address=${ADDR}&uint256=6000000`);
    expect(s.order.seconds_left).toBe(540);
    expect(s.order.metadata).toEqual({ note: "<b>hi</b>" }); // only the configured key
    expect(renderMain(s, "en", false)).not.toContain("<b>hi");
  });

  it("behavior: a payment still confirming shows its confirmations; nothing left to send, no QR and no wallet", () => {
    const s = checkoutState(
      data(
        [
          {
            asset: "ETH",
            chain: "anvil",
            amount: "3333333333333334",
            status: "seen",
            block_number: 10,
            unexpected_asset: 0,
          },
        ],
        "processing",
      ),
      ctx(10),
    );
    expect(s.options[0]).toMatchObject({
      amount_due: "0",
      confirmations: { have: 1, need: 1 },
      wallet: null,
    });
    const html = renderMain(s, "en", false);
    expect(html).toContain("1 of 1 confirmations");
    expect(html).not.toContain("<svg");
  });

  it("error: an unknown option falls back to the first; payments in assets the order does not offer are not counted", () => {
    const s = checkoutState(
      data([
        {
          asset: "ETH",
          chain: "anvil",
          amount: "1",
          status: "confirmed",
          block_number: 1,
          unexpected_asset: 1,
        },
      ]),
      ctx(),
      "NOPE",
    );
    expect(s.selected).toBe("ETH");
    expect(s.options[0]!.amount_due).toBe("0.003333333333333334");
  });
});

describe("live fan-out", () => {
  function fakeStore(d: CheckoutData) {
    const loads: string[] = [];
    const store: CheckoutStore = {
      byToken: () => d,
      byId: (id) => (loads.push(id), d),
      heads: () => new Map(),
    };
    return { store, loads };
  }
  const client = (orderId: string, frames: string[], lang: "en" | "zh" = "en"): StreamClient => ({
    orderId,
    ip: "127.0.0.1",
    lang,
    langInUrl: false,
    option: undefined,
    write: (f) => void frames.push(f),
  });

  it("behavior: a commit loads each changed order once, however many pages show it; other orders are untouched", () => {
    const d = data([]);
    const { store, loads } = fakeStore(d);
    const hub = createLiveHub({ store, context: () => ctx(), render: renderMain, heartbeatMs: 60_000 });
    const a: string[][] = [[], [], []];
    const other: string[] = [];
    a.forEach((f, i) => hub.add(client("ord_1", f, i === 2 ? "zh" : "en"), d));
    const removeOther = hub.add(client("ord_2", other), d);
    expect(hub.streams()).toBe(4);
    hub.onCommit({ orders: ["ord_1", "ord_9"] });
    expect(loads).toEqual(["ord_1"]);
    expect(a.map((f) => f.length)).toEqual([1, 1, 1]);
    expect(a[2]![0]).toContain("等待付款");
    expect(other).toEqual([]);
    removeOther();
    expect(hub.streamsOf("127.0.0.1")).toBe(3);
    hub.close();
  });

  it("behavior: a new head re-renders from memory only pages with a payment confirming on that chain, and only when it shows", () => {
    const confirming = data(
      [{ asset: "ETH", chain: "anvil", amount: "1", status: "seen", block_number: 10, unexpected_asset: 0 }],
      "processing",
    );
    const { store, loads } = fakeStore(confirming);
    const hub = createLiveHub({
      store,
      context: (heads) => ({ ...ctx(), heads }),
      render: renderMain,
      heartbeatMs: 60_000,
    });
    const frames: string[] = [];
    const quiet: string[] = [];
    hub.add(client("ord_1", frames), confirming);
    hub.add(client("ord_2", quiet), data([]));
    hub.onCommit({ orders: [], chain: "anvil", head: 10 });
    hub.onCommit({ orders: [], chain: "anvil", head: 10 }); // nothing new on screen: not sent again
    hub.onCommit({ orders: [], chain: "anvil", head: 11 });
    hub.onCommit({ orders: [], chain: "other", head: 99 });
    expect(loads).toEqual([]);
    expect(frames.map((f) => /(\d) of 1 confirmations/.exec(f)?.[1])).toEqual(["1", "2"]);
    expect(quiet).toEqual([]);
    hub.close();
  });
});

describe("the ledger's commit hook", () => {
  it("behavior: named after a committed write, never after a rolled-back one; a failing hook fails no write", () => {
    const cfg = testConfig();
    const db = testDatabase();
    const common = testCommon(cfg);
    const seen: { orders: string[]; chain?: string; head?: number }[] = [];
    let explode = false;
    const ledger = createLedger(db, common, createCatalog(cfg), {
      onCommit(c) {
        seen.push(c);
        if (explode) throw new Error("a page went away badly");
      },
    });
    importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(2).text, common.now());
    const create = (id: string) =>
      ledger.createOrder(
        "shop",
        { merchant_order_id: id, amount: "1", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
        common.now(),
      ).order;
    const a = create("H-1");
    const b = create("H-2");
    ledger.cancelOrder("shop", a.id, common.now());
    expect(seen).toEqual([{ orders: [a.id] }]);
    expect(() => ledger.acceptOrder("shop", a.id, common.now())).toThrow(/only a partially_paid/);
    expect(seen).toHaveLength(1); // rolled back: not named
    ledger.recordScan(
      { chain: "anvil", heads: { head: 5 }, blocks: [], transfers: [], keepBlocks: 8 },
      common.now(),
    );
    expect(seen.at(-1)).toEqual({ orders: [], chain: "anvil", head: 5 });
    explode = true;
    expect(ledger.cancelOrder("shop", b.id, common.now()).status).toBe("cancelled");
    expect(seen.at(-1)).toEqual({ orders: [b.id] });
    db.close();
  });

  it("behavior: the mempool, the timer and a payment assigned by hand name the orders they changed", () => {
    const cfg = testConfig();
    const db = testDatabase();
    const common = testCommon(cfg);
    const seen: { orders: string[]; chain?: string; head?: number }[] = [];
    const ledger = createLedger(db, common, createCatalog(cfg), { onCommit: (c) => seen.push(c) });
    const pool = evmPoolText(3);
    importPoolFile(db, "anvil", createEvmAddressCodec(), pool.text, TEST_EPOCH_MS);
    const create = (id: string) =>
      ledger.createOrder(
        "shop",
        { merchant_order_id: id, amount: "3", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
        TEST_EPOCH_MS,
      ).order;
    const paid = create("M-1");
    const idle = create("M-2");
    expect(seen).toEqual([]); // creating appends no event
    const transfer = (address: string, txid: string) => ({
      txid,
      index: 0,
      asset: "USDT-ERC20",
      address: address.toLowerCase(),
      amount: 1_000_000n,
      block: null,
    });
    const t = TEST_EPOCH_MS + 1000;
    ledger.recordMempool("anvil", [transfer(paid.options[0]!.address, "0x01")], t, false);
    expect(seen).toEqual([{ orders: [paid.id] }]);
    // a payment to the unbound third address: unattributed, so no order to name
    ledger.recordMempool("anvil", [transfer(pool.addresses[2]!, "0x02")], t, false);
    expect(seen).toHaveLength(1);
    const [stray] = ledger.unattributedPayments({ limit: 10 }).payments;
    ledger.assignPayment("shop", stray!.id, paid.id, t);
    expect(seen.at(-1)).toEqual({ orders: [paid.id] });
    expect(() => ledger.assignPayment("shop", stray!.id, idle.id, t)).toThrow(/already attributed/);
    expect(seen).toHaveLength(2); // refused: not named
    const after = TEST_EPOCH_MS + 31 * 60_000; // past orders.valid_minutes (30)
    expect(ledger.tick(after).expired).toBe(2); // the mempool payments never confirmed
    expect(seen.at(-1)!.orders.sort()).toEqual([paid.id, idle.id].sort());
    ledger.tick(after + 1000); // nothing left to change: not named
    expect(seen).toHaveLength(3);
    db.close();
  });
});

describe("HTTP guards and storage", () => {
  it("default: the per-IP token bucket refills with time", () => {
    let t = 0;
    const allow = createRateLimiter(60, () => t);
    expect(Array.from({ length: 61 }, () => allow("a")).filter(Boolean).length).toBe(60);
    expect(allow("b")).toBe(true); // per IP
    t += 1000;
    expect([allow("a"), allow("a")]).toEqual([true, false]);
  });

  it("behavior: the public routes answer 429 past the rate limit; frame-ancestors comes from config", async () => {
    const cfg = testConfig({
      checkout: {
        listen: "127.0.0.1:0",
        rate_limit_per_minute: 5,
        frame_ancestors: ["https://shop.example"],
      },
    });
    const db = testDatabase();
    const checkout = createCheckout({ db, catalog: createCatalog(cfg), common: testCommon(cfg) });
    const { port } = await checkout.listen();
    const codes: number[] = [];
    for (let i = 0; i < 7; i++)
      codes.push((await fetch(`http://127.0.0.1:${port}/pay/${"0".repeat(48)}`)).status);
    expect(codes).toEqual([404, 404, 404, 404, 404, 429, 429]);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors https://shop.example");
    expect(securityHeaders([])["content-security-policy"]).toContain("frame-ancestors 'none'");
    await checkout.close();
    db.close();
  });

  it("behavior: behind a trusted proxy the limit is per customer (X-Forwarded-For); the logo is served by depositd itself", async () => {
    const dir = mkdtempSync(join(tmpdir(), "depositd-logo-"));
    const logo = join(dir, "logo.png");
    const png = new PNG({ width: 2, height: 2 });
    writeFileSync(logo, PNG.sync.write(png));
    const cfg = testConfig({
      checkout: {
        listen: "127.0.0.1:0",
        rate_limit_per_minute: 2,
        trust_proxy: ["127.0.0.1"],
        brand: { name: "Logo shop", logo_file: logo },
      },
    });
    const db = testDatabase();
    const common = testCommon(cfg);
    const catalog = createCatalog(cfg);
    const ledger = createLedger(db, common, catalog);
    importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(1).text, common.now());
    const order = ledger.createOrder(
      "shop",
      { merchant_order_id: "L-1", amount: "1", currency: "USD", callback_url: "http://127.0.0.1:9/cb" },
      common.now(),
    ).order;
    const checkout = createCheckout({ db, catalog, common });
    const { port } = await checkout.listen();
    const url = order.checkout_url.replace(/^http:\/\/[^/]+/, `http://127.0.0.1:${port}`);
    const get = (ip: string) => fetch(url, { headers: { "x-forwarded-for": ip } });
    const first = await get("203.0.113.7");
    const html = await first.text();
    expect([first.status, (await get("203.0.113.7")).status, (await get("203.0.113.7")).status]).toEqual([
      200, 200, 429,
    ]);
    expect((await get("198.51.100.2")).status).toBe(200);
    const src = /<img class="logo" src="(\/checkout\/logo\.[0-9a-f]{12}\.png)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    const img = await fetch(`http://127.0.0.1:${port}${src}`, {
      headers: { "x-forwarded-for": "192.0.2.1" },
    });
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await img.arrayBuffer())).toEqual(readFileSync(logo));
    await checkout.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("error: a return_url that is not http(s) is refused at create (it becomes a link on the page)", async () => {
    const api = await startApi(testConfig());
    const body = {
      merchant_order_id: "R-1",
      amount: "1",
      currency: "USD",
      callback_url: "http://127.0.0.1:9/cb",
    };
    for (const bad of ["javascript:alert(1)", "data:text/html,x", "https://u:p@shop.example/", "/relative"]) {
      const r = await api.call("POST", "/v1/orders", { ...body, return_url: bad });
      expect(r.status, bad).toBe(400);
      expect(r.body.errors).toEqual([expect.objectContaining({ path: "return_url" })]);
    }
    const ok = await api.call("POST", "/v1/orders", { ...body, return_url: "https://shop.example/done" });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ return_url: "https://shop.example/done" });
    expect(ok.body.checkout_url).toMatch(/^http:\/\/127\.0\.0\.1:0\/pay\/[0-9a-f]{48}$/);
    await api.close();
  });

  it("behavior: migration 0004 gives orders made before it a token of their own, and the order JSON its checkout_url", () => {
    const db = openDatabase(":memory:", { migrate: false });
    const all = readMigrations();
    migrate(
      db,
      all.filter((m) => m.version < 4),
    );
    const cfg = testConfig({ checkout: { listen: "127.0.0.1:0", public_url: "https://pay.shop.example/" } });
    const insert = db.prepare(
      `INSERT INTO orders (id, merchant, merchant_order_id, status, amount, currency, currency_decimals,
         underpaid_tolerance, overpaid_tolerance, callback_url, request_hash, created_at, updated_at, expires_at, late_until)
       VALUES (?, 'shop', ?, 'pending', '1000', 'USD', 2, '0', '0', 'http://127.0.0.1:9/cb', 'h', 1, 1, 2, 3)`,
    );
    insert.run("ord_old1", "O-1");
    insert.run("ord_old2", "O-2");
    migrate(db, all);
    const tokens = db.prepare("SELECT checkout_token FROM orders ORDER BY id").pluck().all() as string[];
    expect(tokens).toHaveLength(2);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{48}$/);
    expect(tokens[0]).not.toBe(tokens[1]);
    const ledger = createLedger(db, testCommon(cfg), createCatalog(cfg));
    expect(ledger.getOrder("shop", "ord_old1")!.checkout_url).toBe(
      `https://pay.shop.example/pay/${tokens[0]}`,
    );
    importPoolFile(db, "anvil", createEvmAddressCodec(), evmPoolText(1).text, TEST_EPOCH_MS);
    const fresh = ledger.createOrder(
      "shop",
      {
        merchant_order_id: "N-1",
        amount: "1",
        currency: "USD",
        callback_url: "http://127.0.0.1:9/cb",
        return_url: "https://shop.example/r",
      },
      TEST_EPOCH_MS,
    ).order;
    expect(fresh.checkout_url).toMatch(/^https:\/\/pay\.shop\.example\/pay\/[0-9a-f]{48}$/);
    expect(fresh.return_url).toBe("https://shop.example/r");
    db.close();
  });
});
