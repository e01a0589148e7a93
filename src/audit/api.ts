// GET /v1/audit (operators): the self-audit's state per chain and its stored findings, from the
// database (src/audit/statements.ts); the background audit and `depositd audit` write them.
import type { ApiContext, Input, Reply } from "../api/handlers.js";
import type { AuditReportJson } from "../api/schemas.js";
import { ProblemError } from "../errors.js";
import { auditFindings, auditState } from "./background.js";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function getAudit(
  ctx: ApiContext,
  { query }: Input<unknown, { chain?: string; limit: number }>,
): Reply {
  const all = ctx.common.config.chains;
  const chains = query.chain === undefined ? all : all.filter((c) => c.id === query.chain);
  if (chains.length === 0)
    throw new ProblemError("validation", `unknown chain "${query.chain}"`, [
      { path: "chain", message: `unknown chain "${query.chain}"` },
    ]);
  const body: AuditReportJson = {
    chains: auditState(ctx.db, chains).map((s) => ({
      chain: s.chain,
      enabled: s.enabled,
      next_block: s.next_block,
      blocks_audited: s.blocks_audited,
      last_run_at: iso(s.last_run_at),
      last_error: s.last_error,
      counts: s.findings,
      findings: auditFindings(ctx.db, s.chain, query.limit).map((f) => ({
        kind: f.kind,
        txid: f.txid,
        index: f.idx,
        asset: f.asset,
        block: f.block_number,
        payment_id: f.payment_id,
        detail: f.detail,
        found_at: iso(f.found_at)!,
      })),
    })),
  };
  return { status: 200, body };
}
