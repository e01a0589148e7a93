// The ledger: every write of money facts goes through here, each in ONE synchronous SQLite
// transaction with the events it causes (the outbox). Callers fetch first, then call in. Each
// operation loads rows (statements.ts), lets src/core/ decide, then writes rows and events.
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import type { Heads, Transfer } from "../chains/types.js";
import type { Catalog } from "./catalog.js";
import { watcherRole } from "../db/lease.js";
import { type LedgerHooks, createContext } from "./context.js";
import { type CreateOrderInput, createOrderCreation } from "./create.js";
import { type ListQuery, createOrderBook } from "./orders.js";
import {
  type AccountJson,
  type CreateAccountInput,
  type DepositJson,
  type Page,
  createAccounts,
} from "./accounts.js";
import { type ScanWrite, createAssignment, createPaymentWrites } from "./payments.js";
import { createSettlement } from "./settle.js";
import { createTimers } from "./timers.js";
import type { PageQuery } from "./page.js";
import type { OrderJson, PaymentJson } from "./view.js";

export type { OrderJson, PaymentJson } from "./view.js";
export type { CreateOrderInput } from "./create.js";
export type { AccountJson, CreateAccountInput, DepositJson, Page } from "./accounts.js";
export type { ListQuery } from "./orders.js";
export type { PageQuery } from "./page.js";
export type { ScanWrite } from "./payments.js";
export type { EventType } from "./outbox.js";
export type { LedgerHooks } from "./context.js";
export type { PaymentEventType } from "../core/payment.js";
export { BINDING_CLOCK_GRACE_MS } from "../core/payment.js";

export interface Ledger {
  createOrder(merchant: string, input: CreateOrderInput, now: number): { order: OrderJson; created: boolean };
  /**
   * Several creates in ONE transaction (one fsync), each in its own savepoint: a create that fails
   * (409, 503, …) rolls back alone and is returned as its error; the others commit together.
   */
  createOrders(
    batch: { merchant: string; input: CreateOrderInput }[],
    now: number,
  ): ({ ok: true; order: OrderJson; created: boolean } | { ok: false; error: unknown })[];
  // `owner`: the key name whose orders these are, or null for an operator (every order)
  getOrder(owner: string | null, id: string): OrderJson | undefined;
  findOrder(merchant: string, merchantOrderId: string): OrderJson | undefined;
  listOrders(owner: string | null, q: ListQuery): { orders: OrderJson[]; next_cursor: string | null };
  cancelOrder(owner: string | null, id: string, now: number): OrderJson;
  acceptOrder(owner: string | null, id: string, now: number): OrderJson;
  orderPayments(owner: string | null, id: string): PaymentJson[] | undefined;
  orderPaymentsPage(
    owner: string | null,
    id: string,
    page: PageQuery,
  ): { payments: PaymentJson[]; next_cursor: string | null } | undefined;
  ownsOrder(owner: string | null, id: string): boolean;
  unattributedPayments(page: PageQuery): { payments: PaymentJson[]; next_cursor: string | null };
  assignPayment(owner: string | null, paymentId: string, orderId: string, now: number): PaymentJson;
  /** a customer's deposit account (idempotent per customer_id and merchant) */
  createAccount(
    merchant: string,
    input: CreateAccountInput,
    now: number,
  ): { account: AccountJson; created: boolean };
  getAccount(merchant: string, id: string): AccountJson | undefined;
  listAccounts(
    merchant: string,
    q: Page & { customer_id?: string },
  ): { accounts: AccountJson[]; next_cursor: string | null };
  /** the account's payments, oldest first (not_found when another merchant's) */
  accountDeposits(
    merchant: string,
    id: string,
    q: Page,
  ): { deposits: DepositJson[]; next_cursor: string | null };
  /** stop attribution: the addresses are released to their pools' rules */
  closeAccount(merchant: string, id: string, now: number): AccountJson;
  ownsAccount(merchant: string, id: string): boolean;
  /** store a scanned batch: payments, blocks, cursor, confirmations, orders and events together */
  recordScan(w: ScanWrite, now: number): { payments: number; events: number };
  /** mempool view of a chain: new unconfirmed payments, and the ones that left without being mined */
  recordMempool(
    chain: string,
    transfers: Transfer[],
    now: number,
    settleMissing: boolean,
  ): { events: number };
  /** expire orders past their validity and end bindings past their late window */
  tick(now: number): { expired: number; released: number; events: number };
  /** On PostgreSQL, fold the counters' pending deltas (the timer runner's, fenced); returns rows changed. */
  foldCounters(): number;
  cursor(chain: string): { next_block: number; head: number; solid: number | null } | undefined;
  /** events this ledger has written so far (callers compare to know whether to wake delivery) */
  eventsWritten(): number;
  initCursor(chain: string, nextBlock: number, now: number): void;
  recentBlocks(chain: string): Map<number, string>;
  /** canonical pool addresses of a chain added after row `afterId` (the watched set grows by these) */
  watchedAddresses(chain: string, afterId?: number): { id: number; address: string }[];
  /**
   * feeds `add` each canonical pool address added after row `afterId`, as `text.slice(start, end)`
   * (no string per address: a million load at start); returns the row to read after next time
   */
  loadWatched(
    chain: string,
    afterId: number,
    add: (text: string, start: number, end: number) => void,
  ): number;
  /** depositd audit --repair: record transfers the ledger misses through the scan's write path */
  recordRepair(chain: string, transfers: Transfer[], heads: Heads, now: number): number;
}

