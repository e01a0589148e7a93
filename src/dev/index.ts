// `depositd dev`: the embedded default. A local anvil, a test ERC-20, a dev config and an xpub
// pool, the daemon, a built-in callback receiver, and a demo order paid end to end.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync, readFileSync, existsSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, resolve } from "node:path";
import { HDNodeWallet, Interface } from "ethers";
import { stringify } from "yaml";
import { type AnvilProcess, freePort, spawnAnvil } from "./anvil.js";
import { deployTestToken, loadTestToken } from "./test-token.js";
import { createCommon, createLogger } from "../common.js";
import { validateConfig } from "../config/load.js";
import { parseAmount } from "../core/amount.js";
import { type Daemon, startDaemon } from "../daemon.js";
import { type PriceServer, startPriceServer } from "./prices.js";
import { verifySignature } from "../notify/verify.js";
import { type JsonRpcClient, createJsonRpc } from "../rpc/jsonrpc.js";

/** Anvil's well-known dev mnemonic funds the payer; the pool comes from a different, public test mnemonic. */
const POOL_MNEMONIC =
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
export const DEV_API_KEY = "dev-key-not-secret";
const DEV_SECRET = "whsec_dev_not_secret_0123456789";

export interface DevOptions {
  dir: string;
  port: number;
  /** run the demo order, print, then stop everything (tests, CI) */
  exitAfterDemo?: boolean;
  demo?: boolean;
  print?: (line: string) => void;
}

export interface DevState {
  rpc: string;
  token: string;
  payer: string;
  api: string;
}

export interface DevRun {
  daemon: Daemon;
  anvil: AnvilProcess;
  receiver: Server;
  received: { type: string; seq: number | null; status: string | undefined }[];
  stop(): Promise<void>;
}

/** The dev node's JSON-RPC client: one local URL, no request budget to speak of, and one try
 *  (a lost answer to eth_sendTransaction must not send the payment twice). */
function devRpc(url: string): JsonRpcClient {
  return createJsonRpc({ chain: "dev", urls: [url], timeoutMs: 30_000, tries: 1, maxRps: 1_000 });
}

async function waitReceipt(rpc: JsonRpcClient, hash: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await rpc.call("eth_getTransactionReceipt", [hash])) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`transaction ${hash} was not mined`);
}

/** Send a payment from anvil's funded dev account (used by the demo and `depositd dev pay`). */
export async function devPay(
  state: DevState,
  to: string,
  asset: "ETH" | "USDT-DEV",
  amount: string,
): Promise<string> {
  const rpc = devRpc(state.rpc);
  try {
    return await payFrom(rpc, state, to, asset, amount);
  } finally {
    await rpc.close();
  }
}

async function payFrom(
  rpc: JsonRpcClient,
  state: DevState,
  to: string,
  asset: "ETH" | "USDT-DEV",
  amount: string,
): Promise<string> {
  let tx: Record<string, string>;
  if (asset === "ETH") {
    tx = { from: state.payer, to, value: "0x" + parseAmount(amount, 18).toString(16) };
  } else {
    const data = new Interface(loadTestToken().abi).encodeFunctionData("transfer", [
      to,
      parseAmount(amount, 6),
    ]);
    tx = { from: state.payer, to: state.token, data };
  }
  const hash = await rpc.call<string>("eth_sendTransaction", [tx]);
  await waitReceipt(rpc, hash);
  return hash;
}

