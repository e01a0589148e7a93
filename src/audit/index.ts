// depositd audit: rescan a block range through another RPC URL than the watcher's and compare it
// with the ledger (src/core/audit.ts decides). --repair records what is missing through the
// ledger's normal write path, with its events.
import { adapterFor } from "../chains/index.js";
import type { ChainAdapter, Transfer } from "../chains/types.js";
import type { ChainConfig } from "../config/schema.js";
import type { Common } from "../common.js";
import { type AuditFinding, compareRange } from "../core/audit.js";
import type { DB } from "../db/index.js";
import { DepositdError } from "../errors.js";
import type { Catalog } from "../ledger/catalog.js";
import type { Ledger } from "../ledger/index.js";
import { redactUrl } from "../rpc/transport.js";
import { createChainStore } from "../watch/store.js";
import { auditStatements } from "./statements.js";

export interface AuditOptions {
  chain: string;
  from?: number;
  to?: number;
  /** audit through this URL instead of the chain's */
  rpc?: string;
  repair?: boolean;
  /** the background audit: move the chain's audit cursor past `to` with the findings */
  advance?: boolean;
}

export interface AuditReport {
  chain: string;
  from: number;
  to: number;
  /** the URLs (redaction is the transport's) the rescan used */
  urls: string[];
  found: number;
  stored: number;
  findings: AuditFinding[];
  repaired: number;
  ms: number;
}

export class AuditError extends DepositdError {
  override name = "AuditError";
}

/** The URLs to audit through: the given one, else every URL but the watcher's first, else that one. */
export function auditUrls(chain: ChainConfig, rpc?: string): string[] {
  if (rpc) return [rpc];
  return chain.rpc.length > 1 ? chain.rpc.slice(1) : chain.rpc;
}

export async function runAudit(
  deps: { db: DB; common: Common; catalog: Catalog; ledger: Ledger; adapter?: ChainAdapter },
  opts: AuditOptions,
): Promise<AuditReport> {
  const { db, common, catalog, ledger } = deps;
  const t0 = performance.now();
  const chain = catalog.chain(opts.chain);
  if (!chain) throw new AuditError(`unknown chain "${opts.chain}"`);
  const cursor = ledger.cursor(chain.id);
  if (!cursor) throw new AuditError(`chain ${chain.id} has not been scanned yet: nothing to audit`);
  const to = opts.to ?? cursor.next_block - 1;
  const sql = auditStatements(db);
  const lowest = sql.lowestBlock.get(chain.id);
  const from = opts.from ?? Math.min(lowest ?? to, to);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from)
    throw new AuditError(`bad range --from ${from} --to ${to}`);
  if (to >= cursor.next_block)
    throw new AuditError(`--to ${to} is past what the watcher has scanned (${cursor.next_block - 1})`);
  const urls = auditUrls(chain, opts.rpc);
  const shown = urls.map(redactUrl);
  const adapter =
    deps.adapter ??
    adapterFor({ ...chain, rpc: urls } as ChainConfig, catalog.assetsOfChain(chain.id), {
      logger: common.logger,
      secret: common.config.chainSecrets[chain.id],
    });
  try {
    const genesis = createChainStore(db).genesis(chain.id);
    await adapter.init(genesis === undefined ? {} : { genesis });
    const addresses = new Set(ledger.watchedAddresses(chain.id).map((a) => a.address));
    const watched = { has: (a: string) => addresses.has(a), size: addresses.size };
    const found: Transfer[] = [];
    const canonical = new Map<number, string>();
    for (let a = from; a <= to; a += chain.blocks_per_scan) {
      const r = await adapter.scan(a, Math.min(to, a + chain.blocks_per_scan - 1), watched);
      for (const b of r.blocks) canonical.set(b.number, b.hash);
      found.push(...r.transfers);
    }
    const stored = sql.storedPayments.all(chain.id, from, to);
    const findings = compareRange(found, stored, canonical);
    let repaired = 0;
    const missing = findings.flatMap((f) => (f.kind === "missing" && f.transfer ? [f.transfer] : []));
    if (opts.repair && missing.length)
      repaired = ledger.recordRepair(chain.id, missing, await adapter.heads(), common.now());
    // the range's verdict replaces what an earlier audit stored for it (GET /v1/audit, /healthz)
    const open =
      repaired > 0 && repaired === missing.length ? findings.filter((f) => f.kind !== "missing") : findings;
    storeFindings(db, chain.id, from, to, open, common.now(), opts.advance);
    return {
      chain: chain.id,
      from,
      to,
      urls: shown,
      found: found.length,
      stored: stored.length,
      findings,
      repaired,
      ms: performance.now() - t0,
    };
  } finally {
    if (!deps.adapter) await adapter.close?.();
  }
}

/** Replace the findings stored for blocks [from, to] of a chain (one transaction); `advance`: and
 *  move its audit cursor to to + 1. */
export function storeFindings(
  db: DB,
  chain: string,
  from: number,
  to: number,
  findings: readonly AuditFinding[],
  now: number,
  advance = false,
): void {
  const sql = auditStatements(db);
  db.transaction(() => {
    sql.clearRange.run(chain, from, to);
    for (const f of findings)
      sql.insertFinding.run({
        chain,
        kind: f.kind,
        txid: f.txid,
        idx: f.index,
        asset: f.asset,
        block: f.block ?? from,
        payment: f.payment,
        detail: f.detail,
        now,
      });
    if (advance) sql.advance.run({ chain, next: to + 1, blocks: to - from + 1, now });
  })();
}

/** The table rows and the summary line the CLI prints. */
export function formatAudit(r: AuditReport): { rows: Record<string, unknown>[]; summary: string } {
  const rows = r.findings.map((f) => ({
    kind: f.kind,
    block: f.block,
    txid: f.txid,
    index: f.index,
    asset: f.asset,
    payment: f.payment ?? "",
    detail: f.detail,
  }));
  const blocks = r.to - r.from + 1;
  const counts = (k: AuditFinding["kind"]) => r.findings.filter((f) => f.kind === k).length;
  const verdict = r.findings.length === 0 ? "MATCH" : "MISMATCH";
  const summary =
    `audit ${r.chain} blocks ${r.from}..${r.to} (${blocks}) via ${r.urls.length} URL(s): ${verdict} — ` +
    `${r.found} on chain, ${r.stored} stored; missing ${counts("missing")}, extra ${counts("extra")}, ` +
    `mismatch ${counts("mismatch")}, wrong_status ${counts("wrong_status")}` +
    (r.repaired ? `; repaired ${r.repaired}` : "") +
    ` (${((blocks * 1000) / Math.max(1, r.ms)).toFixed(0)} blocks/s)`;
  return { rows, summary };
}
