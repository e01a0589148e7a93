// End to end on a real anvil: transfers → payments → order statuses → outbox events.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestAnvil } from "../helpers/anvil.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";
import { startFlakyProxy } from "../helpers/flaky-proxy.js";

const USDT = (n: number) => BigInt(Math.round(n * 1e6));
const ETH = (wei: string) => BigInt(wei);

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let token: string;
let otherToken: string;
let snapshot: string;
let w: ReturnType<typeof createEvmWatch>;

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  ({ anvil, kit, token } = chain);
  otherToken = await kit.deployToken({ decimals: 6, symbol: "OTHER" });
  await kit.mintToken(otherToken, kit.accounts[1]!, USDT(1_000_000));
});
afterAll(async () => {
  await chain.stop();
});
beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
  w = createEvmWatch({ rpc: [anvil.url], token, startBlock: (await kit.blockNumber()) + 1 });
});
afterEach(async () => {
  await w.close();
  await anvil.rpc("evm_revert", [snapshot]);
});

const payer = () => kit.accounts[1]!;

describe("ERC-20 deposits", () => {
  it("default: an exact payment makes the order paid, with payment and order events in seq order", async () => {
    const o = w.createOrder({ merchant_order_id: "T-1", amount: "10" });
    const addr = o.options[0]!.address;
    const tx = await kit.sendToken(token, addr, USDT(10), payer());
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "10" });
    expect(w.payments(o.id)).toEqual([
      expect.objectContaining({
        txid: tx.hash,
        index: tx.logIndexes[0],
        amount: "10",
        status: "confirmed",
        asset: "USDT-ERC20",
        block_hash: tx.blockHash,
      }),
    ]);
    expect(w.eventTypes(o.id)).toEqual(["payment.seen", "payment.confirmed", "order.paid"]);
  });

  it("behavior: two partial payments → partially_paid, then paid", async () => {
    const o = w.createOrder({ merchant_order_id: "T-2", amount: "10" });
    const addr = o.options[0]!.address;
    await kit.sendToken(token, addr, USDT(4), payer());
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "partially_paid", paid_amount: "4" });
    await kit.sendToken(token, addr, USDT(6), payer());
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "10" });
    expect(w.eventTypes(o.id).filter((t) => t.startsWith("order."))).toEqual([
      "order.partially_paid",
      "order.paid",
    ]);
  });

  it("behavior: an overpayment → overpaid; one base unit short → partially_paid", async () => {
    const over = w.createOrder({ merchant_order_id: "T-3", amount: "10" });
    const short = w.createOrder({ merchant_order_id: "T-3b", amount: "10" });
    await kit.sendToken(token, over.options[0]!.address, USDT(10) + 1n, payer());
    await kit.sendToken(token, short.options[0]!.address, USDT(10) - 1n, payer());
    await w.sync();
    expect(w.order(over.id).status).toBe("overpaid");
    expect(w.order(short.id)).toMatchObject({ status: "partially_paid", paid_amount: "9.999999" });
  });

  it("behavior: below the asset's confirmations the order is processing only; paid when the block completes them", async () => {
    await w.close();
    w = createEvmWatch({
      rpc: [anvil.url],
      token,
      startBlock: (await kit.blockNumber()) + 1,
      tokenConfirmations: 3,
    });
    const o = w.createOrder({ merchant_order_id: "T-4", amount: "10" });
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "processing", paid_amount: "0" });
    expect(w.order(o.id).options[0]).toMatchObject({ paid: "0", pending: "10" });
    await kit.mine(1);
    await w.sync();
    expect(w.order(o.id).status).toBe("processing");
    await kit.mine(1);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    expect(w.payments(o.id)[0]).toMatchObject({ status: "confirmed", confirmations: 3 });
  });

  it("behavior: a failed token transfer and a transfer of an unwatched token count for nothing", async () => {
    const o = w.createOrder({ merchant_order_id: "T-5", amount: "10" });
    const addr = o.options[0]!.address;
    const failed = await kit.sendTokenReverting(token, addr, USDT(10), payer());
    expect(failed.status).toBe("reverted");
    await kit.sendToken(otherToken, addr, USDT(10), payer());
    await w.sync();
    expect(w.order(o.id).status).toBe("pending");
    expect(w.payments(o.id)).toEqual([]);
  });

  it("behavior: a payment to a pool address with no order is stored unattributed and reported", async () => {
    const free = w.pool[w.pool.length - 1]!;
    const tx = await kit.sendToken(token, free, USDT(3), payer());
    await w.sync();
    const un = w.ledger.unattributedPayments(10);
    expect(un).toEqual([expect.objectContaining({ txid: tx.hash, order_id: null, amount: "3" })]);
    const ev = w.db.prepare("SELECT type, order_id, state FROM events").all();
    expect(ev).toEqual([{ type: "payment.unattributed", order_id: null, state: "skipped" }]);
    // assigned by hand later: recomputed against that order
    const o = w.createOrder({ merchant_order_id: "T-6", amount: "3" });
    w.ledger.assignPayment("shop", un[0]!.id, o.id, w.common.now());
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "3" });
  });

  it("behavior: after expiry, inside the late window → paid_late", async () => {
    const o = w.createOrder({ merchant_order_id: "T-7", amount: "10", valid_minutes: 1 });
    // the harness clock and the paying block move together, 2 minutes past the order's creation
    const later = Math.floor(w.common.now() / 1000) + 120;
    await anvil.rpc("evm_setNextBlockTimestamp", [later]);
    // the order expires once the watcher has scanned a block past expires_at
    await kit.mine(1);
    await w.sync();
    w.ledger.tick(later * 1000);
    expect(w.order(o.id).status).toBe("expired");
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    await w.sync();
    expect(w.order(o.id).status).toBe("paid_late");
    expect(w.payments(o.id)[0]).toMatchObject({ late: true });
    expect(w.eventTypes(o.id).filter((t) => t.startsWith("order."))).toEqual([
      "order.expired",
      "order.paid_late",
    ]);
  });
});

