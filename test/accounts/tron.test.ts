// A deposit account on Tron: the real adapter against the local TRON HTTP API test server.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type TronServer, startTronServer } from "../helpers/tron-server.js";
import { TEST_EPOCH_MS } from "../helpers/config.js";
import { createWatchHarness } from "../helpers/watch-harness.js";

const USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
let server: TronServer;
let clockMs = TEST_EPOCH_MS;

beforeAll(async () => {
  server = await startTronServer({ initialBlocks: 5, solidLag: 2, clock: () => clockMs });
});
afterAll(() => server.stop());

it("default: a USDT-TRC20 deposit is seen, then confirmed once solidified", async () => {
  const payer = server.chain.newAccount();
  const pool = Array.from({ length: 3 }, () => server.chain.newAccount());
  const h = createWatchHarness({
    now: () => clockMs,
    poolText: pool.map((a) => a.address).join("\n"),
    chain: {
      id: "tron",
      kind: "tron",
      rpc: [server.url],
      poll_interval_ms: 50,
      start_block: server.chain.head + 1,
      request_timeout_ms: 2000,
      pool: { source: "static", cooldown_minutes: 10, low_water: 0, purpose: "accounts" },
    },
    assets: [
      { id: "TRX", chain: "tron", decimals: 6, confirmations: 1 },
      { id: "USDT-TRC20", chain: "tron", contract: USDT, decimals: 6, confirmations: "solidified" },
    ],
  });
  try {
    const { account } = h.ledger.createAccount(
      "shop",
      { customer_id: "t-1", callback_url: "http://127.0.0.1:9/cb" },
      clockMs,
    );
    const to = account.addresses[0]!.address;
    expect(account.addresses).toEqual([{ chain: "tron", address: pool[0]!.address }]);
    const txid = server.chain.transferTrc20(USDT, payer, to, 12_500_000n);
    clockMs += 3000;
    server.chain.mine(1);
    await h.sync();
    const seen = h.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits;
    expect(seen).toEqual([
      expect.objectContaining({ txid, asset: "USDT-TRC20", amount: "12.5", status: "seen" }),
    ]);
    clockMs += 6000;
    server.chain.mine(2); // the solidified head reaches the deposit's block
    await h.sync();
    expect(h.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits[0]!.status).toBe("confirmed");
    const types = h.db
      .prepare("SELECT type FROM events WHERE account_id = ? ORDER BY seq")
      .pluck()
      .all(account.id);
    expect(types).toEqual(["deposit.seen", "deposit.confirmed"]);
  } finally {
    await h.close();
  }
});
