// The deposit-account operations (top-up addresses) as plain functions: validated input in, a
// reply out, or a ProblemError. Mounted by their entries in routes.ts.
import { ProblemError } from "../errors.js";
import { listAccountEvents } from "../notify/redeliver.js";
import { checkCallbackTarget } from "../notify/targets.js";
import type { ApiContext, Input, Reply } from "./handlers.js";
import type { CreateAccountBody } from "./schemas.js";

type Id = { id: string };
type PageQuery = { limit: number; cursor?: string };

const notFound = (id: string) => new ProblemError("not_found", `deposit account ${id} not found`);

export async function createAccount(
  ctx: ApiContext,
  { merchant, body }: Input<unknown, unknown, CreateAccountBody>,
): Promise<Reply> {
  const problem = await checkCallbackTarget(
    body.callback_url,
    ctx.common.config.notify.allow_private_targets,
  );
  if (problem)
    throw new ProblemError("validation", "the deposit account is not valid", [
      { path: "callback_url", message: problem },
    ]);
  const { account, created } = ctx.ledger.createAccount(merchant, body, ctx.common.now());
  return { status: created ? 201 : 200, body: account };
}

export function listAccounts(
  ctx: ApiContext,
  { merchant, query }: Input<unknown, PageQuery & { customer_id?: string }>,
): Reply {
  return { status: 200, body: ctx.ledger.listAccounts(merchant, query) };
}

export function getAccount(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  const account = ctx.ledger.getAccount(merchant, params.id);
  if (!account) throw notFound(params.id);
  return { status: 200, body: account };
}

export function accountDeposits(ctx: ApiContext, { merchant, params, query }: Input<Id, PageQuery>): Reply {
  return { status: 200, body: ctx.ledger.accountDeposits(merchant, params.id, query) };
}

export function closeAccount(ctx: ApiContext, { merchant, params }: Input<Id>): Reply {
  return { status: 200, body: ctx.ledger.closeAccount(merchant, params.id, ctx.common.now()) };
}

export function accountEvents(
  ctx: ApiContext,
  { merchant, params, query }: Input<Id, { after?: number }>,
): Reply {
  if (!ctx.ledger.ownsAccount(merchant, params.id)) throw notFound(params.id);
  return { status: 200, body: { events: listAccountEvents(ctx.db, params.id, query.after) } };
}