describe("ETH deposits", () => {
  it("default: exact, partial and over payments in native ETH", async () => {
    const exact = w.createOrder({ merchant_order_id: "E-1", currency: "ETH", amount: "1" });
    const partial = w.createOrder({ merchant_order_id: "E-2", currency: "ETH", amount: "1" });
    const over = w.createOrder({ merchant_order_id: "E-3", currency: "ETH", amount: "1" });
    const tx = await kit.sendEth(exact.options[0]!.address, ETH("1000000000000000000"), payer());
    await kit.sendEth(partial.options[0]!.address, ETH("400000000000000000"), payer());
    await kit.sendEth(over.options[0]!.address, ETH("1000000000000000001"), payer());
    await w.sync();
    expect(w.order(exact.id).status).toBe("paid");
    expect(w.payments(exact.id)[0]).toMatchObject({ txid: tx.hash, index: 0, amount: "1", asset: "ETH" });
    expect(w.order(partial.id)).toMatchObject({ status: "partially_paid", paid_amount: "0.4" });
    expect(w.order(over.id).status).toBe("overpaid");
  });

  it("behavior: a USD order paid half in ETH and half in USDT is paid", async () => {
    const o = w.createOrder({ merchant_order_id: "E-4", currency: "USD", amount: "100" });
    const addr = o.options[0]!.address;
    await kit.sendEth(addr, ETH("16666666666666667"), payer()); // 50 USD at 3000, rounded up
    await kit.sendToken(token, addr, USDT(50), payer());
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "100" });
  });

  it("behavior: a reverted ETH transfer is not counted", async () => {
    const o = w.createOrder({ merchant_order_id: "E-5", currency: "ETH", amount: "1" });
    const r = await kit.sendEthReverting(o.options[0]!.address, ETH("1000000000000000000"), payer());
    expect(r.status).toBe("reverted");
    await w.sync();
    expect(w.payments(o.id)).toEqual([]);
    expect(w.order(o.id).status).toBe("pending");
  });
});

