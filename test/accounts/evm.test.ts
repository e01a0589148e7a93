// Deposit accounts end to end on a real anvil: an account's address, every deposit reported
// (deposit.seen → deposit.confirmed, signed, to a real receiver), a reorg, close.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TestAnvil } from "../helpers/anvil.js";
import { CALLBACK_SECRET } from "../helpers/config.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";
import { createDeliveryWorker, type DeliveryWorker } from "../../src/notify/deliver.js";
import { verifySignature } from "../../src/notify/verify.js";
import { type Receiver, startReceiver, waitFor } from "../notify/helpers.js";

const USDT = (n: number) => BigInt(Math.round(n * 1e6));

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let token: string;
let snapshot: string;
let w: ReturnType<typeof createEvmWatch>;
let receiver: Receiver;
let worker: DeliveryWorker;

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  ({ anvil, kit, token } = chain);
});
afterAll(async () => {
  await chain.stop();
});
beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
  w = createEvmWatch({
    rpc: [anvil.url],
    token,
    startBlock: (await kit.blockNumber()) + 1,
    ethConfirmations: 2,
  });
  receiver = await startReceiver();
  worker = createDeliveryWorker({ db: w.db, common: w.common, pollIntervalMs: 20 });
});
afterEach(async () => {
  await worker.stop();
  await receiver.close();
  await w.close();
  await anvil.rpc("evm_revert", [snapshot]);
});

const payer = () => kit.accounts[1]!;

/** deposits found in one scan share their recording time: compare them in chain order */
const byBlock = <D extends { block_number: number | null }>(ds: D[]) =>
  [...ds].sort((a, b) => (a.block_number ?? 0) - (b.block_number ?? 0));

function openAccount(customer = "u-1") {
  return w.ledger.createAccount(
    "shop",
    { customer_id: customer, callback_url: receiver.url },
    w.common.now(),
  );
}

function accountEvents(id: string): { type: string; seq: number; payment_id: string }[] {
  return w.db
    .prepare("SELECT type, seq, payment_id FROM events WHERE account_id = ? ORDER BY seq")
    .all(id) as { type: string; seq: number; payment_id: string }[];
}