type WriteKind = Parameters<NonNullable<LedgerHooks["onWrite"]>>[0];

/** pool rows per read while loading the watched set (one string of about 430 kB for EVM) */
const WATCHED_CHUNK = 10_000;

export function createLedger(db: DB, common: Common, catalog: Catalog, hooks: LedgerHooks = {}): Ledger {
  const ctx = createContext(db, common, catalog, hooks);
  const settle = createSettlement(ctx);
  const create = createOrderCreation(ctx);
  const book = createOrderBook(ctx);
  const accounts = createAccounts(ctx);
  const payments = createPaymentWrites(ctx, settle, accounts);
  const timers = createTimers(ctx, settle);
  const { s, outbox } = ctx;

  /** run one write transaction, reporting its duration and how many events it appended */
  function timed<T>(kind: WriteKind, fn: () => T): { result: T; events: number } {
    const before = outbox.written();
    const t0 = hooks.onWrite ? performance.now() : 0;
    try {
      const result = fn();
      return { result, events: outbox.written() - before };
    } finally {
      hooks.onWrite?.(kind, performance.now() - t0);
    }
  }

  /** Run one write transaction; once it committed, tell onCommit what changed (its error is not the write's). */
  function committed<T>(fn: () => T, head?: { chain: string; head: number }): T {
    outbox.takeChanged(); // whatever a rolled-back write left behind
    let result: T;
    try {
      result = fn();
    } catch (e) {
      outbox.takeChanged();
      throw e;
    }
    const orders = outbox.takeChanged();
    if (hooks.onCommit && (orders.length || head)) {
      try {
        hooks.onCommit({ orders, ...head });
      } catch (e) {
        common.logger.error({ err: (e as Error).message }, "onCommit hook failed");
      }
    }
    return result;
  }
  const assign = createAssignment(ctx, settle);

  return {
    ...book,
    createAccount: (merchant, input, now) =>
      timed("create", () => accounts.createAccount(merchant, input, now)).result,
    getAccount: accounts.getAccount,
    listAccounts: accounts.listAccounts,
    accountDeposits: accounts.accountDeposits,
    closeAccount: (merchant, id, now) =>
      timed("other", () => accounts.closeAccount(merchant, id, now)).result,
    ownsAccount: accounts.ownsAccount,
    createOrder: (merchant, input, now) => create.createOne(merchant, input, now),
    createOrders: (batch, now) => timed("create", () => create.createBatch(batch, now)).result,
    cancelOrder: (merchant, id, now) => committed(() => book.cancelOrder(merchant, id, now)),
    acceptOrder: (merchant, id, now) => committed(() => book.acceptOrder(merchant, id, now)),
    assignPayment: (merchant, paymentId, orderId, now) =>
      committed(() => assign(merchant, paymentId, orderId, now)),
    recordScan(w, now) {
      const head = { chain: w.chain, head: w.heads.head };
      const { events } = timed("scan", () => committed(() => payments.recordScan(w, now), head));
      return { payments: w.transfers.length, events };
    },
    recordMempool(chain, transfers, now, settleMissing) {
      const write = () => payments.recordMempool(chain, transfers, now, settleMissing);
      return { events: timed("mempool", () => committed(write)).events };
    },
    tick(now) {
      const { result, events } = timed("tick", () => committed(() => timers.tick(now)));
      return { ...result, events };
    },
    foldCounters: () => timers.fold(),
    cursor: (chain) => s.cursor.get(chain),
    eventsWritten: () => outbox.written(),
    initCursor(chain, nextBlock, now) {
      ctx.db.transaction(() => {
        hooks.fence?.(watcherRole(chain));
        s.initCursor.run(chain, nextBlock, Math.max(0, nextBlock - 1), now);
      })();
    },
    recentBlocks: (chain) => new Map(s.recentBlocks.all(chain).map((b) => [b.number, b.hash])),
    watchedAddresses: (chain, afterId = 0) => s.poolAddresses.all(chain, afterId),
    loadWatched(chain, afterId, add) {
      let last = afterId;
      for (;;) {
        const [id, text] = s.poolAddressChunk.get(chain, last, WATCHED_CHUNK)!;
        if (id === null || text === null) return last;
        for (let start = 0; start <= text.length;) {
          let end = text.indexOf("\n", start);
          if (end < 0) end = text.length;
          add(text, start, end);
          start = end + 1;
        }
        last = id;
      }
    },
    recordRepair: (chain, transfers, heads, now) =>
      timed("scan", () => payments.recordRepair(chain, transfers, heads, now)).result,
  };
}
