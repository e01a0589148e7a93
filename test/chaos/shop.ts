// A shop that creates orders over the daemon's API and a customer who pays them on anvil, keeping
// its own record of every transfer. The expected outcome of each order is recomputed here from that
// record and the chain's receipts — deliberately without any of the daemon's ledger/reconcile code.
import type { TestAnvil } from "../helpers/anvil.js";
import type { EvmKit } from "../helpers/evm.js";
import { seededRandom } from "../helpers/flaky-proxy.js";
import { type ApiAnswer, type DbTarget, type EventRow, withDb } from "./harness.js";

export type PayKind = "exact" | "partial" | "split" | "over" | "late" | "mixed" | "unpaid";
export type AssetId = "ETH" | "USDT-ERC20";

export interface SentPayment {
  asset: AssetId;
  to: string;
  amount: bigint;
  tx: string;
  /** 0 for ETH, the log index for the token */
  index: number;
}

export interface PlannedOrder {
  key: string;
  kind: PayKind;
  asset: AssetId;
  /** USD cents */
  cents: bigint;
  validMinutes: number;
  id?: string;
  expiresAt?: number;
  /** option addresses and amounts due, as the daemon answered */
  options?: Map<AssetId, { address: string; due: bigint }>;
  payments: SentPayment[];
}

const KINDS: PayKind[] = ["exact", "partial", "split", "over", "late", "mixed", "unpaid"];
const DECIMALS: Record<AssetId, number> = { ETH: 18, "USDT-ERC20": 6 };
/** USD price of one whole unit, as configured in the test config (rates.static.USD) */
const USD_PRICE: Record<AssetId, bigint> = { ETH: 3000n, "USDT-ERC20": 1n };
const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

export function planOrders(n: number, seed: number, prefix: string): PlannedOrder[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const kind = KINDS[i % KINDS.length]!;
    return {
      key: `${prefix}-${i}`,
      kind,
      asset: random() < 0.5 ? "ETH" : "USDT-ERC20",
      cents: 100n + BigInt(Math.floor(random() * 9900)),
      validMinutes: kind === "late" ? 1 : 30,
      payments: [],
    };
  });
}

export function centsText(cents: bigint): string {
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, "0")}`;
}

/** "12.30" → "12.3", "12.00" → "12": decimal text without trailing zeros, as the API prints. */
export function plainDecimal(units: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const frac = (units % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${units / scale}${frac ? "." + frac : ""}`;
}

/** amount due in base units: the order's USD converted at the configured price, rounded up */
export function dueFor(asset: AssetId, cents: bigint): bigint {
  const num = cents * 10n ** BigInt(DECIMALS[asset]);
  const den = USD_PRICE[asset] * 100n;
  return (num + den - 1n) / den;
}

export function parseUnitsText(text: string, decimals: number): bigint {
  const [w = "0", f = ""] = text.split(".");
  return BigInt(w) * 10n ** BigInt(decimals) + BigInt((f + "0".repeat(decimals)).slice(0, decimals) || "0");
}

export function createBody(o: PlannedOrder, callbackUrl: string): Record<string, unknown> {
  return {
    merchant_order_id: o.key,
    amount: centsText(o.cents),
    currency: "USD",
    assets: ["ETH", "USDT-ERC20"],
    valid_minutes: o.validMinutes,
    callback_url: callbackUrl,
    metadata: { plan: o.kind, note: "chaos ✓" },
  };
}

/** Takes the create answer; throws if the daemon's amounts due differ from our own computation. */
export function acceptCreated(o: PlannedOrder, answer: ApiAnswer): void {
  if (answer.status !== 201 && answer.status !== 200)
    throw new Error(`create ${o.key}: ${answer.status} ${JSON.stringify(answer.body)}`);
  const body = answer.body as {
    id: string;
    expires_at: string;
    options: { asset: AssetId; address: string; amount_due: string }[];
  };
  o.id = body.id;
  o.expiresAt = Date.parse(body.expires_at);
  o.options = new Map();
  for (const opt of body.options) {
    const due = parseUnitsText(opt.amount_due, DECIMALS[opt.asset]);
    if (due !== dueFor(opt.asset, o.cents))
      throw new Error(
        `${o.key}: daemon says ${opt.asset} due ${due}, expected ${dueFor(opt.asset, o.cents)}`,
      );
    o.options.set(opt.asset, { address: opt.address, due });
  }
}