describe("deposit accounts on anvil", () => {
  it("default: one address; two ETH deposits and one ERC-20 deposit each seen then confirmed, signed; a reorg reverts one", async () => {
    const { account, created } = openAccount();
    expect(created).toBe(true);
    expect(account).toMatchObject({ customer_id: "u-1", status: "open", closed_at: null });
    expect(account.addresses).toEqual([{ chain: "anvil", address: w.pool[0] }]);
    const addr = account.addresses[0]!.address;

    const eth1 = await kit.sendEth(addr, 10n ** 18n, payer());
    const eth2 = await kit.sendEth(addr, 5n * 10n ** 17n, payer());
    await w.sync();
    // ETH needs 2 confirmations: the second deposit's block is the head, only the first is deep enough
    const first = w.ledger.accountDeposits("shop", account.id, { limit: 10 });
    expect(byBlock(first.deposits).map((d) => [d.txid, d.asset, d.amount, d.status])).toEqual([
      [eth1.hash, "ETH", "1", "confirmed"],
      [eth2.hash, "ETH", "0.5", "seen"],
    ]);
    const usdt = await kit.sendToken(token, addr, USDT(7.25), payer()); // its block confirms eth2 too
    await w.sync();
    const all = byBlock(w.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits);
    expect(all.map((d) => [d.txid, d.asset, d.amount, d.status])).toEqual([
      [eth1.hash, "ETH", "1", "confirmed"],
      [eth2.hash, "ETH", "0.5", "confirmed"],
      [usdt.hash, "USDT-ERC20", "7.25", "confirmed"],
    ]);
    expect(all[2]).toMatchObject({ account_id: account.id, index: usdt.logIndexes[0], confirmations: 1 });
    // each deposit: seen, then confirmed; seqs 1.. with no gaps
    const events = accountEvents(account.id);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const d of all) {
      expect(events.filter((e) => e.payment_id === d.id).map((e) => e.type)).toEqual([
        "deposit.seen",
        "deposit.confirmed",
      ]);
    }
    // nothing of it is an order's or unattributed
    expect(w.ledger.unattributedPayments({ limit: 10 }).payments).toEqual([]);

    // delivered from the outbox like order events, signed
    worker.start();
    await waitFor(() => receiver.received.length === 6, 10_000, "six deposit callbacks");
    for (const r of receiver.received) {
      expect(verifySignature(r.body, String(r.headers["depositd-signature"]), [CALLBACK_SECRET])).toBe(true);
      const body = JSON.parse(r.body);
      expect(Object.keys(body)).toEqual(["id", "type", "seq", "created_at", "account", "deposit"]);
      expect(body.account).toMatchObject({ id: account.id, customer_id: "u-1" });
      expect(String(r.headers["depositd-event-seq"])).toBe(String(body.seq));
    }
    const confirmedUsdt = receiver.received
      .map((r) => JSON.parse(r.body))
      .find((b) => b.type === "deposit.confirmed" && b.deposit.txid === usdt.hash);
    expect(confirmedUsdt.deposit).toMatchObject({ asset: "USDT-ERC20", amount: "7.25", status: "confirmed" });

    // a reorg drops the token deposit's block
    await anvil.rpc("anvil_reorg", [1, []]);
    await w.sync();
    const after = byBlock(w.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits);
    expect(after.map((d) => d.status)).toEqual(["confirmed", "confirmed", "reverted"]);
    expect(accountEvents(account.id).at(-1)).toMatchObject({ type: "deposit.reverted", seq: 7 });
    await waitFor(() => receiver.received.length === 7, 10_000, "the reverted callback");
    const reverted = JSON.parse(receiver.received[6]!.body);
    expect(reverted).toMatchObject({
      type: "deposit.reverted",
      seq: 7,
      deposit: { txid: usdt.hash, status: "reverted", confirmations: 0 },
    });
  });

  it("behavior: re-sending the create returns the same address; a different body is a conflict", () => {
    const a = openAccount("u-2");
    const again = openAccount("u-2");
    expect(again.created).toBe(false);
    expect(again.account).toEqual(a.account);
    expect(() =>
      w.ledger.createAccount(
        "shop",
        { customer_id: "u-2", callback_url: "http://127.0.0.1:9/x" },
        w.common.now(),
      ),
    ).toThrow(/different body/);
    // another merchant's customer of the same id is another account
    const other = w.ledger.createAccount(
      "other",
      { customer_id: "u-2", callback_url: receiver.url },
      w.common.now(),
    );
    expect(other.account.id).not.toBe(a.account.id);
    expect(other.account.addresses[0]!.address).not.toBe(a.account.addresses[0]!.address);
    expect(w.ledger.getAccount("other", a.account.id)).toBeUndefined();
  });

  it("behavior: after close a payment to the address is unattributed; the static address rests for its cooldown", async () => {
    const { account } = openAccount("u-3");
    const addr = account.addresses[0]!.address;
    await kit.sendToken(token, addr, USDT(1), payer());
    await w.sync();
    const closedAt = w.common.now();
    const closed = w.ledger.closeAccount("shop", account.id, closedAt);
    expect(closed).toMatchObject({ status: "closed", addresses: account.addresses });
    expect(w.ledger.closeAccount("shop", account.id, closedAt + 1)).toEqual(closed); // unchanged
    const tx = await kit.sendToken(token, addr, USDT(2), payer());
    await w.sync();
    expect(w.ledger.unattributedPayments({ limit: 10 }).payments).toEqual([
      expect.objectContaining({ txid: tx.hash, order_id: null, amount: "2" }),
    ]);
    const deposits = w.ledger.accountDeposits("shop", account.id, { limit: 10 }).deposits;
    expect(deposits.map((d) => d.amount)).toEqual(["1"]);
    const row = w.db
      .prepare("SELECT bound, rest_until FROM pool_addresses WHERE address = ?")
      .get(addr.toLowerCase()) as { bound: number; rest_until: number };
    expect(row).toEqual({ bound: 0, rest_until: closedAt + 10 * 60_000 });
    // a new order does not get the resting address
    const o = w.createOrder({ merchant_order_id: "after-close", amount: "1" });
    expect(o.options[0]!.address).not.toBe(addr);
  });

  it("behavior: the database keeps an address bound to an order or an account, never both", () => {
    const { account } = openAccount("u-4");
    const addr = account.addresses[0]!.address.toLowerCase();
    const o = w.createOrder({ merchant_order_id: "excl", amount: "1" });
    const bind = w.db.prepare(
      "INSERT INTO bindings (chain, address, order_id, account_id, bound_at) VALUES (?, ?, ?, ?, 0)",
    );
    expect(() => bind.run("anvil", addr, o.id, null)).toThrow(/UNIQUE/);
    expect(() => bind.run("anvil", w.pool[7]!.toLowerCase(), o.id, account.id)).toThrow(/CHECK/);
    expect(() => bind.run("anvil", w.pool[7]!.toLowerCase(), null, null)).toThrow(/CHECK/);
  });
});
