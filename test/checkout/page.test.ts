// The customer's checkout page in a real Chromium against a real daemon and a real anvil: what it
// shows, the QR a wallet reads from the screen, live status without reload, the browser-wallet
// button, and what it must never do (third-party requests, inline code, leaking orders).
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { payments as btcPayments, networks } from "bitcoinjs-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { freePort } from "../../src/dev/anvil.js";
import { tronHexToBase58 } from "../../src/chains/tron/address.js";
import { parseAmount } from "../../src/core/amount.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import type { OrderJson } from "../../src/ledger/index.js";
import { decodeQr, launchChromium, saveArtifact } from "../helpers/browser.js";
import { clock, evmPoolText, rawConfig, testCommon } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";
import { tempDir } from "../chaos/harness.js";
import { validateConfig } from "../../src/config/load.js";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const BRAND = `Shop <b>&</b> "Co"`;
const TRC20 = tronHexToBase58("41" + "a614f803b6fd780986a42c78ec9c7f77e6ded13c");

let chain: TokenChain;
let daemon: Daemon;
let browserKit: Awaited<ReturnType<typeof launchChromium>>;
let base: string;
let stopDriving = false;
let time: ReturnType<typeof clock>;
let driving: Promise<void>;
const tmp = tempDir("checkout");
/** every URL any page of this file requested */
const requested: string[] = [];

const tronAddress = () => tronHexToBase58("41" + randomBytes(20).toString("hex"));
const btcAddress = () => btcPayments.p2wpkh({ hash: randomBytes(20), network: networks.regtest }).address!;

