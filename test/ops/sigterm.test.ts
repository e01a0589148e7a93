// SIGTERM in the middle of a catch-up batch and of slow deliveries: the daemon drains and exits 0,
// and after a restart every payment is stored once and every event is delivered. The metrics an
// operator alerts on are present after payments.
import { createServer } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pino } from "pino";
import { freePort } from "../../src/dev/anvil.js";
import { createCommon } from "../../src/common.js";
import { loadConfig } from "../../src/config/load.js";
import { preparePools } from "../../src/daemon.js";
import { openDatabase } from "../../src/db/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { verifySignature } from "../../src/notify/verify.js";
import type { TestAnvil } from "../helpers/anvil.js";
import { CALLBACK_SECRET } from "../helpers/config.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import {
  apiCall,
  integrityCheck,
  sleep,
  spawnDaemon,
  tempDir,
  waitFor,
  withDb,
  writeDaemonConfig,
} from "../chaos/harness.js";

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let token: string;
beforeAll(async () => {
  chain = await startTokenChain();
  ({ anvil, kit, token } = chain);
});
afterAll(() => chain.stop());

/** a receiver that takes 300 ms to answer and remembers every event id it acknowledged */
async function slowReceiver() {
  const acked = new Map<string, string>();
  let bad = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      if (!verifySignature(body, String(req.headers["depositd-signature"]), [CALLBACK_SECRET])) bad++;
      setTimeout(() => {
        acked.set(String(req.headers["depositd-event-id"]), body);
        res.writeHead(204).end();
      }, 300);
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}/hook`,
    acked,
    bad: () => bad,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

it("behavior: SIGTERM during a batch and during deliveries loses nothing; metrics are present", async () => {
  const tmp = tempDir("depositd-sigterm-");
  const receiver = await slowReceiver();
  try {
    const port = await freePort();
    const start = (await kit.blockNumber()) + 1;
    const cfg = writeDaemonConfig({
      dir: tmp.dir,
      port,
      rpc: [anvil.url],
      token,
      startBlock: start,
      poolSize: 12,
      chain: { blocks_per_scan: 5, poll_interval_ms: 100 },
      notify: { concurrency: 2, per_host_concurrency: 2 },
    });
    // the chain moves first: payments to 12 pool addresses, spread over ~100 blocks
    const paid: string[] = [];
    for (const [i, address] of cfg.pool.entries()) {
      const tx =
        i % 2
          ? await kit.sendEth(address, 10n ** 15n, kit.accounts[1])
          : await kit.sendToken(token, address, 1_000_000n, kit.accounts[1]);
      paid.push(tx.hash);
      await kit.mine(8);
    }

    // orders on half the addresses exist before any watcher runs: created over HTTP while the
    // watcher scans, a loaded machine could scan a payment before its address is bound
    const config = loadConfig(cfg.path, {});
    const common = createCommon(config, { logger: pino({ level: "silent" }) });
    const db = openDatabase(config.database, { synchronous: "NORMAL" });
    preparePools(db, common);
    const ledger = createLedger(db, common, createCatalog(config));
    // orders bind the first free addresses of the pool, in file order
    for (let i = 0; i < 6; i++) {
      const r = ledger.createOrder(
        "shop",
        {
          merchant_order_id: `S-${i}`,
          amount: i % 2 ? "0.001" : "1",
          currency: i % 2 ? "ETH" : "USDT-ERC20",
          callback_url: receiver.url,
        },
        common.now(),
      );
      expect(r.created).toBe(true);
    }
    db.close();

    // first run: stop it mid catch-up with deliveries in flight
    const a = spawnDaemon(cfg.path, port);
    await a.ready;
    await waitFor(
      "the first payments to be stored",
      () =>
        withDb(
          cfg.dbPath,
          (db) => (db.prepare("SELECT count(*) FROM payments").pluck().get() as number) >= 2,
        ),
      20_000,
      20,
    );
    const midway = withDb(
      cfg.dbPath,
      (db) => db.prepare("SELECT count(*) FROM payments").pluck().get() as number,
    );
    expect(midway).toBeLessThan(paid.length); // still catching up
    await a.kill("SIGTERM");
    expect((await a.exited).code).toBe(0);
    expect(a.logs.some((l) => l.msg === "stopped cleanly")).toBe(true);
    expect(integrityCheck(cfg.dbPath)).toBe("ok");

    // second run: everything arrives, once
    const b = spawnDaemon(cfg.path, port);
    await b.ready;
    await waitFor(
      "all payments stored",
      () =>
        withDb(
          cfg.dbPath,
          (db) =>
            db.prepare("SELECT count(*) FROM payments WHERE status = 'confirmed'").pluck().get() ===
            paid.length,
        ),
      30_000,
      50,
    );
    await waitFor(
      "every event with a URL delivered",
      () =>
        withDb(
          cfg.dbPath,
          (db) => db.prepare("SELECT count(*) FROM events WHERE state = 'pending'").pluck().get() === 0,
        ),
      30_000,
      50,
    );
    const stored = withDb(
      cfg.dbPath,
      (db) => db.prepare("SELECT txid FROM payments ORDER BY txid").pluck().all() as string[],
    );
    expect(stored).toEqual([...paid].sort());
    const events = withDb(
      cfg.dbPath,
      (db) =>
        db.prepare("SELECT id, state FROM events WHERE url IS NOT NULL").all() as {
          id: string;
          state: string;
        }[],
    );
    expect(events.length).toBeGreaterThanOrEqual(18); // 6 orders × (seen, confirmed, paid)
    for (const e of events) {
      expect(e.state).toBe("delivered");
      expect(receiver.acked.has(e.id)).toBe(true);
    }
    expect(receiver.bad()).toBe(0);
    const orders = (await apiCall(b.base, "GET", "/v1/orders?limit=10"))!.body.orders as { status: string }[];
    expect(orders.map((o) => o.status)).toEqual(Array(6).fill("paid"));

    const metrics = await (await fetch(`${b.base}/metrics`)).text();
    for (const line of [
      'depositd_payments{chain="anvil",status="confirmed"} 12',
      'depositd_orders{status="paid"} 6',
      'depositd_pool_addresses{chain="anvil",state="bound"} 6',
      'depositd_notify_attempts_total{result="delivered"}',
      'depositd_chain_head{chain="anvil"}',
      'depositd_chain_lag_blocks{chain="anvil"}',
      "depositd_rpc_requests_total{",
      "depositd_sqlite_write_seconds_bucket{",
      "depositd_outbox_oldest_pending_age_seconds 0",
      "depositd_notify_outbox_depth",
    ]) {
      expect(metrics).toContain(line);
    }
    await b.kill("SIGTERM");
    expect((await b.exited).code).toBe(0);
    await sleep(10);
  } finally {
    await receiver.close();
    tmp.remove();
  }
});