export async function runDev(o: DevOptions): Promise<DevRun> {
  const print = o.print ?? ((l: string) => console.log(l));
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  // A dev chain is new on every run: so is its database.
  for (const f of ["depositd.sqlite", "depositd.sqlite-wal", "depositd.sqlite-shm"])
    rmSync(join(dir, f), { force: true });

  print("depositd dev: starting a local EVM node (anvil) …");
  const anvil = await spawnAnvil({ chainId: 31337, blockTime: 1 });
  const rpc = devRpc(anvil.url);
  const accounts = await rpc.call<string[]>("eth_accounts");
  const owner = accounts[0]!;
  const payer = accounts[1]!;
  const token = await deployTestToken((m, p) => rpc.call(m, p), owner, {
    name: "Dev Tether",
    symbol: "USDT-DEV",
    decimals: 6,
  });
  const mint = new Interface(loadTestToken().abi).encodeFunctionData("mint", [payer, 1_000_000n * 10n ** 6n]);
  await waitReceipt(
    rpc,
    await rpc.call<string>("eth_sendTransaction", [{ from: owner, to: token, data: mint }]),
  );
  const start = Number(await rpc.call<string>("eth_blockNumber"));
  await rpc.close();

  // The daemon only ever sees the account-level extended PUBLIC key.
  const xpub = HDNodeWallet.fromPhrase(POOL_MNEMONIC, undefined, "m/44'/60'/0'").neuter().extendedKey;
  const received: DevRun["received"] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const ok = verifySignature(raw, String(req.headers["depositd-signature"] ?? ""), [DEV_SECRET]);
      if (!ok) {
        res.writeHead(400).end("bad signature");
        return;
      }
      const ev = JSON.parse(raw.toString("utf8")) as {
        type: string;
        seq: number | null;
        order?: { status?: string; merchant_order_id?: string; paid_amount?: string };
      };
      received.push({ type: ev.type, seq: ev.seq, status: ev.order?.status });
      print(
        `  callback ✓ signature ok  ${ev.type.padEnd(22)} seq=${ev.seq ?? "-"}  order ${ev.order?.merchant_order_id ?? "-"} is ${ev.order?.status ?? "-"} (paid ${ev.order?.paid_amount ?? "0"})`,
      );
      res.writeHead(204).end();
    });
  });
  const receiverPort = await freePort();
  await new Promise<void>((r) => receiver.listen(receiverPort, "127.0.0.1", r));
  const callbackUrl = `http://127.0.0.1:${receiverPort}/depositd`;

  // Live ETH rates from three local "markets" (real Coinbase, Kraken and Bitstamp shapes) that
  // wander around one price: the demo shows live pricing without any network.
  const markets = await Promise.all(
    ["3000.10", "3000.40", "2999.70"].map((p) =>
      startPriceServer({ prices: { "ETH/USD": p }, now: Date.now }),
    ),
  );
  const walk = startPriceWalk(markets, 300_000);

  const raw = {
    database: { path: join(dir, "depositd.sqlite"), synchronous: "NORMAL" },
    api: {
      listen: `127.0.0.1:${o.port}`,
      keys: [{ name: "dev", sha256: createHash("sha256").update(DEV_API_KEY).digest("hex") }],
    },
    checkout: { listen: `127.0.0.1:${await freePort()}` },
    notify: {
      secrets: [{ id: "dev", value: DEV_SECRET }],
      allow_private_targets: true,
      unattributed_url: callbackUrl,
      timeout_ms: 5000,
      retry_schedule_s: [1, 5, 30, 120],
    },
    orders: { valid_minutes: 30, late_window_minutes: 60, underpaid_tolerance: "0", timer_interval_ms: 1000 },
    rates: {
      static: { USD: { "USDT-DEV": "1" } },
      live: {
        providers: ["coinbase", "kraken", "bitstamp"].map((kind, i) => ({ kind, url: markets[i]!.url })),
        min_sources: 2,
        max_spread: "1%",
        max_age_seconds: 10,
        refresh_seconds: 2,
      },
    },
    chains: [
      {
        id: "anvil",
        kind: "evm",
        rpc: [anvil.url],
        chain_id: 31337,
        poll_interval_ms: 500,
        start_block: start,
        pool: { source: "xpub", xpub, lookahead: 20, low_water: 5 },
      },
    ],
    assets: [
      { id: "ETH", chain: "anvil", decimals: 18, confirmations: 2 },
      { id: "USDT-DEV", chain: "anvil", contract: token, decimals: 6, confirmations: 2 },
    ],
    log: { level: "warn" },
  };
  writeFileSync(
    join(dir, "depositd.yaml"),
    `# written by \`depositd dev\`; anvil at ${anvil.url}\n${stringify(raw)}`,
  );
  const state: DevState = { rpc: anvil.url, token, payer, api: `http://127.0.0.1:${o.port}` };
  writeFileSync(join(dir, "dev-state.json"), JSON.stringify(state, null, 2));

  const config = validateConfig(raw, {});
  const common = createCommon(config, { logger: createLogger("warn") });
  const daemon = await startDaemon(common);
  const api = `http://${daemon.address.host}:${daemon.address.port}`;
  await daemon.rates?.refresh();
  const eth = daemon.rates?.decision("ETH", "USD");

  print("");
  print(`  anvil        ${anvil.url} (chain id 31337, a block every second)`);
  print(`  test token   USDT-DEV at ${token}`);
  print(`  config       ${join(dir, "depositd.yaml")}`);
  print(`  API          ${api}   key: ${DEV_API_KEY}`);
  print(`  receiver     ${callbackUrl} (checks every signature)`);
  print(
    `  rates        ETH/USD ${eth?.ok ? eth.rate : "none yet"} — median of ${markets.length} local price servers ` +
      `(coinbase, kraken, bitstamp shapes), refreshed every 2 s; GET ${api}/v1/rates`,
  );
  print("");

  const stop = async () => {
    clearInterval(walk);
    await daemon.stop();
    await Promise.all(markets.map((m) => m.close()));
    await new Promise<void>((r) => receiver.close(() => r()));
    await anvil.stop();
  };
  const run: DevRun = { daemon, anvil, receiver, received, stop };

  if (o.demo !== false) await demo(api, state, callbackUrl, print, received);

  print("");
  print("Try it yourself (in another terminal):");
  print(
    `  curl -s -X POST ${api}/v1/orders -H 'authorization: Bearer ${DEV_API_KEY}' -H 'content-type: application/json' \\`,
  );
  print(
    `    -d '{"merchant_order_id":"mine-1","amount":"5","currency":"USD","callback_url":"${callbackUrl}"}'`,
  );
  print(`  npx depositd dev pay --to <address from the order> --asset USDT-DEV --amount 5`);
  print(`  curl -s ${api}/v1/orders/<order id> -H 'authorization: Bearer ${DEV_API_KEY}'`);
  print("Ctrl-C stops the node and the daemon.");

  if (o.exitAfterDemo) {
    await stop();
    return run;
  }
  const shutdown = () => void stop().then(() => process.exit(0));
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  return run;
}