beforeAll(async () => {
  chain = await startTokenChain();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const files = {
    anvil: join(tmp.dir, "anvil.txt"),
    tron: join(tmp.dir, "tron.txt"),
    btc: join(tmp.dir, "btc.txt"),
  };
  writeFileSync(files.anvil, evmPoolText(40).text);
  writeFileSync(files.tron, Array.from({ length: 40 }, tronAddress).join("\n") + "\n");
  writeFileSync(files.btc, Array.from({ length: 40 }, btcAddress).join("\n") + "\n");
  const start = await chain.kit.blockNumber();
  const pool = (file: string) => ({ source: "static", file, cooldown_minutes: 0, low_water: 0 });
  const config = validateConfig(
    rawConfig({
      database: { path: join(tmp.dir, "d.sqlite"), synchronous: "NORMAL" },
      rates: { static: { USD: { ETH: "3000", "USDT-ERC20": "1", "USDT-TRC20": "1", BTC: "60000" } } },
      chains: [
        {
          id: "anvil",
          kind: "evm",
          rpc: [chain.anvil.url],
          chain_id: 31337,
          poll_interval_ms: 100,
          start_block: start + 1,
          pool: pool(files.anvil),
        },
        // never contacted: the page only needs their orders' options
        { id: "tron", kind: "tron", rpc: ["http://127.0.0.1:9"], pool: pool(files.tron) },
        {
          id: "btc",
          kind: "bitcoin",
          network: "regtest",
          rpc: ["http://127.0.0.1:9"],
          pool: pool(files.btc),
        },
      ],
      assets: [
        { id: "ETH", chain: "anvil", decimals: 18, confirmations: 2 },
        { id: "USDT-ERC20", chain: "anvil", contract: chain.token, decimals: 6, confirmations: 2 },
        { id: "USDT-TRC20", chain: "tron", contract: TRC20, decimals: 6, confirmations: 19 },
        { id: "BTC", chain: "btc", decimals: 8, confirmations: 1 },
      ],
      checkout: { listen: `127.0.0.1:${port}`, brand: { name: BRAND, color: "#0f766e" } },
    }),
    {},
  );
  // the daemon's clock is the chain's: block times and order expiry agree on any machine date
  const block = (await chain.kit.provider.getBlock("latest"))!;
  time = clock(block.timestamp * 1000);
  daemon = await startDaemon(testCommon(config, time.now), {
    manualWatchers: true,
    noDelivery: true,
    noTimers: true,
  });
  // the anvil watcher runs as in `serve`; tron and btc have no node here
  const watcher = daemon.watchers.get("anvil")!;
  driving = (async () => {
    while (!stopDriving) {
      await watcher.runOnce().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  browserKit = await launchChromium();
});

afterAll(async () => {
  stopDriving = true;
  await driving;
  await browserKit?.close();
  await daemon?.stop();
  await chain?.stop();
  tmp.remove();
});

let seq = 0;
function createOrder(over: Record<string, unknown> = {}): OrderJson {
  return daemon.ledger.createOrder(
    "shop",
    {
      merchant_order_id: `C-${++seq}`,
      amount: "10",
      currency: "USD",
      callback_url: "http://127.0.0.1:9/cb",
      return_url: "https://shop.example/thanks?o=1",
      ...over,
    } as never,
    time.now(),
  ).order;
}

async function newContext(
  opts: Parameters<typeof browserKit.browser.newContext>[0] = {},
): Promise<BrowserContext> {
  const ctx = await browserKit.browser.newContext({ viewport: { width: 390, height: 844 }, ...opts });
  ctx.on("request", (r) => requested.push(r.url()));
  return ctx;
}

const units = (order: OrderJson, asset: string, decimals: number) =>
  parseAmount(order.options.find((o) => o.asset === asset)!.amount_due, decimals);
const optionOf = (order: OrderJson, asset: string) => order.options.find((o) => o.asset === asset)!;

/** the QR of the page as the screen shows it */
async function screenQr(page: Page, name: string): Promise<string | null> {
  const png = await page.screenshot({ fullPage: true });
  saveArtifact(name, png);
  return decodeQr(png);
}

async function statusOf(page: Page): Promise<string | null> {
  return page.locator("[data-status]").getAttribute("data-status");
}

describe("the checkout page", () => {
  it("default: every order JSON carries an absolute checkout_url on the public base with an unguessable token", () => {
    const a = createOrder();
    const b = createOrder();
    expect(a.checkout_url).toMatch(new RegExp(`^${base}/pay/[0-9a-f]{48}$`));
    expect(a.checkout_url).not.toContain(a.id);
    expect(a.checkout_url).not.toBe(b.checkout_url);
    expect(daemon.ledger.getOrder("shop", a.id)!.checkout_url).toBe(a.checkout_url);
  });

  it("default: at 390×844 and 1280×800 the page shows amount and address, and each option's QR is its payment URI", async () => {
    const order = createOrder();
    const eth = optionOf(order, "ETH");
    const usdt = optionOf(order, "USDT-ERC20");
    const expected: Record<string, string> = {
      ETH: `ethereum:${eth.address}@31337?value=${units(order, "ETH", 18)}`,
      "USDT-ERC20": `ethereum:${chain.token}@31337/transfer?address=${usdt.address}&uint256=${units(order, "USDT-ERC20", 6)}`,
      BTC: `bitcoin:${optionOf(order, "BTC").address}?amount=${optionOf(order, "BTC").amount_due}`,
      // Tron: the bare address by default (docs/checkout.md says why)
      "USDT-TRC20": optionOf(order, "USDT-TRC20").address,
    };
    expect(expected.ETH).toMatch(/^ethereum:0x[0-9a-fA-F]{40}@31337\?value=[0-9]+$/); // integers, no exponent
    for (const viewport of [
      { width: 390, height: 844 },
      { width: 1280, height: 800 },
    ]) {
      const ctx = await newContext({ viewport });
      const page = await ctx.newPage();
      for (const [asset, uri] of Object.entries(expected)) {
        await page.goto(`${order.checkout_url}?option=${asset}`);
        const opt = optionOf(order, asset);
        await expect.poll(() => page.locator("[data-address]").textContent()).toBe(opt.address);
        const symbol = asset.split("-")[0];
        expect(await page.locator("[data-amount]").textContent()).toBe(`${opt.amount_due} ${symbol}`);
        expect(await page.locator("h1").textContent()).toBe("10 USD");
        expect(await screenQr(page, `${viewport.width}x${viewport.height}-${asset}.png`), asset).toBe(uri);
      }
      // the picker names asset, network and token standard
      const labels = await page.locator(".picker a").allTextContents();
      expect(labels).toEqual([
        "ETH · Anvil local chain",
        "USDT · Anvil local chain (ERC-20)",
        "USDT · Tron (TRC-20)",
        "BTC · Bitcoin regtest",
      ]);
      await ctx.close();
    }
  });

  it("behavior: paying on anvil while the page is open moves it to processing (1 of 2), then paid, without a reload", async () => {
    const order = createOrder();
    const ctx = await newContext();
    const page = await ctx.newPage();
    let loads = 0;
    page.on("load", () => loads++);
    await page.goto(`${order.checkout_url}?option=USDT-ERC20`);
    expect(await statusOf(page)).toBe("pending");
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await chain.kit.sendToken(
      chain.token,
      optionOf(order, "USDT-ERC20").address,
      10_000_000n,
      chain.kit.accounts[1],
    );
    await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("processing");
    expect(await page.locator("[data-conf]").textContent()).toBe("1 of 2 confirmations");
    saveArtifact("live-processing.png", await page.screenshot({ fullPage: true }));
    await chain.kit.mine(1);
    await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("paid");
    saveArtifact("live-paid.png", await page.screenshot({ fullPage: true }));
    expect(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker)).toBe(42);
    expect(loads).toBe(1);
    const back = page.locator("a.button");
    expect(await back.textContent()).toBe("Back to the shop");
    expect(await back.getAttribute("href")).toBe("https://shop.example/thanks?o=1");
    expect(await page.locator(".qr").count()).toBe(0);
    await ctx.close();
  });

  it("behavior: a partial payment shows the remaining amount and a QR for it", async () => {
    const order = createOrder();
    const usdt = optionOf(order, "USDT-ERC20");
    const ctx = await newContext();
    const page = await ctx.newPage();
    await page.goto(`${order.checkout_url}?option=USDT-ERC20`);
    await chain.kit.sendToken(chain.token, usdt.address, 4_000_000n, chain.kit.accounts[1]);
    await chain.kit.mine(1);
    await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("partially_paid");
    expect(await page.locator("[data-status] p").first().textContent()).toBe(
      "Partially paid: send the remaining 6 USDT",
    );
    expect(await page.locator("[data-amount]").textContent()).toBe("6 USDT");
    // the copy buttons copy the exact amount and address
    await ctx.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.getByRole("button", { name: "Copy amount" }).click();
    await expect
      .poll(() =>
        page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
      )
      .toBe("6");
    await page.getByRole("button", { name: "Copy address" }).click();
    await expect
      .poll(() =>
        page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
      )
      .toBe(usdt.address);
    expect(await page.getByRole("button", { name: "Copied" }).count()).toBe(2);
    expect(await screenQr(page, "partial-USDT-ERC20.png")).toBe(
      `ethereum:${chain.token}@31337/transfer?address=${usdt.address}&uint256=6000000`,
    );
    // the rest in another asset: 6/10 of the ETH due, rounded up to the wei
    const restWei = (units(order, "ETH", 18) * 6n + 9n) / 10n;
    expect(restWei).toBe(2000000000000001n);
    await page.goto(`${order.checkout_url}?option=ETH`);
    expect(await page.locator("[data-amount]").textContent()).toBe("0.002000000000000001 ETH");
    expect(await screenQr(page, "partial-ETH.png")).toBe(
      `ethereum:${optionOf(order, "ETH").address}@31337?value=${restWei}`,
    );
    await ctx.close();
  });

  it("behavior: expiry and cancellation reach the open page without a reload; no address or QR is left", async () => {
    // only anvil options: the tron and btc chains have no node here, so their deadlines never pass
    const expiring = createOrder({ valid_minutes: 1, assets: ["ETH", "USDT-ERC20"] });
    const cancelled = createOrder();
    const ctx = await newContext();
    const a = await ctx.newPage();
    const b = await ctx.newPage();
    await a.goto(expiring.checkout_url);
    await b.goto(cancelled.checkout_url);
    expect(await a.locator("[data-left]").textContent()).toBe("1:00");
    // an order expires once its chain has passed the deadline: a block stamped after it, scanned
    const past = time.now() + 61_000;
    await chain.anvil.rpc("evm_setNextBlockTimestamp", [Math.floor(past / 1000) + 1]);
    await chain.kit.mine(1);
    await expect
      .poll(
        () => {
          daemon.ledger.tick(past);
          return daemon.ledger.getOrder("shop", expiring.id)!.status;
        },
        { timeout: 15_000 },
      )
      .toBe("expired");
    daemon.ledger.cancelOrder("shop", cancelled.id, time.now());
    await expect.poll(() => statusOf(a), { timeout: 15_000 }).toBe("expired");
    await expect.poll(() => statusOf(b), { timeout: 15_000 }).toBe("cancelled");
    expect(await a.locator("[data-status] p").textContent()).toBe("This payment request has expired.");
    expect(await b.locator("[data-status] p").textContent()).toBe("This order was cancelled.");
    for (const page of [a, b]) {
      expect(await page.locator(".qr").count()).toBe(0);
      expect(await page.locator("[data-address]").count()).toBe(0);
      expect(await page.locator("a.button").count()).toBe(0); // no "back to the shop" for these
    }
    saveArtifact("390x844-expired.png", await a.screenshot({ fullPage: true }));
    await ctx.close();
  });

  it("behavior: an injected EIP-1193 provider that forwards to anvil pays the order from the wallet button", async () => {
    for (const asset of ["ETH", "USDT-ERC20"]) {
      const order = createOrder();
      const ctx = await newContext();
      const calls: string[] = [];
      let chainId = "0x1"; // the wallet starts on another chain: the page must ask it to switch
      // the wallet lives in the test process (as an extension would): no request from the page
      await ctx.exposeFunction("__wallet", async (method: string, params: unknown[]) => {
        calls.push(method);
        if (method === "eth_requestAccounts") return [chain.kit.accounts[1]];
        if (method === "eth_chainId") return chainId;
        if (method === "wallet_switchEthereumChain") {
          chainId = (params[0] as { chainId: string }).chainId;
          return null;
        }
        return chain.anvil.rpc(method, params);
      });
      await ctx.addInitScript(() => {
        const w = globalThis as unknown as {
          ethereum: unknown;
          __wallet(m: string, p: unknown[]): Promise<unknown>;
        };
        w.ethereum = {
          request: (a: { method: string; params?: unknown[] }) => w.__wallet(a.method, a.params ?? []),
        };
      });
      const page = await ctx.newPage();
      await page.goto(`${order.checkout_url}?option=${asset}`);
      const button = page.locator("[data-wallet]");
      await expect.poll(() => button.isVisible()).toBe(true);
      await button.click();
      await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("processing");
      await chain.kit.mine(1);
      await expect.poll(() => statusOf(page), { timeout: 15_000 }).toBe("paid");
      expect(calls).toEqual([
        "eth_requestAccounts",
        "eth_chainId",
        "wallet_switchEthereumChain",
        "eth_chainId",
        "eth_sendTransaction",
      ]);
      expect(daemon.ledger.getOrder("shop", order.id)).toMatchObject({ status: "paid", paid_amount: "10" });
      await ctx.close();
    }
    // no provider, no button
    const order = createOrder();
    const ctx = await newContext();
    const page = await ctx.newPage();
    await page.goto(`${order.checkout_url}?option=ETH`);
    await page.waitForLoadState("networkidle").catch(() => undefined);
    expect(await page.locator("[data-wallet]").isVisible()).toBe(false);
    await ctx.close();
  });

  it("behavior: a second language from Accept-Language or ?lang=, merchant strings escaped", async () => {
    const order = createOrder();
    const ctx = await newContext({ locale: "zh-CN" });
    const page = await ctx.newPage();
    await page.goto(order.checkout_url!);
    expect(await page.locator("html").getAttribute("lang")).toBe("zh-CN");
    expect(await page.locator("[data-status] p").textContent()).toBe("等待付款");
    expect(await page.locator(".warning").textContent()).toContain("只能通过 Anvil local chain 网络发送 ETH");
    saveArtifact("390x844-zh.png", await page.screenshot({ fullPage: true }));
    await page.goto(`${order.checkout_url}?lang=es&option=USDT-TRC20`);
    expect(await page.locator("[data-status] p").textContent()).toBe("Esperando tu pago");
    expect(await page.locator(".warning").textContent()).toBe(
      "Envía solo USDT en la red Tron (TRC-20). Cualquier otro activo o red se pierde.",
    );
    saveArtifact("390x844-es-tron.png", await page.screenshot({ fullPage: true }));
    // the shop's name is text, never markup
    expect(await page.locator(".shop .name").textContent()).toBe(BRAND);
    expect(await page.locator(".shop b").count()).toBe(0);
    await ctx.close();
  });

  it("behavior: without JavaScript the page refreshes itself; the JSON twin holds what the page shows", async () => {
    const order = createOrder();
    const ctx = await newContext({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(`${order.checkout_url}?option=BTC`);
    expect(await page.locator('meta[http-equiv="refresh"]').getAttribute("content")).toBe("15");
    const twin = await fetch(`${order.checkout_url}/checkout.json?option=BTC`);
    expect(twin.headers.get("access-control-allow-origin")).toBe("*");
    const json = (await twin.json()) as {
      selected: string;
      order: { status: string; amount: string; currency: string; seconds_left: number; return_url: string };
      options: { asset: string; label: string; address: string; amount_due: string; qr: string }[];
      done: boolean;
    };
    const btc = json.options.find((o) => o.asset === "BTC")!;
    expect(json).toMatchObject({
      selected: "BTC",
      done: false,
      order: { status: "pending", amount: "10", currency: "USD" },
    });
    expect(btc).toMatchObject({
      label: "BTC · Bitcoin regtest",
      amount_due: "0.00016667",
      address: optionOf(order, "BTC").address,
    });
    expect(await page.locator("[data-amount]").textContent()).toBe(`${btc.amount_due} BTC`);
    expect(await page.locator("[data-address]").textContent()).toBe(btc.address);
    expect(json.order.seconds_left).toBe(1800);
    expect(JSON.stringify(json)).not.toContain(order.id); // the order id and callback stay private
    expect(JSON.stringify(json)).not.toContain("127.0.0.1:9/cb");
    await ctx.close();
  });

  it("error: a wrong or missing token gives 404 with nothing revealed", async () => {
    const order = createOrder();
    const token = order.checkout_url!.split("/").pop()!;
    const wrong = token.slice(0, -1) + (token.endsWith("0") ? "1" : "0");
    const bodies = new Set<string>();
    for (const path of [
      `/pay/${wrong}`,
      `/pay/${randomBytes(24).toString("hex")}`,
      "/pay/",
      "/pay/x",
      `/${token}`,
      "/",
    ]) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-security-policy"), path).toContain("default-src 'none'");
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
    const [body] = [...bodies];
    for (const secret of [BRAND, "Shop", order.id, order.merchant_order_id, optionOf(order, "ETH").address])
      expect(body).not.toContain(secret);
    const json = await fetch(`${base}/pay/${wrong}/checkout.json`);
    expect(json.status).toBe(404);
    expect(await json.text()).toBe('{"error":"not_found"}');
    expect((await fetch(`${base}/pay/${wrong}/events`)).status).toBe(404);
  });

  it("behavior: strict headers, no third-party request, and axe finds no serious or critical violation", async () => {
    const order = createOrder({ metadata: { cart: 7 } });
    const res = await fetch(order.checkout_url!);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(html).not.toMatch(/ style=/); // no inline style
    expect(html).not.toContain("cart"); // metadata only when configured

    for (const viewport of [
      { width: 390, height: 844 },
      { width: 1280, height: 800 },
    ]) {
      const ctx = await newContext({ viewport });
      const page = await ctx.newPage();
      const violations: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") violations.push(m.text());
      });
      for (const path of ["?option=USDT-TRC20", "?lang=zh"]) {
        await page.goto(order.checkout_url + path);
        await page.evaluate(axeSource); // not a script tag: the page's CSP forbids inline scripts
        const result = (await page.evaluate(() =>
          (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run(),
        )) as { violations: { id: string; impact: string; nodes: unknown[] }[] };
        const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
        expect(
          bad.map((v) => `${v.id} (${v.impact})`),
          `${viewport.width} ${path}`,
        ).toEqual([]);
      }
      expect(violations, "CSP or script errors in the console").toEqual([]);
      await ctx.close();
    }
    const hosts = new Set(requested.map((u) => new URL(u).host));
    expect([...hosts]).toEqual([new URL(base).host]);
    expect(requested.length).toBeGreaterThan(20);
  });
});
