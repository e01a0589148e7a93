// The deposit-account endpoints over HTTP (answers checked against their schemas): create and its
// idempotency, merchant scoping, paging, deposits, events, close.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_KEY, OTHER_KEY, clock, testConfig } from "../helpers/config.js";
import { startApi } from "../helpers/api.js";

const body = (over: Record<string, unknown> = {}) => ({
  customer_id: "cust-1",
  callback_url: "http://127.0.0.1:9/hook",
  metadata: { tier: "gold" },
  ...over,
});
const other = { authorization: `Bearer ${OTHER_KEY}` };
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

describe("deposit accounts API", () => {
  let t: Awaited<ReturnType<typeof startApi>>;
  const c = clock();
  beforeAll(async () => {
    t = await startApi(testConfig(), { pool: 8, now: c.now });
  });
  afterAll(() => t.close());

  it("default: create → 201 with one address per chain; the same body → 200 and the same addresses; another body → 409", async () => {
    const r = await t.call("POST", "/v1/deposit-accounts", body());
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(/^acc_/),
      customer_id: "cust-1",
      status: "open",
      addresses: [{ chain: "anvil", address: t.pool[0] }],
      callback_url: "http://127.0.0.1:9/hook",
      metadata: { tier: "gold" },
      created_at: "2026-11-22T10:00:00.000Z",
      closed_at: null,
    });
    const again = await t.call("POST", "/v1/deposit-accounts", body());
    expect(again).toMatchObject({ status: 200, body: r.body });
    const changed = await t.call("POST", "/v1/deposit-accounts", body({ metadata: { tier: "silver" } }));
    expect(changed.status).toBe(409);
    expect(changed.body.type).toBe("urn:depositd:problem:conflict");
  });

  it("behavior: bad input names the field and writes nothing", async () => {
    const before = t.db.prepare("SELECT count(*) AS n FROM deposit_accounts").get();
    for (const [b, path] of [
      [body({ customer_id: "" }), "customer_id"],
      [body({ chains: ["nope"], customer_id: "x-1" }), "chains[0]"],
      [body({ callback_url: "ftp://x", customer_id: "x-2" }), "callback_url"],
      [body({ amount: "1", customer_id: "x-3" }), "(root)"],
    ] as const) {
      const r = await t.call("POST", "/v1/deposit-accounts", b);
      expect(r.status).toBe(400);
      expect(r.body.errors[0].path).toBe(path);
    }
    expect(t.db.prepare("SELECT count(*) AS n FROM deposit_accounts").get()).toEqual(before);
    const cursor = await t.call("GET", "/v1/deposit-accounts?cursor=garbage");
    expect(cursor.status).toBe(400);
    expect(cursor.body.errors).toEqual([{ path: "cursor", message: "not a cursor from this API" }]);
  });

  it("behavior: another merchant gets 404 for the account, its deposits, events and close, and lists none of it", async () => {
    const mine = (await t.call("GET", "/v1/deposit-accounts?customer_id=cust-1")).body.accounts[0];
    for (const [m, p] of [
      ["GET", `/v1/deposit-accounts/${mine.id}`],
      ["GET", `/v1/deposit-accounts/${mine.id}/deposits`],
      ["GET", `/v1/deposit-accounts/${mine.id}/events`],
      ["POST", `/v1/deposit-accounts/${mine.id}/close`],
    ] as const) {
      const r = await t.call(m, p, undefined, other);
      expect(r.status, p).toBe(404);
    }
    const list = await t.call("GET", "/v1/deposit-accounts", undefined, other);
    expect(list.body).toEqual({ accounts: [], next_cursor: null });
    expect((await t.call("GET", `/v1/deposit-accounts/${mine.id}`)).body.status).toBe("open");
  });

  it("behavior: lists page newest first with next_cursor, null on the last page", async () => {
    for (const id of ["cust-2", "cust-3"]) {
      c.advance(1000);
      expect((await t.call("POST", "/v1/deposit-accounts", body({ customer_id: id }))).status).toBe(201);
    }
    const p1 = await t.call("GET", "/v1/deposit-accounts?limit=2");
    expect(p1.body.accounts.map((a: { customer_id: string }) => a.customer_id)).toEqual(["cust-3", "cust-2"]);
    expect(p1.body.next_cursor).toEqual(expect.any(String));
    const p2 = await t.call("GET", `/v1/deposit-accounts?limit=2&cursor=${p1.body.next_cursor}`);
    expect(p2.body).toEqual({
      accounts: [expect.objectContaining({ customer_id: "cust-1" })],
      next_cursor: null,
    });
  });

  it("behavior: deposits and their events are listed (paged, after=SEQ); close stops attribution", async () => {
    const acc = (await t.call("GET", "/v1/deposit-accounts?customer_id=cust-1")).body.accounts[0];
    const address = acc.addresses[0].address.toLowerCase();
    const now = c.now();
    const transfers = [1, 2, 3].map((n) => ({
      txid: hash(0x100 + n),
      index: 0,
      asset: n === 3 ? "USDT-ERC20" : "ETH",
      address,
      amount: BigInt(n) * 1_000_000n,
      block: { number: n, hash: hash(n), timestamp: now },
    }));
    const blocks = [1, 2, 3].map((n) => ({
      number: n,
      hash: hash(n),
      parentHash: hash(n - 1),
      timestamp: now,
    }));
    t.ledger.recordScan({ chain: "anvil", heads: { head: 3 }, blocks, transfers, keepBlocks: 64 }, now);

    const p1 = await t.call("GET", `/v1/deposit-accounts/${acc.id}/deposits?limit=2`);
    expect(p1.status, JSON.stringify(p1.body)).toBe(200);
    expect(p1.body.deposits).toHaveLength(2);
    const p2 = await t.call(
      "GET",
      `/v1/deposit-accounts/${acc.id}/deposits?limit=2&cursor=${p1.body.next_cursor}`,
    );
    expect(p2.body.next_cursor).toBeNull();
    const all = [...p1.body.deposits, ...p2.body.deposits];
    expect(all.map((d: { amount: string }) => d.amount).sort()).toEqual([
      "0.000000000001",
      "0.000000000002",
      "3",
    ]);
    expect(
      all.every(
        (d: { status: string; account_id: string }) => d.status === "confirmed" && d.account_id === acc.id,
      ),
    ).toBe(true);

    const events = await t.call("GET", `/v1/deposit-accounts/${acc.id}/events`);
    expect(events.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.body.events[0].body).toMatchObject({
      type: "deposit.seen",
      seq: 1,
      account: { id: acc.id },
    });
    const later = await t.call("GET", `/v1/deposit-accounts/${acc.id}/events?after=4`);
    expect(later.body.events.map((e: { seq: number }) => e.seq)).toEqual([5, 6]);
    // another merchant cannot redeliver them; the owner can
    const evId = events.body.events[0].id;
    expect((await t.call("POST", `/v1/events/${evId}/redeliver`, undefined, other)).status).toBe(404);
    expect((await t.call("POST", `/v1/events/${evId}/redeliver`)).status).toBe(202);
    // and they never show up as unattributed, nor can be assigned to an order
    const asOperator = { authorization: `Bearer ${OPERATOR_KEY}` };
    expect(
      (await t.call("GET", "/v1/payments?unattributed=true", undefined, asOperator)).body.payments,
    ).toEqual([]);

    const closed = await t.call("POST", `/v1/deposit-accounts/${acc.id}/close`);
    expect(closed.body).toMatchObject({ status: "closed", closed_at: new Date(now).toISOString() });
    const after = {
      txid: hash(0x200),
      index: 0,
      asset: "ETH",
      address,
      amount: 5n,
      block: { number: 4, hash: hash(4), timestamp: now },
    };
    const b4 = [{ number: 4, hash: hash(4), parentHash: hash(3), timestamp: now }];
    t.ledger.recordScan(
      { chain: "anvil", heads: { head: 4 }, blocks: b4, transfers: [after], keepBlocks: 64 },
      now,
    );
    const un = (await t.call("GET", "/v1/payments?unattributed=true", undefined, asOperator)).body.payments;
    expect(un).toEqual([expect.objectContaining({ txid: hash(0x200), order_id: null })]);
    expect((await t.call("GET", `/v1/deposit-accounts/${acc.id}/deposits`)).body.deposits).toHaveLength(3);
  });
});
