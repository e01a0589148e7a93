// Deposit accounts and the pools they share with orders: close follows the pool's rules (xpub:
// never again), pool.purpose reserves a pool, and the pool counts (low_water) see both kinds.
import { HDNodeWallet } from "ethers";
import { describe, expect, it } from "vitest";
import { createEvmDeriver } from "../../src/chains/evm/address.js";
import { validateConfig } from "../../src/config/load.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import { createLedger } from "../../src/ledger/index.js";
import { ensureDerived, poolStatus } from "../../src/pool/index.js";
import { TEST_EPOCH_MS, rawConfig, testCommon, testDatabase } from "../helpers/config.js";

const XPUB = HDNodeWallet.fromPhrase(
  "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
  undefined,
  "m/44'/60'/0'",
).neuter().extendedKey;

function setup(pool: Record<string, unknown>) {
  const config = validateConfig(
    rawConfig({ chains: [{ ...(rawConfig().chains as object[])[0]!, pool }] }),
    {},
  );
  const now = TEST_EPOCH_MS;
  const db = testDatabase();
  const ledger = createLedger(
    db,
    testCommon(config, () => now),
    createCatalog(config),
  );
  ensureDerived(db, "anvil", createEvmDeriver(XPUB), 8, now);
  const account = (customer: string) =>
    ledger.createAccount("shop", { customer_id: customer, callback_url: "http://127.0.0.1:9/" }, now);
  const order = (id: string) =>
    ledger.createOrder(
      "shop",
      { merchant_order_id: id, amount: "1", currency: "ETH", callback_url: "http://127.0.0.1:9/" },
      now,
    );
  return { db, ledger, now, account, order };
}

describe("deposit accounts and pools", () => {
  it("behavior: a closed account's xpub address is never handed out again", () => {
    const t = setup({ source: "xpub", xpub: XPUB, lookahead: 3, cooldown_minutes: 0, low_water: 0 });
    const a = t.account("c-1").account;
    const addr = a.addresses[0]!.address;
    t.ledger.closeAccount("shop", a.id, t.now);
    const later = [t.account("c-2").account.addresses[0]!.address];
    for (let i = 0; i < 4; i++) later.push(t.order(`o-${i}`).order.options[0]!.address);
    expect(later).not.toContain(addr);
    expect(new Set(later).size).toBe(later.length);
  });

  it("behavior: the pool counts (what low_water compares) see addresses bound to orders and accounts", () => {
    const t = setup({ source: "xpub", xpub: XPUB, lookahead: 4, low_water: 0 });
    t.account("c-1");
    t.order("o-1");
    const status = poolStatus(t.db, "anvil", t.now, false);
    expect(status).toMatchObject({ bound: 2 });
  });

  it("behavior: pool.purpose accounts serves no orders; purpose orders serves no accounts", () => {
    const forAccounts = setup({ source: "xpub", xpub: XPUB, lookahead: 3, purpose: "accounts" });
    expect(forAccounts.account("c-1").created).toBe(true);
    expect(() => forAccounts.order("o-1")).toThrow(/no payment option|not valid|cannot be paid|no asset/i);
    const forOrders = setup({ source: "xpub", xpub: XPUB, lookahead: 3, purpose: "orders" });
    expect(forOrders.order("o-1").created).toBe(true);
    expect(() => forOrders.account("c-1")).toThrow(/not valid/);
  });
});
