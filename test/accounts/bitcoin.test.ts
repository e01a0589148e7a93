// A deposit account on Bitcoin: the real adapter against a regtest bitcoind.
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BitcoindNode, startBitcoind } from "../helpers/bitcoind.js";
import { createWatchHarness } from "../helpers/watch-harness.js";

let node: BitcoindNode;

beforeAll(async () => {
  node = await startBitcoind();
  await node.fund();
});
afterAll(async () => {
  await node?.stop();
});

it("default: a BTC deposit is seen in the mempool, then confirmed at two confirmations", async () => {
  const pool: string[] = [];
  for (let i = 0; i < 2; i++) pool.push(await node.newAddress("bech32"));
  const h = createWatchHarness({
    poolText: pool.join("\n"),
    chain: {
      id: "btc",
      kind: "bitcoin",
      backend: "core",
      network: "regtest",
      rpc: [node.rpcUrl],
      mempool: true,
      poll_interval_ms: 50,
      start_block: (await node.height()) + 1,
      request_timeout_ms: 2000,
      pool: { source: "static", cooldown_minutes: 10, low_water: 0 },
    },
    assets: [{ id: "BTC", chain: "btc", decimals: 8, confirmations: 2 }],
  });
  try {
    const { account } = h.ledger.createAccount(
      "shop",
      { customer_id: "b-1", chains: ["btc"], callback_url: "http://127.0.0.1:9/cb" },
      h.common.now(),
    );
    const address = account.addresses[0]!.address;
    expect(address).toMatch(/^bcrt1/);
    const txid = await node.send(address, "0.00123456");
    await h.sync();
    const deposits = () => h.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits;
    expect(deposits()).toEqual([
      expect.objectContaining({
        txid,
        asset: "BTC",
        amount: "0.00123456",
        status: "seen",
        block_number: null,
      }),
    ]);
    await node.mine(2);
    await h.sync();
    expect(deposits()).toEqual([expect.objectContaining({ txid, status: "confirmed", confirmations: 2 })]);
    const types = h.db
      .prepare("SELECT type FROM events WHERE account_id = ? ORDER BY seq")
      .pluck()
      .all(account.id);
    expect(types).toEqual(["deposit.seen", "deposit.confirmed"]);
  } finally {
    await h.close();
  }
});