export interface Customer {
  pay(o: PlannedOrder): Promise<void>;
}

/** Pays an order as its plan says, from anvil's account 1. */
export function createCustomer(anvil: TestAnvil, kit: EvmKit, token: string): Customer {
  const payer = kit.accounts[1]!;
  async function send(o: PlannedOrder, asset: AssetId, amount: bigint): Promise<void> {
    const to = o.options!.get(asset)!.address;
    if (asset === "ETH") {
      const tx = await kit.sendEth(to, amount, payer);
      o.payments.push({ asset, to, amount, tx: tx.hash, index: 0 });
    } else {
      const tx = await kit.sendToken(token, to, amount, payer);
      o.payments.push({ asset, to, amount, tx: tx.hash, index: tx.logIndexes[0]! });
    }
  }
  return {
    async pay(o) {
      const due = o.options!.get(o.asset)!.due;
      switch (o.kind) {
        case "exact":
          return send(o, o.asset, due);
        case "partial":
          return send(o, o.asset, due / 2n);
        case "split":
          await send(o, o.asset, due / 3n);
          return send(o, o.asset, due - due / 3n);
        case "over":
          return send(o, o.asset, due + due / 10n + 1n);
        case "mixed": {
          const eth = o.options!.get("ETH")!.due;
          const usdt = o.options!.get("USDT-ERC20")!.due;
          await send(o, "ETH", eth / 2n);
          return send(o, "USDT-ERC20", usdt - usdt / 2n);
        }
        case "late": {
          // the block carrying the payment is stamped after the order's expiry
          const latest = await anvil.rpc<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
          const at = Math.max(Number(latest.timestamp) + 1, Math.ceil(o.expiresAt! / 1000) + 1);
          await anvil.rpc("evm_setNextBlockTimestamp", [at]);
          return send(o, o.asset, due);
        }
        case "unpaid":
          return;
      }
    },
  };
}

export interface Expected {
  status: string;
  paid: string;
  payments: { tx: string; index: number; asset: string; amount: string; blockHash: string; late: boolean }[];
}

/**
 * What each order must look like, from our own record of the transfers and the chain's receipts
 * (status, recipient, amount and block time read back from anvil).
 */
export async function expectedFromChain(
  anvil: TestAnvil,
  token: string,
  orders: PlannedOrder[],
  now: number,
): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  const blockTime = new Map<string, number>();
  for (const o of orders) {
    if (!o.id) continue;
    let num = 0n; // Σ amount/due as one fraction num/den
    let den = 1n;
    let onNum = 0n;
    let onDen = 1n;
    const payments: Expected["payments"] = [];
    for (const p of o.payments) {
      const receipt = await anvil.rpc<{
        status: string;
        blockNumber: string;
        blockHash: string;
        logs: { address: string; topics: string[]; data: string; logIndex: string }[];
      }>("eth_getTransactionReceipt", [p.tx]);
      if (receipt.status !== "0x1") continue;
      let amount: bigint;
      if (p.asset === "ETH") {
        const tx = await anvil.rpc<{ to: string; value: string }>("eth_getTransactionByHash", [p.tx]);
        if (tx.to.toLowerCase() !== p.to.toLowerCase()) throw new Error(`${p.tx} went elsewhere`);
        amount = BigInt(tx.value);
      } else {
        const log = receipt.logs.find((l) => Number(l.logIndex) === p.index);
        if (
          !log ||
          log.address.toLowerCase() !== token.toLowerCase() ||
          log.topics[0] !== TRANSFER_TOPIC ||
          `0x${log.topics[2]!.slice(26)}` !== p.to.toLowerCase()
        )
          throw new Error(`${p.tx}: no token transfer to ${p.to} at log ${p.index}`);
        amount = BigInt(log.data);
      }
      if (amount !== p.amount) throw new Error(`${p.tx}: chain says ${amount}, we sent ${p.amount}`);
      let ts = blockTime.get(receipt.blockHash);
      if (ts === undefined) {
        const b = await anvil.rpc<{ timestamp: string }>("eth_getBlockByHash", [receipt.blockHash, false]);
        ts = Number(b.timestamp) * 1000;
        blockTime.set(receipt.blockHash, ts);
      }
      const due = o.options!.get(p.asset)!.due;
      num = num * due + amount * den;
      den = den * due;
      const late = ts > o.expiresAt!;
      if (!late) {
        onNum = onNum * due + amount * onDen;
        onDen = onDen * due;
      }
      payments.push({
        tx: p.tx,
        index: p.index,
        asset: p.asset,
        amount: plainDecimal(amount, DECIMALS[p.asset]),
        blockHash: receipt.blockHash.toLowerCase(),
        late,
      });
    }
    // SPEC §2.2 with zero tolerances, every payment confirmed
    let status: string;
    if (onNum > 0n && onNum >= onDen) status = num > den ? "overpaid" : "paid";
    else if (num > 0n && num >= den) status = "paid_late";
    else if (now > o.expiresAt!) status = "expired";
    else status = num > 0n ? "partially_paid" : "pending";
    out.set(o.id, { status, paid: plainDecimal((o.cents * num) / den, 2), payments });
  }
  return out;
}