describe("reorgs", () => {
  it("behavior: anvil_reorg drops the paying block → payment reverted, order back to pending, order.unsettled", async () => {
    const o = w.createOrder({ merchant_order_id: "R-1", amount: "10" });
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    await anvil.rpc("anvil_reorg", [1, []]);
    await w.sync();
    expect(w.payments(o.id)[0]).toMatchObject({ status: "reverted" });
    expect(w.order(o.id)).toMatchObject({ status: "pending", paid_amount: "0" });
    expect(w.eventTypes(o.id)).toEqual([
      "payment.seen",
      "payment.confirmed",
      "order.paid",
      "payment.reverted",
      "order.unsettled",
    ]);
  });

  it("behavior: the same transaction re-mined in another block is still counted once", async () => {
    const o = w.createOrder({ merchant_order_id: "R-2", amount: "10" });
    const addr = o.options[0]!.address;
    const snap = await anvil.rpc<string>("evm_snapshot");
    // sign once, so the very same transaction can be mined again after the revert
    const { Wallet, Contract, JsonRpcProvider } = await import("ethers");
    const provider = new JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const wallet = Wallet.createRandom().connect(provider);
    await anvil.rpc("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
    await kit.sendToken(token, wallet.address, USDT(10), payer());
    const erc20 = new Contract(token, ["function transfer(address,uint256) returns (bool)"], wallet);
    const signed = await wallet.signTransaction(
      await erc20.transfer!.populateTransaction(addr, USDT(10)).then(async (tx) => ({
        ...tx,
        nonce: await provider.getTransactionCount(wallet.address),
        gasLimit: 100_000n,
        chainId: 31337n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1n,
        type: 2,
      })),
    );
    const hash = await provider.send("eth_sendRawTransaction", [signed]);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    const firstBlock = w.payments(o.id)[0]!.block_hash;
    // back to before the funding, then replay the funding and the same signed transfer in new blocks
    await anvil.rpc("evm_revert", [snap]);
    await kit.mine(1);
    await anvil.rpc("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
    await kit.sendToken(token, wallet.address, USDT(10), payer());
    await provider.send("eth_sendRawTransaction", [signed]);
    await kit.mine(1);
    await w.sync();
    provider.destroy();
    const ps = w.payments(o.id);
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ txid: hash.toLowerCase(), status: "confirmed" });
    expect(ps[0]!.block_hash).not.toBe(firstBlock);
    expect(w.order(o.id)).toMatchObject({ status: "paid", paid_amount: "10" });
  });

  it("behavior: evm_snapshot/evm_revert to before a payment → reverted and order goes back; partial order unsettles to partially_paid", async () => {
    const o = w.createOrder({ merchant_order_id: "R-3", amount: "10" });
    const addr = o.options[0]!.address;
    await kit.sendToken(token, addr, USDT(4), payer());
    const snap = await anvil.rpc<string>("evm_snapshot");
    await kit.sendToken(token, addr, USDT(6), payer());
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    await anvil.rpc("evm_revert", [snap]);
    await kit.mine(3); // the new chain is longer than the old one
    await w.sync();
    expect(w.order(o.id)).toMatchObject({ status: "partially_paid", paid_amount: "4" });
    expect(w.eventTypes(o.id).slice(-3)).toEqual([
      "payment.reverted",
      "order.unsettled",
      "order.partially_paid",
    ]);
  });
});

describe("deep reorgs", () => {
  it("error: a reorg deeper than reorg_depth stops the watcher loudly instead of guessing", async () => {
    await w.close();
    const snap = await anvil.rpc<string>("evm_snapshot");
    w = createEvmWatch({ rpc: [anvil.url], token, startBlock: (await kit.blockNumber()) + 1, reorgDepth: 2 });
    const o = w.createOrder({ merchant_order_id: "D-1", amount: "10" });
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    await kit.mine(4);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    await anvil.rpc("evm_revert", [snap]);
    await kit.mine(8);
    await expect(w.watcher.runOnce()).rejects.toThrow(/deeper than reorg_depth/);
    // the loop marks it fatal and stops; the order keeps its state until an operator acts
    w.watcher.start();
    for (let i = 0; i < 100 && !w.watcher.status().fatal; i++) await new Promise((r) => setTimeout(r, 20));
    expect(w.watcher.status().fatal).toMatch(/deeper than reorg_depth/);
    expect(w.order(o.id).status).toBe("paid");
  });
});

