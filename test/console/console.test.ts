// The operator console in a real Chromium against a real daemon, a real anvil and a real callback
// receiver on 127.0.0.1: sign-in, the overview, search by txid, redelivery, the unattributed inbox,
// CSRF, session expiry, screenshots at two sizes, an axe-core scan, and no request elsewhere.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { validateConfig } from "../../src/config/load.js";
import { parseAmount } from "../../src/core/amount.js";
import { recordLagSamples } from "../../src/console/index.js";
import { displayUrl } from "../../src/console/rpc.js";
import { type Daemon, startDaemon } from "../../src/daemon.js";
import type { OrderJson } from "../../src/ledger/index.js";
import { launchChromium } from "../helpers/browser.js";
import { API_KEY, clock, evmPoolText, rawConfig, testCommon } from "../helpers/config.js";
import { type TokenChain, startTokenChain } from "../helpers/evm.js";
import { type FlakyProxy, startFlakyProxy } from "../helpers/flaky-proxy.js";
import { type PriceServer, startPriceServer } from "../../src/dev/prices.js";
import { tempDir } from "../chaos/harness.js";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const OPERATOR_KEY = "operator-key-0123456789";
const ARTIFACTS = join(process.cwd(), ".cache", "artifacts", "console");
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

let chain: TokenChain;
let daemon: Daemon;
let browserKit: Awaited<ReturnType<typeof launchChromium>>;
let base: string;
let time: ReturnType<typeof clock>;
let stopDriving = false;
let driving: Promise<void>;
let receiver: Server;
let receiverUrl: string;
/** what the callback receiver answers */
let receiverStatus = 500;
let pool: string[];
let config: ReturnType<typeof validateConfig>;
/** the chain's first RPC URL: passes through to anvil until a test makes it answer 429 */
let throttler: FlakyProxy;
/** a market on 127.0.0.1 that prices ETH in EUR only: ETH/GBP stays unpriced */
let market: PriceServer;
const tmp = tempDir("console");
const requested: string[] = [];

beforeAll(async () => {
  chain = await startTokenChain();
  throttler = await startFlakyProxy(chain.anvil.url, { seed: 19, failRate: 0, modes: ["429"] });
  market = await startPriceServer({ prices: { "ETH/EUR": "2800.5" }, now: () => time.now() });
  receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () =>
      res.writeHead(receiverStatus, { "content-type": "text/plain" }).end(`answer ${receiverStatus}`),
    );
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/cb`;
  const poolFile = join(tmp.dir, "pool.txt");
  const p = evmPoolText(20);
  pool = p.addresses;
  writeFileSync(poolFile, p.text);
  const start = await chain.kit.blockNumber();
  const raw = rawConfig({
    database: { path: join(tmp.dir, "d.sqlite"), synchronous: "NORMAL" },
    chains: [
      {
        id: "anvil",
        kind: "evm",
        rpc: [throttler.url, chain.anvil.url],
        chain_id: 31337,
        poll_interval_ms: 100,
        start_block: start + 1,
        explorer_url: "https://explorer.invalid/tx/{txid}",
        pool: { source: "static", file: poolFile, cooldown_minutes: 0, low_water: 2 },
      },
    ],
    assets: [{ id: "ETH", chain: "anvil", decimals: 18, confirmations: 1 }],
    rates: {
      static: { USD: { ETH: "3000" } },
      live: {
        providers: [{ kind: "coinbase", url: market.url }],
        currencies: ["EUR", "GBP"],
        min_sources: 1,
      },
    },
  });
  const api = raw.api as { keys: Record<string, unknown>[] };
  api.keys.push({
    name: "ops",
    sha256: createHash("sha256").update(OPERATOR_KEY).digest("hex"),
    role: "operator",
  });
  config = validateConfig(raw, {});
  const block = (await chain.kit.provider.getBlock("latest"))!;
  time = clock(block.timestamp * 1000);
  daemon = await startDaemon(testCommon(config, time.now), {
    manualWatchers: true,
    noTimers: true,
    manualRates: true,
  });
  base = `http://${daemon.address.host}:${daemon.address.port}`;
  // the watcher and the delivery worker run as in `serve`; the harness clock moves with the loop
  const watcher = daemon.watchers.get("anvil")!;
  driving = (async () => {
    while (!stopDriving) {
      await watcher.runOnce().catch(() => undefined);
      time.advance(100);
      daemon.notify();
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
  await chain?.stop().catch(() => undefined);
  await throttler?.stop();
  await market?.close();
  await new Promise((r) => receiver?.close(r));
  tmp.remove();
});

let seq = 0;
function createOrder(callback = "http://127.0.0.1:9/cb"): OrderJson {
  return daemon.ledger.createOrder(
    "shop",
    { merchant_order_id: `M-${++seq}`, amount: "10", currency: "USD", callback_url: callback },
    time.now(),
  ).order;
}
const weiDue = (o: OrderJson) => parseAmount(o.options[0]!.amount_due, 18);

async function newContext(viewport = VIEWPORTS[0]!): Promise<BrowserContext> {
  const ctx = await browserKit.browser.newContext({ viewport });
  ctx.on("request", (r) => requested.push(r.url()));
  return ctx;
}

async function signIn(page: Page, key = OPERATOR_KEY): Promise<void> {
  await page.goto(`${base}/console/login`);
  await page.fill("#key", key);
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
}

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, name), await page.screenshot({ fullPage: true }));
}

