// depositd audit on a real anvil: a payment deleted from the database is found missing and named;
// --repair restores it through the normal write path, events and all; a second audit matches.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { formatAudit, runAudit } from "../../src/audit/index.js";
import { createCatalog } from "../../src/ledger/catalog.js";
import type { TestAnvil } from "../helpers/anvil.js";
import { type EvmKit, type TokenChain, startTokenChain } from "../helpers/evm.js";
import { createEvmWatch } from "../helpers/evm-watch.js";

const USDT = (n: number) => BigInt(Math.round(n * 1e6));

let chain: TokenChain;
let anvil: TestAnvil;
let kit: EvmKit;
let snapshot: string;
let w: ReturnType<typeof createEvmWatch>;

beforeAll(async () => {
  chain = await startTokenChain(USDT(1_000_000));
  ({ anvil, kit } = chain);
});
afterAll(async () => {
  await chain.stop();
});
beforeEach(async () => {
  snapshot = await anvil.rpc<string>("evm_snapshot");
  w = createEvmWatch({ rpc: [anvil.url], token: chain.token, startBlock: (await kit.blockNumber()) + 1 });
});
afterEach(async () => {
  await w.close();
  await anvil.rpc("evm_revert", [snapshot]);
});

const audit = (repair = false) =>
  runAudit(
    { db: w.db, common: w.common, catalog: createCatalog(w.config), ledger: w.ledger },
    { chain: "anvil", from: w.config.chains[0]!.start_block as number, repair },
  );
const events = (orderId: string) =>
  w.db
    .prepare<[string], { type: string; payment_id: string | null }>(
      "SELECT type, payment_id FROM events WHERE order_id = ? ORDER BY seq",
    )
    .all(orderId);

describe("depositd audit", () => {
  it("default: a range the ledger holds exactly matches", async () => {
    const o = w.createOrder({ merchant_order_id: "A-1", amount: "10" });
    await kit.sendToken(chain.token, o.options[0]!.address, USDT(10), kit.accounts[1]!);
    await kit.sendEth(w.pool[5]!, 10n ** 17n); // unattributed: stored too
    await w.sync();
    const r = await audit();
    expect(r.findings).toEqual([]);
    expect(r.found).toBe(2);
    expect(r.stored).toBe(2);
    expect(formatAudit(r).summary).toMatch(/MATCH — 2 on chain, 2 stored; missing 0, extra 0/);
  });

  it("error: a payment deleted from the database is missing and named; --repair restores it with its events; then it matches", async () => {
    const o = w.createOrder({ merchant_order_id: "A-2", amount: "10" });
    const tx = await kit.sendToken(chain.token, o.options[0]!.address, USDT(10), kit.accounts[1]!);
    await w.sync();
    expect(w.order(o.id).status).toBe("paid");
    const before = events(o.id).map((e) => e.type);
    w.db.prepare("DELETE FROM events WHERE payment_id IS NOT NULL").run();
    w.db.prepare("DELETE FROM payments").run();

    const first = await audit();
    expect(first.findings).toEqual([
      expect.objectContaining({
        kind: "missing",
        txid: tx.hash,
        index: tx.logIndexes[0],
        asset: "USDT-ERC20",
      }),
    ]);
    const { rows, summary } = formatAudit(first);
    expect(rows[0]).toMatchObject({ kind: "missing", txid: tx.hash, block: tx.blockNumber });
    expect(summary).toMatch(/MISMATCH — 1 on chain, 0 stored; missing 1/);

    const repair = await audit(true);
    expect(repair.repaired).toBe(1);
    expect(w.payments(o.id)).toEqual([
      expect.objectContaining({ txid: tx.hash, amount: "10", status: "confirmed", via: "log" }),
    ]);
    // the payment's events are written again, as a scan writes them
    const after = events(o.id);
    expect(after.filter((e) => e.payment_id).map((e) => e.type)).toEqual([
      "payment.seen",
      "payment.confirmed",
    ]);
    expect(before).toContain("payment.seen");

    const second = await audit();
    expect(second.findings).toEqual([]);
  });

  it("error: a stored payment the chain does not have is extra; one in a block no longer canonical is wrong_status", async () => {
    const o = w.createOrder({ merchant_order_id: "A-3", amount: "10" });
    const tx = await kit.sendToken(chain.token, o.options[0]!.address, USDT(10), kit.accounts[1]!);
    await w.sync();
    w.db.prepare("UPDATE payments SET amount = '11000000'").run();
    expect((await audit()).findings).toEqual([
      expect.objectContaining({
        kind: "mismatch",
        txid: tx.hash,
        detail: expect.stringMatching(/stored 11000000/),
      }),
    ]);
    w.db.prepare("UPDATE payments SET amount = '10000000', block_hash = ?").run("0x" + "ab".repeat(32));
    expect((await audit()).findings).toEqual([
      expect.objectContaining({ kind: "wrong_status", txid: tx.hash }),
    ]);
    w.db.prepare("UPDATE payments SET txid = ?").run("0x" + "cd".repeat(32));
    const r = await audit();
    expect(r.findings.map((f) => f.kind).sort()).toEqual(["missing", "wrong_status"]);
  });
});
