// What every part of the ledger shares: its statements, views, the outbox and row loaders.
import type { Common } from "../common.js";
import type { DB } from "../db/index.js";
import { type AccountStatements, createAccountStatements } from "./account-statements.js";
import type { Catalog } from "./catalog.js";
import { checkoutUrl } from "../checkout/url.js";
import { type Outbox, createOutbox } from "./outbox.js";
import { ProblemError } from "../errors.js";
import { type Statements, createStatements } from "./statements.js";
import { paymentVia } from "../core/payment.js";
import { type OptionRow, type OrderRow, type Views, createViews } from "./view.js";

export interface LedgerHooks {
  /** called after every write transaction with its kind and duration (metrics) */
  onWrite?: (kind: "create" | "scan" | "mempool" | "tick" | "other", ms: number) => void;
  /** derive more addresses for an xpub pool that ran out; true when some were added */
  topUpPool?: (chain: string, now: number) => boolean;
  /** time of the newest block the chain's watcher has scanned (null: none yet). Given, deadlines
   *  pass only once every involved chain has passed them (src/core/deadline.ts); absent, the
   *  wall clock alone decides. */
  scannedTime?: (chain: string) => number | null;
  /**
   * after a write committed: the orders it appended events for, and the chain head a scan stored
   * (the checkout page's live status fans out from here); never called for a rolled-back write
   */
  onCommit?: (c: { orders: string[]; chain?: string; head?: number }) => void;
  /**
   * first thing inside every write of a chain's watcher (role "watch:<chain>") and of the timer
   * (role "timers"): throws, rolling the write back, when this instance no longer holds the role
   * (several instances on PostgreSQL: src/db/lease.ts); absent, nothing is fenced (one instance)
   */
  fence?: (role: string) => void;
}

export interface LedgerContext {
  db: DB;
  s: Statements;
  /** the deposit accounts' statements */
  a: AccountStatements;
  common: Common;
  catalog: Catalog;
  hooks: LedgerHooks;
  views: Views;
  outbox: Outbox;
  /** an order's options (cached: they never change after create) */
  optionsOf(orderId: string): OptionRow[];
  /** a create's options as inserted (RETURNING), so its view does not read them back */
  rememberOptions(orderId: string, rows: OptionRow[]): void;
  loadOrder(id: string): OrderRow;
  /** the order if `owner` owns it (null: an operator, any order), else not_found */
  ownedOrder(owner: string | null, id: string): OrderRow;
}

export function createContext(db: DB, common: Common, catalog: Catalog, hooks: LedgerHooks): LedgerContext {
  const s = createStatements(db);
  const a = createAccountStatements(db);
  // An order's options never change after create: cache them (bounded) for the hot write paths.
  const optionCache = new Map<string, OptionRow[]>();
  function rememberOptions(orderId: string, rows: OptionRow[]): void {
    if (rows.length === 0) return; // not created yet, or rolled back: never cache
    if (optionCache.size >= 20_000) optionCache.clear();
    optionCache.set(orderId, rows);
  }
  function optionsOf(orderId: string): OptionRow[] {
    let o = optionCache.get(orderId);
    if (!o) {
      o = s.options.all(orderId);
      rememberOptions(orderId, o);
    }
    return o;
  }
  function loadOrder(id: string): OrderRow {
    const row = s.orderById.get(id);
    if (!row) throw new ProblemError("not_found", `order ${id} not found`);
    return row;
  }
  function ownedOrder(owner: string | null, id: string): OrderRow {
    const row = s.orderById.get(id);
    if (!row || (owner !== null && row.merchant !== owner))
      throw new ProblemError("not_found", `order ${id} not found`);
    return row;
  }
  const views = createViews(
    s,
    (asset) => catalog.asset(asset)?.decimals ?? 0,
    optionsOf,
    (token) => checkoutUrl(common.config, token),
    (p) => paymentVia(catalog.chain(p.chain)?.kind, catalog.asset(p.asset)?.contract !== undefined),
  );
  const outbox = createOutbox(s, views, loadOrder, common.config.notify.unattributed_url, a);
  return {
    db,
    s,
    a,
    common,
    catalog,
    hooks,
    views,
    outbox,
    optionsOf,
    rememberOptions,
    loadOrder,
    ownedOrder,
  };
}
