// Outage-aware time on a real anvil: deadlines follow what the watcher has scanned, not the wall
// clock. The daemon is "stopped" (its harness closed) for longer than valid_minutes +
// late_window_minutes while the customer pays on time; the harness clock and the chain's block
// times move together, set by the test — no sleeps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestAnvil } from "../helpers/anvil.js";
import { clock, evmPoolText } from "../helpers/config.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";

const MIN = 60_000;
const USDT = (n: number) => BigInt(n) * 1_000_000n;

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let token: string;
let dir: string;

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  ({ anvil, kit, token } = chain);
  dir = mkdtempSync(join(tmpdir(), "depositd-outage-"));
});
afterAll(async () => {
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** the chain's newest block time in ms (the test's clock starts from the chain it started) */
async function chainTime(): Promise<number> {
  const b = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
  return Number(b.timestamp) * 1000;
}
/** the next block is stamped at `ms` */
const stampNext = (ms: number) => anvil.rpc("evm_setNextBlockTimestamp", [Math.floor(ms / 1000)]);

describe("a daemon stopped longer than valid_minutes + late_window_minutes", () => {
  it("default: an on-time payment found after restart pays its order; an unpaid order expires once the chain has passed its deadline", async () => {
    const c = clock((await chainTime()) + 1000);
    const dbPath = join(dir, "outage.sqlite");
    const pool = evmPoolText(4);
    const open = () =>
      createEvmWatch({
        rpc: [anvil.url],
        token,
        startBlock: 1,
        dbPath,
        now: c.now,
        lateWindowMinutes: 2,
        poolText: pool,
      });
    let w = open();
    await w.sync();
    const paid = w.createOrder({ merchant_order_id: "O-paid", amount: "10", valid_minutes: 2 });
    const unpaid = w.createOrder({ merchant_order_id: "O-unpaid", amount: "10", valid_minutes: 2 });
    const expiresAt = Date.parse(paid.expires_at);
    const lateUntil = expiresAt + 2 * MIN;
    await w.close(); // the daemon stops

    // The customer pays on time, one minute in; the chain goes on far past both deadlines.
    await stampNext(c.now() + MIN);
    const tx = await kit.sendToken(token, paid.options[0]!.address, USDT(10), kit.accounts[1]);
    await stampNext(lateUntil + 30 * MIN);
    await kit.mine(1);
    c.set(lateUntil + 31 * MIN); // down for > valid + late window

    w = open();
    // The timer's first pass comes before the watcher has reported: nothing expires, no binding ends.
    expect(w.ledger.tick(c.now())).toMatchObject({ expired: 0, released: 0 });
    expect(w.order(paid.id).status).toBe("pending");
    expect(w.order(unpaid.id).status).toBe("pending");
    expect(w.progress.waiting("anvil", c.now())).toEqual({ orders: 2, bindings: 2 });

    await w.sync();
    expect(w.order(paid.id)).toMatchObject({ status: "paid", paid_amount: "10" });
    expect(w.payments(paid.id)).toEqual([expect.objectContaining({ txid: tx.hash, late: false })]);
    expect(w.ledger.unattributedPayments(10)).toEqual([]);
    // The chain has passed both deadlines now: the unpaid order expires, both bindings end.
    expect(w.ledger.tick(c.now())).toMatchObject({ expired: 1, released: 2 });
    expect(w.order(unpaid.id).status).toBe("expired");
    expect(w.eventTypes(paid.id)).toEqual(["payment.seen", "payment.confirmed", "order.paid"]);
    expect(w.eventTypes(unpaid.id)).toEqual(["order.expired"]);
    await w.close();
  });

  it("behavior: while the chain lags behind expires_at the order waits; it expires once a scanned block is past it", async () => {
    const c = clock((await chainTime()) + 1000);
    const w = createEvmWatch({
      rpc: [anvil.url],
      token,
      startBlock: (await kit.blockNumber()) + 1,
      now: c.now,
    });
    try {
      const o = w.createOrder({ merchant_order_id: "O-lag", amount: "10", valid_minutes: 1 });
      await stampNext(c.now() + 10_000);
      await kit.mine(1);
      await w.sync();
      c.advance(5 * MIN); // the wall clock is past expires_at, the newest block is not
      w.ledger.tick(c.now());
      expect(w.order(o.id).status).toBe("pending");
      expect(w.progress.waiting("anvil", c.now()).orders).toBe(1);
      await stampNext(Date.parse(o.expires_at)); // exactly at the deadline: may still hold on-time payments
      await kit.mine(1);
      await w.sync();
      w.ledger.tick(c.now());
      expect(w.order(o.id).status).toBe("pending");
      await stampNext(Date.parse(o.expires_at) + 1000);
      await kit.mine(1);
      await w.sync();
      w.ledger.tick(c.now());
      expect(w.order(o.id).status).toBe("expired");
      expect(w.progress.waiting("anvil", c.now()).orders).toBe(0);
    } finally {
      await w.close();
    }
  });
});