export interface Mismatch {
  order: string;
  what: string;
}

/** Compares the daemon's orders and payments (read from its database) with the expectation. */
export function compareWithDatabase(
  dbPath: DbTarget,
  expected: Map<string, Expected>,
  events: EventRow[],
): Mismatch[] {
  const bad: Mismatch[] = [];
  withDb(dbPath, (db) => {
    const orderRow = db.prepare<[string], { status: string; paid_amount: string; merchant_order_id: string }>(
      "SELECT status, paid_amount, merchant_order_id FROM orders WHERE id = ?",
    );
    const paymentRows = db.prepare<
      [string],
      {
        txid: string;
        idx: number;
        asset: string;
        amount: string;
        status: string;
        block_hash: string;
        late: number;
      }
    >("SELECT txid, idx, asset, amount, status, block_hash, late FROM payments WHERE order_id = ?");
    const totalPayments = db.prepare("SELECT count(*) FROM payments").pluck().get() as number;
    let expectedPayments = 0;
    for (const [id, exp] of expected) {
      expectedPayments += exp.payments.length;
      const row = orderRow.get(id);
      if (!row) {
        bad.push({ order: id, what: "missing" });
        continue;
      }
      const paid = plainDecimal(parseUnitsText(row.paid_amount, 0), 2);
      if (row.status !== exp.status)
        bad.push({ order: id, what: `status ${row.status}, expected ${exp.status}` });
      if (paid !== exp.paid) bad.push({ order: id, what: `paid ${paid}, expected ${exp.paid}` });
      const rows = paymentRows.all(id);
      if (rows.length !== exp.payments.length)
        bad.push({ order: id, what: `${rows.length} payments stored, expected ${exp.payments.length}` });
      for (const p of exp.payments) {
        const r = rows.filter((x) => x.txid === p.tx && x.idx === p.index && x.asset === p.asset);
        if (r.length !== 1) {
          bad.push({ order: id, what: `payment ${p.tx}:${p.index} stored ${r.length} times` });
          continue;
        }
        const got = r[0]!;
        const amount = plainDecimal(BigInt(got.amount), p.asset === "ETH" ? 18 : 6);
        if (
          amount !== p.amount ||
          got.status !== "confirmed" ||
          got.block_hash !== p.blockHash ||
          Boolean(got.late) !== p.late
        )
          bad.push({
            order: id,
            what: `payment ${p.tx}:${p.index} is ${JSON.stringify(got)}, expected ${JSON.stringify(p)}`,
          });
      }
      // What the merchant was told last must be the truth.
      const orderEvents = events.filter((e) => e.order_id === id && e.type.startsWith("order."));
      const last = orderEvents.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0)).at(-1);
      const told = last ? last.type.slice("order.".length) : "pending";
      if (told !== exp.status)
        bad.push({ order: id, what: `last order event says ${told}, expected ${exp.status}` });
    }
    if (totalPayments !== expectedPayments)
      bad.push({ order: "*", what: `${totalPayments} payments in the database, ${expectedPayments} sent` });
  });
  return bad;
}