async function demo(
  api: string,
  state: DevState,
  callbackUrl: string,
  print: (l: string) => void,
  received: DevRun["received"],
): Promise<void> {
  const headers = { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json" };
  print("Demo: an order of 5 USD, paid with 5 USDT-DEV from anvil's dev account");
  const res = await fetch(`${api}/v1/orders`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      merchant_order_id: `demo-${Date.now()}`,
      amount: "5",
      currency: "USD",
      callback_url: callbackUrl,
    }),
  });
  const order = (await res.json()) as {
    id: string;
    status: string;
    checkout_url: string;
    options: { asset: string; address: string; amount_due: string }[];
  };
  if (res.status !== 201) throw new Error(`demo order failed: ${JSON.stringify(order)}`);
  const option = order.options.find((x) => x.asset === "USDT-DEV")!;
  print(
    `  order ${order.id}: pay ${option.amount_due} USDT-DEV to ${option.address} (or ${order.options.find((x) => x.asset === "ETH")?.amount_due} ETH)`,
  );
  print(`  the customer's page: ${order.checkout_url}`);
  const tx = await devPay(state, option.address, "USDT-DEV", option.amount_due);
  print(`  paid: tx ${tx}`);
  let last = order.status;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const r = (await (await fetch(`${api}/v1/orders/${order.id}`, { headers })).json()) as { status: string };
    if (r.status !== last) {
      print(`  status: ${last} → ${r.status}`);
      last = r.status;
    }
    if (last === "paid" && received.some((e) => e.type === "order.paid")) break;
    await new Promise((r2) => setTimeout(r2, 200));
  }
  if (last !== "paid") throw new Error(`demo order did not become paid (status ${last})`);
  print(`Demo done: the order is paid and the shop got ${received.length} signed callbacks.`);
}

/** Move the markets' price a little every second, each market a few cents apart (integer cents). */
function startPriceWalk(markets: PriceServer[], startCents: number): NodeJS.Timeout {
  let mid = startCents;
  const cents = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
  const t = setInterval(() => {
    mid = Math.max(100_00, mid + Math.round((Math.random() - 0.5) * mid * 0.001));
    for (const m of markets) m.set("ETH/USD", cents(mid + Math.round((Math.random() - 0.5) * mid * 0.0004)));
  }, 1000);
  t.unref();
  return t;
}

/** `depositd dev pay`: pay from the running dev node's funded account. */
export async function runDevPay(o: {
  dir: string;
  to: string;
  asset: string;
  amount: string;
}): Promise<void> {
  const file = join(resolve(o.dir), "dev-state.json");
  if (!existsSync(file))
    throw new Error(`no running dev environment found (${file}); start \`depositd dev\` first`);
  const state = JSON.parse(readFileSync(file, "utf8")) as DevState;
  if (o.asset !== "ETH" && o.asset !== "USDT-DEV") throw new Error("--asset must be ETH or USDT-DEV");
  const tx = await devPay(state, o.to, o.asset, o.amount);
  console.log(`sent ${o.amount} ${o.asset} to ${o.to}: ${tx}`);
}