describe("restarts and failures", () => {
  it("behavior: stopping between blocks and restarting on the same file counts every payment once", async () => {
    await w.close();
    const dir = mkdtempSync(join(tmpdir(), "depositd-evm-"));
    const dbPath = join(dir, "d.sqlite");
    const start = (await kit.blockNumber()) + 1;
    try {
      const a = createEvmWatch({ rpc: [anvil.url], token, startBlock: start, dbPath, blocksPerScan: 2 });
      const o = a.createOrder({ merchant_order_id: "S-1", amount: "10" });
      const addr = o.options[0]!.address;
      for (let i = 0; i < 5; i++) await kit.sendToken(token, addr, USDT(1), payer());
      await a.watcher.runOnce(); // only part of the blocks
      await a.close();
      for (let i = 0; i < 5; i++) await kit.sendToken(token, addr, USDT(1), payer());
      const b = createEvmWatch({
        rpc: [anvil.url],
        token,
        startBlock: start,
        dbPath,
        blocksPerScan: 2,
        pool: 0,
      });
      await b.sync();
      expect(b.payments(o.id)).toHaveLength(10);
      expect(b.order(o.id)).toMatchObject({ status: "paid", paid_amount: "10" });
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      w = createEvmWatch({ rpc: [anvil.url], token, startBlock: (await kit.blockNumber()) + 1 });
    }
  });

  it("error: a crash in the middle of a batch's write leaves nothing half-written; the retry counts once", async () => {
    await w.sync();
    const o = w.createOrder({ merchant_order_id: "S-2", amount: "10" });
    await kit.sendToken(token, o.options[0]!.address, USDT(10), payer());
    const cursorBefore = w.ledger.cursor("anvil");
    // the outbox insert fails inside the transaction, after the payment row was written
    w.db.exec(
      "CREATE TEMP TRIGGER crash BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'simulated crash'); END",
    );
    await expect(w.watcher.runOnce()).rejects.toThrow(/simulated crash/);
    expect(w.payments(o.id)).toEqual([]);
    expect(w.ledger.cursor("anvil")).toEqual(cursorBefore);
    w.db.exec("DROP TRIGGER crash");
    await w.sync();
    expect(w.payments(o.id)).toHaveLength(1);
    expect(w.order(o.id).status).toBe("paid");
    expect(w.eventTypes(o.id)).toEqual(["payment.seen", "payment.confirmed", "order.paid"]);
  });

  it("behavior: through a flaky RPC proxy the final state equals a clean run", async () => {
    const proxy = await startFlakyProxy(anvil.url, { seed: 7, failRate: 0.3 });
    const start = (await kit.blockNumber()) + 1;
    const flaky = createEvmWatch({ rpc: [proxy.url], token, startBlock: start, blocksPerScan: 3 });
    const orders = [0, 1, 2, 3].map((i) => flaky.createOrder({ merchant_order_id: `F-${i}`, amount: "10" }));
    for (const [i, o] of orders.entries()) {
      await kit.sendToken(token, o.options[0]!.address, USDT(i < 2 ? 10 : 5), payer());
      await kit.sendEth(o.options[0]!.address, 1n, payer());
    }
    await kit.mine(5);
    await flaky.sync(2000);
    // a clean watcher over the same blocks and addresses
    const clean = createEvmWatch({ rpc: [anvil.url], token, startBlock: start, pool: 0 });
    const { importPoolFile } = await import("../../src/pool/index.js");
    const { createEvmAddressCodec } = await import("../../src/chains/evm/address.js");
    importPoolFile(clean.db, "anvil", createEvmAddressCodec(), flaky.pool.join("\n"), Date.now());
    await clean.sync();
    const summary = (x: typeof flaky) =>
      x.db
        .prepare(
          "SELECT chain, txid, idx, asset, address, amount, block_hash, status FROM payments ORDER BY txid, idx",
        )
        .all();
    expect(summary(flaky)).toEqual(summary(clean));
    expect(summary(flaky)).toHaveLength(8);
    expect(orders.map((o) => flaky.order(o.id).status)).toEqual([
      "paid",
      "paid",
      "partially_paid",
      "partially_paid",
    ]);
    expect(Object.values(proxy.stats).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await flaky.close();
    await clean.close();
    await proxy.stop();
  });
});