async function axe(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  await page.evaluate(axeSource); // not a script tag: the console's CSP forbids inline scripts
  const r = await page.evaluate(async () => {
    const w = globalThis as unknown as {
      axe: {
        run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
      };
    };
    return (await w.axe.run()).violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(" ")),
    }));
  });
  return r.filter((v) => v.impact === "serious" || v.impact === "critical");
}

async function until<T>(f: () => T | Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || performance.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the operator console", () => {
  it("behavior: an operator key signs in; a merchant key and a wrong key are refused; the cookie is HttpOnly, SameSite=Strict, with an expiry", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page, API_KEY);
    expect(page.url()).toBe(`${base}/console/login`);
    expect(await page.locator("[role=alert]").textContent()).toContain("merchant key");
    await shoot(page, "login-refused-1280x800.png");
    await signIn(page, "not-a-key-at-all");
    expect(await page.locator("[role=alert]").textContent()).toContain("not valid");
    expect(await ctx.cookies()).toEqual([]);
    await signIn(page);
    expect(page.url()).toBe(`${base}/console/overview`);
    const [cookie] = await ctx.cookies();
    expect(cookie).toMatchObject({
      name: "depositd_console",
      httpOnly: true,
      sameSite: "Strict",
      secure: false,
      path: "/console",
    });
    expect(cookie!.expires).toBeGreaterThan(0);
    // the key never travels in a URL, and the session id is stored hashed
    expect(requested.some((u) => u.includes(OPERATOR_KEY))).toBe(false);
    const rows = daemon.db.prepare("SELECT id_hash FROM console_sessions").pluck().all() as string[];
    expect(rows).toContain(createHash("sha256").update(cookie!.value).digest("hex"));
    expect(rows).not.toContain(cookie!.value);
    // the merchant API refuses no one new: the console is a separate door
    const res = await fetch(`${base}/console/overview`, { redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/login?expired=1");
    await ctx.close();
  });

  it("behavior: an order is found by the txid that paid it, and its page links the explorer", async () => {
    const order = createOrder();
    const tx = await chain.kit.sendEth(order.options[0]!.address, weiDue(order));
    await until(
      () => daemon.ledger.getOrder("shop", order.id)!.status,
      (s) => s === "paid",
    );
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/orders`);
    await page.fill("#q", tx.hash);
    await Promise.all([
      page.waitForURL(`${base}/console/orders/${order.id}*`),
      page.click("form[role=search] button"),
    ]);
    expect(await page.locator("h1").textContent()).toContain(order.id);
    const link = page.locator(`a[href="https://explorer.invalid/tx/${tx.hash}"]`);
    expect(await link.count()).toBe(1);
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `order-${vp.width}x${vp.height}.png`);
    }
    await page.goto(`${base}/console/orders`);
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `orders-${vp.width}x${vp.height}.png`);
    }
    await ctx.close();
  });

  it("behavior: a dead event is redelivered from its order's page and the new attempt appears", async () => {
    receiverStatus = 500;
    const order = createOrder(receiverUrl);
    await chain.kit.sendEth(order.options[0]!.address, weiDue(order));
    const deadOf = () =>
      daemon.db
        .prepare("SELECT id, attempts FROM events WHERE order_id = ? AND state = 'dead'")
        .all(order.id) as {
        id: string;
        attempts: number;
      }[];
    const dead = await until(deadOf, (r) => r.length > 0, 30_000);
    expect(dead.length).toBeGreaterThan(0);
    const ev = dead[0]!;
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/deliveries`);
    expect(await page.locator("h2.mono").allTextContents()).toContain(new URL(receiverUrl).host);
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `deliveries-${vp.width}x${vp.height}.png`);
    }
    await page.setViewportSize(VIEWPORTS[0]!);
    await page.goto(`${base}/console/orders/${order.id}`);
    const item = page.locator(`li[data-event="${ev.id}"]`);
    expect(await item.locator("tr.attempt").count()).toBe(ev.attempts);
    receiverStatus = 200;
    await Promise.all([
      page.waitForURL(`${base}/console/orders/${order.id}?done=*`),
      item.locator("button").click(),
    ]);
    expect(await page.locator("[role=status]").textContent()).toContain("queued");
    const attempts = await until(
      async () => {
        await page.reload();
        return page.locator(`li[data-event="${ev.id}"] tr.attempt`).count();
      },
      (n) => n === ev.attempts + 1,
    );
    expect(attempts).toBe(ev.attempts + 1);
    const last = page.locator(`li[data-event="${ev.id}"] tr.attempt`).last();
    expect(await last.locator("td").nth(2).textContent()).toBe("200");
    expect(await item.locator(".badge").first().textContent()).toBe("delivered");
    await ctx.close();
  });

  it("behavior: redeliver all for a host queues its dead events as one bounded job whose page shows them delivered", async () => {
    receiverStatus = 500;
    // another name for the same receiver: its own host group
    const port = new URL(receiverUrl).port;
    const host = `localhost:${port}`;
    const orders = [0, 1, 2].map(() => createOrder(`http://${host}/cb`));
    for (const o of orders) daemon.ledger.cancelOrder("shop", o.id, time.now());
    daemon.notify();
    const deadOf = () =>
      daemon.db
        .prepare("SELECT id, attempts FROM events WHERE url LIKE ? AND state = 'dead' ORDER BY id")
        .all(`http://${host}/%`) as { id: string; attempts: number }[];
    const dead = await until(deadOf, (r) => r.length >= orders.length, 30_000);
    expect(dead.length).toBeGreaterThanOrEqual(orders.length);
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/deliveries`);
    const card = page.locator("section.card", { has: page.locator(`h2:text-is("${host}")`) });
    expect(await card.locator("p").first().textContent()).toContain(`${dead.length} dead`);
    receiverStatus = 200;
    await Promise.all([
      page.waitForURL(`${base}/console/deliveries/jobs/*`),
      card.locator("button", { hasText: "(up to 1000)" }).click(),
    ]);
    const job = page.locator("[data-job]");
    expect(await job.locator(".queued").textContent()).toBe(String(dead.length));
    // no reload: the page's script refreshes it until the job is done, then stops
    const done = await until(
      () => job.getAttribute("data-done"),
      (d) => d === "yes",
      20_000,
    );
    expect(done).toBe("yes");
    expect(await job.locator(".delivered").textContent()).toBe(String(dead.length));
    expect(await job.locator(".dead").textContent()).toBe("0");
    expect(await job.locator(".attempted").textContent()).toBe(`${dead.length} of ${dead.length}`);
    expect(await page.locator("main").getAttribute("data-refresh")).toBeNull();
    for (const e of dead) {
      expect(await page.locator(`tr[data-event="${e.id}"] .since`).textContent()).toBe("1");
      const after = daemon.db.prepare("SELECT attempts FROM events WHERE id = ?").pluck().get(e.id) as number;
      expect(after).toBe(e.attempts + 1);
      const last = daemon.db
        .prepare("SELECT status_code FROM delivery_attempts WHERE event_id = ? ORDER BY attempt DESC LIMIT 1")
        .pluck()
        .get(e.id);
      expect(last).toBe(200);
    }
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `redeliver-job-${vp.width}x${vp.height}.png`);
    }
    // the host has no dead event left: the button is gone and a replay of the form queues nothing
    await page.goto(`${base}/console/deliveries`);
    expect(await page.locator("h2.mono").allTextContents()).not.toContain(host);
    await ctx.close();
  });

  it("behavior: an unattributed payment is assigned from the inbox and its order turns paid", async () => {
    const order = createOrder();
    const bound = new Set(daemon.db.prepare("SELECT address FROM bindings").pluck().all() as string[]);
    const free = pool.find((a) => !bound.has(a.toLowerCase()))!;
    await chain.kit.sendEth(free, weiDue(order));
    const payment = await until(
      () =>
        daemon.ledger
          .unattributedPayments({ limit: 10 })
          .payments.find((p) => p.address === free.toLowerCase()),
      (p) => p?.status === "confirmed",
    );
    expect(payment).toBeDefined();
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/inbox`);
    const card = page.locator(`[data-payment="${payment!.id}"]`);
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `inbox-${vp.width}x${vp.height}.png`);
    }
    await card.locator("input[name=order]").fill(order.merchant_order_id);
    await Promise.all([
      page.waitForURL(`${base}/console/orders/${order.id}?done=*`),
      card.locator("button").click(),
    ]);
    expect(await page.locator("h1 .badge").textContent()).toBe("paid");
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("paid");
    await ctx.close();
  });

  it("behavior: a state change without the CSRF token, or with a wrong one, is refused and changes nothing", async () => {
    const order = createOrder();
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    const cookie = (await ctx.cookies())[0]!;
    const post = (path: string, body: string) =>
      fetch(`${base}${path}`, {
        method: "POST",
        redirect: "manual",
        headers: {
          cookie: `depositd_console=${cookie.value}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body,
      });
    expect((await post(`/console/orders/${order.id}/cancel`, "confirm=yes")).status).toBe(403);
    expect(
      (await post(`/console/orders/${order.id}/cancel`, `confirm=yes&csrf=${"0".repeat(64)}`)).status,
    ).toBe(403);
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("pending");
    // with the token the page's form carries, the confirmation step and then the cancel
    await page.goto(`${base}/console/orders/${order.id}`);
    await Promise.all([page.waitForLoadState("load"), page.click("text=Cancel order…")]);
    expect(await page.locator("h1").textContent()).toContain("Cancel this order?");
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("pending");
    await shoot(page, "confirm-390x844.png");
    await Promise.all([
      page.waitForURL(`${base}/console/orders/${order.id}?done=*`),
      page.click("button.danger"),
    ]);
    expect(daemon.ledger.getOrder("shop", order.id)!.status).toBe("cancelled");
    await ctx.close();
  });

  it("behavior: the Orders screen filters by status, merchant, chain and time, alone or with a search, and names a bad field", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    const all = daemon.db
      .prepare("SELECT id, merchant, status, created_at FROM orders ORDER BY created_at DESC, id DESC")
      .all() as { id: string; merchant: string; status: string; created_at: number }[];
    const cancelled = all.filter((o) => o.status === "cancelled");
    expect(cancelled.length).toBeGreaterThan(0);
    const shown = async () => page.locator("table tbody tr td:first-child a").allTextContents();
    await page.goto(`${base}/console/orders`);
    await page.selectOption("#status", "cancelled");
    await page.selectOption("#merchant", "shop");
    await page.selectOption("#chain", "anvil");
    // the harness clock's day, as the datetime-local inputs take it (UTC)
    const day = new Date(time.now()).toISOString().slice(0, 10);
    await page.fill("#from", `${day}T00:00`);
    await page.fill("#to", `${day}T23:59`);
    await Promise.all([page.waitForURL(`${base}/console/orders?*`), page.click("form[role=search] button")]);
    const inDay = (o: { created_at: number }) => new Date(o.created_at).toISOString().slice(0, 10) === day;
    expect(await shown()).toEqual(cancelled.filter(inDay).map((o) => o.id));
    expect(await page.locator("h2").first().textContent()).toContain("status cancelled");
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `orders-filtered-${vp.width}x${vp.height}.png`);
    }
    await page.setViewportSize(VIEWPORTS[0]!);
    // a window before any order: nothing
    await page.goto(`${base}/console/orders?to=2000-01-01`);
    expect(await page.locator("main").textContent()).toContain("No orders found.");
    // another merchant has none
    await page.goto(`${base}/console/orders?merchant=other`);
    expect(await shown()).toEqual([]);
    // a search term with a status it does not have: no match; with its own: the order page
    const paid = all.find((o) => o.status === "paid")!;
    await page.goto(`${base}/console/orders?q=${paid.id}&status=cancelled`);
    expect(await shown()).toEqual([]);
    await page.goto(`${base}/console/orders?q=${paid.id}&status=paid&chain=anvil`);
    expect(page.url()).toBe(`${base}/console/orders/${paid.id}`);
    // a bad field is named, and the page still answers with what was valid
    const res = await page.goto(`${base}/console/orders?status=lost&from=yesterday`);
    expect(res!.status()).toBe(400);
    const alert = await page.locator("[role=alert]").textContent();
    expect(alert).toContain("status: “lost” is not one of");
    expect(alert).toContain("from: “yesterday” is not a date");
    expect(await shown()).toEqual(all.slice(0, 50).map((o) => o.id));
    await ctx.close();
  });

  it("behavior: the overview charts orders by status over 24 h and 7 d from order_status_hours, matching the orders", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/overview`);
    const now = time.now();
    const counts = (since: number) => {
      const out: Record<string, number> = {};
      for (const r of daemon.db
        .prepare("SELECT status, created_at FROM orders WHERE created_at >= ?")
        .all(since) as { status: string }[])
        out[r.status] = (out[r.status] ?? 0) + 1;
      return out;
    };
    const hour = Math.floor(now / 3_600_000);
    for (const [win, since] of [
      ["day", (hour - 23) * 3_600_000],
      ["week", (hour - 7 * 24 + 1) * 3_600_000],
    ] as const) {
      const fig = page.locator(`figure[data-window="${win}"]`);
      const legend: Record<string, number> = {};
      for (const li of await fig.locator("li").all())
        legend[(await li.getAttribute("data-status"))!] = Number(
          (await li.textContent())!.trim().split(/\s+/).pop(),
        );
      expect(legend, win).toEqual(counts(since));
      expect(Object.keys(legend).length).toBeGreaterThanOrEqual(2);
      // one coloured bar segment per status present, drawn in the SVG
      const drawn = new Set(
        await fig.locator("svg path").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-status"))),
      );
      expect([...drawn].sort()).toEqual(Object.keys(legend).sort());
      expect(await fig.locator("svg").getAttribute("aria-label")).toContain(`${legend.paid ?? 0} paid`);
    }
    await ctx.close();
  });

  it("behavior: an order's page shows where each option's rate came from; the overview shows the live rates, the unpriced pairs, the markets, and that audit is not enabled", async () => {
    await daemon.rates!.refresh();
    const eur = daemon.ledger.createOrder(
      "shop",
      {
        merchant_order_id: `M-${++seq}`,
        amount: "28.00",
        currency: "EUR",
        callback_url: "http://127.0.0.1:9/cb",
      },
      time.now(),
    ).order;
    expect(eur.options[0]!.rate_sources).toEqual([{ source: "coinbase", price: "2800.5" }]);
    const usd = createOrder();
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/orders/${eur.id}`);
    const at = eur.options[0]!.rate_at.replace(/\.\d{3}Z$/, "Z").replace("T", " ");
    expect((await page.locator("td.rate-sources").textContent())!.replace(/\s+/g, " ").trim()).toBe(
      `coinbase 2800.5 at ${at}`,
    );
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `order-rates-${vp.width}x${vp.height}.png`);
    }
    await page.setViewportSize(VIEWPORTS[0]!);
    await page.goto(`${base}/console/orders/${usd.id}`);
    expect(await page.locator("td.rate-sources").textContent()).toContain("static 3000");
    await page.goto(`${base}/console/overview`);
    const rates = page.locator('[data-section="rates"]');
    const text = async (sel: string) =>
      ((await rates.locator(sel).textContent()) ?? "").replace(/\s+/g, " ").trim();
    expect(await text('tr[data-pair="ETH/EUR"]')).toMatch(/^ETH\/EUR 2800\.5 coinbase 2800\.5 · \d+ s old$/);
    expect(await text('tr[data-pair="ETH/USD"]')).toBe("ETH/USD 3000 static table");
    expect(await text('tr[data-pair="ETH/GBP"]')).toContain("none");
    expect(await text('li[data-pair="ETH/GBP"]')).toMatch(/^ETH\/GBP 0 fresh source\(s\), 1 needed$/);
    expect(await rates.locator("h2 .badge").textContent()).toBe("unpriced");
    expect(await text('[data-provider="coinbase"]')).toMatch(/^1\/2 failed · last answer \d{4}-/);
    expect(await text('[data-provider="coinbase"]')).toContain("failing ETH/GBP");
    expect(await page.locator('[data-section="audit"]').textContent()).toContain("audit: not enabled");
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `overview-rates-${vp.width}x${vp.height}.png`);
    }
    await ctx.close();
  });

  it("behavior: the session expires on the harness clock; sign-out ends it at once", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    expect(page.url()).toBe(`${base}/console/overview`);
    time.advance(31 * 60_000);
    await page.goto(`${base}/console/orders`);
    expect(page.url()).toBe(`${base}/console/login?expired=1`);
    expect(await page.locator("[role=status]").textContent()).toContain("session has ended");
    await signIn(page);
    await Promise.all([page.waitForURL(`${base}/console/login?out=1`), page.click("header button")]);
    await page.goto(`${base}/console/overview`);
    expect(page.url()).toBe(`${base}/console/login?expired=1`);
    await ctx.close();
  });

  it("behavior: every screen has no serious or critical axe violation, and nothing is requested from another host", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await page.goto(`${base}/console/login`);
    expect(await axe(page)).toEqual([]);
    await signIn(page);
    const order = daemon.db.prepare("SELECT id FROM orders LIMIT 1").pluck().get() as string;
    const job = daemon.db.prepare("SELECT id FROM console_jobs LIMIT 1").pluck().get() as string;
    expect(job).toMatch(/^[A-Za-z0-9_-]{16}$/);
    for (const path of [
      `/console/deliveries/jobs/${job}`,
      "/console/orders?status=paid&merchant=shop&chain=anvil&from=2000-01-01&to=2100-01-01",
      "/console/orders?status=lost",
      "/console/overview",
      "/console/orders",
      `/console/orders/${order}`,
      "/console/deliveries",
      "/console/inbox",
    ]) {
      for (const vp of VIEWPORTS) {
        await page.setViewportSize(vp);
        await page.goto(`${base}${path}`);
        expect(await axe(page), `${path} at ${vp.width}`).toEqual([]);
        // nothing wider than the screen but the scrolling tables
        const overflow = await page.evaluate(() => {
          const g = globalThis as unknown as {
            document: { documentElement: { scrollWidth: number } };
            innerWidth: number;
          };
          return g.document.documentElement.scrollWidth - g.innerWidth;
        });
        expect(overflow, `${path} at ${vp.width}`).toBeLessThanOrEqual(0);
      }
    }
    const res = await fetch(`${base}/console/login`);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((u) => !u.startsWith(base))).toEqual([]);
    await ctx.close();
  });

  it("behavior: an RPC URL whose proxy answers 429 shows throttled with its error rate, and the URL table fits its card", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    throttler.setFailRate(1);
    const row = page.locator(`[data-chain="anvil"] tr[data-url="${displayUrl(throttler.url)}"]`);
    const direct = page.locator(`[data-chain="anvil"] tr[data-url="${displayUrl(chain.anvil.url)}"]`);
    const states = await until(
      async () => {
        await page.goto(`${base}/console/overview`);
        return `${await row.locator(".badge").textContent()} ${await direct.locator(".badge").textContent()}`;
      },
      (s) => s === "throttled ok",
    );
    expect(states).toBe("throttled ok");
    expect(throttler.stats["429"]).toBeGreaterThan(0);
    // error rate, then errors / requests and how many of them were 429s
    expect(await row.locator("td").nth(2).textContent()).toMatch(/\d+%\s+\d+\/\d+ · \d+×429/);
    throttler.setFailRate(0);
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      // every column of the RPC URL table is inside its card: nothing clipped at the card's edge
      const clipped = await page.evaluate(() => {
        const g = globalThis as unknown as {
          document: { querySelectorAll(s: string): { scrollWidth: number; clientWidth: number }[] };
        };
        return [...g.document.querySelectorAll(".scroll.fit")].map((e) => e.scrollWidth - e.clientWidth);
      });
      expect(clipped.length, `${vp.width}`).toBeGreaterThan(0);
      for (const c of clipped) expect(c, `${vp.width}`).toBeLessThanOrEqual(0);
      await shoot(page, `overview-throttled-${vp.width}x${vp.height}.png`);
    }
    await ctx.close();
  });

  it("behavior: a chain whose anvil stopped turns behind on the overview", async () => {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await signIn(page);
    await page.goto(`${base}/console/overview`);
    const badge = page.locator('[data-chain="anvil"] h2 .badge');
    expect(await badge.textContent()).toBe("ok");
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `overview-${vp.width}x${vp.height}.png`);
    }
    await chain.anvil.stop();
    // the timer's minute samples (the timer is off here: the test takes them as it would)
    for (let i = 0; i < 4; i++) {
      time.advance(60_000);
      recordLagSamples(daemon.db, testCommon(config, time.now), daemon.health(), time.now());
    }
    // passes fail from now on; the harness clock moves past the silence limit (10 s)
    time.advance(15_000);
    const rpcBadge = page.locator(
      `[data-chain="anvil"] tr[data-url="${displayUrl(chain.anvil.url)}"] .badge`,
    );
    const state = await until(
      async () => {
        await page.reload();
        return `${await badge.textContent()} ${await rpcBadge.textContent()}`;
      },
      (s) => s === "behind failing",
    );
    expect(state).toBe("behind failing");
    expect(await page.locator('[data-chain="anvil"]').textContent()).toContain("no good pass for");
    for (const vp of VIEWPORTS) {
      await page.setViewportSize(vp);
      await shoot(page, `overview-behind-${vp.width}x${vp.height}.png`);
    }
    await ctx.close();
  });
});
