// Deposit accounts (top-up addresses): create (idempotent per customer_id), read, list, close, and
// the deposit events of their payments. Each loads rows (account-statements.ts), lets
// src/core/account.ts decide, then writes rows and outbox events in one transaction.
import {
  type AccountStatus,
  type DepositEventType,
  accountChains,
  decideAccountCreate,
  decideClose,
} from "../core/account.js";
import { decodeCursor, encodeCursor } from "../core/paging.js";
import { ProblemError } from "../errors.js";
import { handOutTransaction } from "../db/pg-sync.js";
import { newId } from "../ids.js";
import { iso } from "../time.js";
import type { AccountJson, CreateAccountBody, DepositJson } from "../api/schemas.js";
import type { AccountRow } from "./account-statements.js";
import type { LedgerContext } from "./context.js";
import { claimFreeAddress, requestHash } from "./create.js";
import { releaseBinding } from "./timers.js";
import type { PaymentRow } from "./view.js";

export type { AccountJson, DepositJson };
export type CreateAccountInput = CreateAccountBody;

export interface Page {
  limit: number;
  cursor?: string;
}

/** A cursor of [created_at, id], or a validation problem naming the field. */
function pageAfter(cursor: string | undefined): { created: number; id: string } | undefined {
  if (cursor === undefined) return undefined;
  const key = decodeCursor(cursor, 2);
  if (!key || typeof key[0] !== "number" || typeof key[1] !== "string")
    throw new ProblemError("validation", "bad cursor", [
      { path: "cursor", message: "not a cursor from this API" },
    ]);
  return { created: key[0], id: key[1] };
}

/** The page and its next_cursor from `limit + 1` rows. */
function paged<R extends { created_at: number; id: string }>(rows: R[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, next: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null };
}

export function createAccounts(ctx: LedgerContext) {
  const { db, a, catalog, views, outbox } = ctx;
  const log = ctx.common.logger;

  const view = (row: AccountRow): AccountJson => ({
    id: row.id,
    customer_id: row.customer_id,
    status: row.status,
    addresses: a.addresses.all(row.id),
    callback_url: row.callback_url,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    created_at: iso(row.created_at),
    closed_at: row.closed_at === null ? null : iso(row.closed_at),
  });

  function deposit(p: PaymentRow): DepositJson {
    // the payment's view without what only orders have (order_id, late, unexpected_asset)
    const { order_id: _order, late: _late, unexpected_asset: _unexpected, ...rest } = views.payment(p);
    return { ...rest, account_id: p.account_id! };
  }

  function owned(merchant: string, id: string): AccountRow {
    const row = a.accountById.get(id);
    if (!row || row.merchant !== merchant)
      throw new ProblemError("not_found", `deposit account ${id} not found`);
    return row;
  }

  const create = handOutTransaction(
    db,
    (
      merchant: string,
      input: CreateAccountInput,
      now: number,
    ): { account: AccountJson; created: boolean } => {
      const hash = requestHash(input);
      const existing = a.accountByCustomer.get(merchant, input.customer_id);
      const d = decideAccountCreate(existing && { requestHash: existing.request_hash }, hash);
      if (d === "conflict")
        throw new ProblemError(
          "conflict",
          `customer_id ${input.customer_id} already has a deposit account made with a different body`,
        );
      if (d === "existing") return { account: view(existing!), created: false };
      const chains = accountChains(
        input.chains,
        catalog.chains.map((c) => ({ id: c.id, purpose: c.pool.purpose ?? "both" })),
      );
      if (!chains.ok)
        throw new ProblemError("validation", "the deposit account is not valid", [
          { path: chains.path, message: chains.message },
        ]);
      const id = newId("acc", now);
      a.insertAccount.run({
        id,
        merchant,
        customer_id: input.customer_id,
        callback_url: input.callback_url,
        metadata: JSON.stringify(input.metadata ?? {}),
        request_hash: hash,
        now,
      });
      for (const chain of chains.chains) {
        const free = claimFreeAddress(ctx, chain, now);
        a.bind.run(chain, free.address, id, now);
      }
      log.info(
        { account: id, customer_id: input.customer_id, chains: chains.chains },
        "deposit account created",
      );
      return { account: view(a.accountById.get(id)!), created: true };
    },
  );

  const close = (merchant: string, id: string, now: number): AccountJson =>
    db.transaction(() => {
      const row = owned(merchant, id);
      if (decideClose(row.status as AccountStatus) === "unchanged") return view(row);
      for (const b of a.liveBindings.all(id)) releaseBinding(ctx, b, now);
      a.close.run(now, now, id);
      log.info({ account: id }, "deposit account closed");
      return view(a.accountById.get(id)!);
    })();

  /**
   * A payment of an account changed (already written): append its deposit events with the next
   * seqs of the account, the account and the deposit serialized once (inside the caller's transaction).
   */
  function depositChanged(
    paymentId: string,
    accountId: string,
    types: readonly DepositEventType[],
    now: number,
  ) {
    if (types.length === 0) return;
    const row = a.accountById.get(accountId)!;
    const payment = ctx.s.paymentById.get(paymentId)!;
    const accountJson = JSON.stringify(view(row));
    const depositJson = JSON.stringify(deposit(payment));
    let seq = a.bumpSeq.get(types.length, accountId)!.event_seq - types.length;
    for (const type of types)
      outbox.appendAccount({
        type,
        accountId,
        seq: ++seq,
        url: row.callback_url,
        paymentId,
        accountJson,
        depositJson,
        now,
      });
  }

  return {
    createAccount: (merchant: string, input: CreateAccountInput, now: number) => create(merchant, input, now),
    getAccount(merchant: string, id: string): AccountJson | undefined {
      const row = a.accountById.get(id);
      return row && row.merchant === merchant ? view(row) : undefined;
    },
    listAccounts(
      merchant: string,
      q: Page & { customer_id?: string },
    ): { accounts: AccountJson[]; next_cursor: string | null } {
      const after = pageAfter(q.cursor);
      const rows = a.listAccounts({ merchant, customerId: q.customer_id, after, limit: q.limit + 1 });
      const { page, next } = paged(rows, q.limit);
      return { accounts: page.map(view), next_cursor: next };
    },
    accountDeposits(
      merchant: string,
      id: string,
      q: Page,
    ): { deposits: DepositJson[]; next_cursor: string | null } {
      owned(merchant, id);
      const { page, next } = paged(a.deposits(id, pageAfter(q.cursor), q.limit + 1), q.limit);
      return { deposits: page.map(deposit), next_cursor: next };
    },
    closeAccount: close,
    ownsAccount: (merchant: string, id: string): boolean => a.accountById.get(id)?.merchant === merchant,
    depositChanged,
  };
}

export type Accounts = ReturnType<typeof createAccounts>;
