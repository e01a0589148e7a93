// The background self-audit (per chain `audit: { enabled, lag_blocks, batch_blocks }`): once a
// range is lag_blocks below the block the watcher scanned, it is rescanned through the audit URLs
// (auditUrls) and compared with the ledger by runAudit, batch by batch, with a persisted cursor.
// Findings go to logs, metrics, /healthz (a warning) and GET /v1/audit. It never repairs.
import type { Logger } from "pino";
import { adapterFor } from "../chains/index.js";
import type { ChainAdapter } from "../chains/types.js";
import type { ChainConfig } from "../config/schema.js";
import type { Common } from "../common.js";
import type { AuditFinding, AuditKind } from "../core/audit.js";
import type { DB } from "../db/index.js";
import type { Catalog } from "../ledger/catalog.js";
import type { Ledger } from "../ledger/index.js";
import type { AuditFindingsSource } from "../console/data.js";
import { backoffDelay, sleep } from "../rpc/retry.js";
import { type AuditReport, auditUrls, runAudit } from "./index.js";
import { type AuditCursorRow, type AuditFindingRow, auditStatements } from "./statements.js";

export const DEFAULT_AUDIT = { lag_blocks: 100, batch_blocks: 500, interval_ms: 60_000 };

export interface AuditLoopDeps {
  db: DB;
  common: Common;
  catalog: Catalog;
  ledger: Ledger;
  /** after each audited batch (metrics) */
  onBatch?: (chain: string, blocks: number, findings: readonly AuditFinding[]) => void;
  onRequest?: (chain: string, url: string, ok: boolean, ms: number) => void;
  /** replace a chain's audit adapter (tests) */
  adapters?: Record<string, ChainAdapter>;
}

export interface AuditLoop {
  start(): void;
  stop(): Promise<void>;
  /** audit one batch of `chain` if one is due; null when none is */
  runOnce(chain: string): Promise<AuditReport | null>;
  readonly chains: string[];
}

type AuditSettings = typeof DEFAULT_AUDIT;
const settingsOf = (c: ChainConfig): AuditSettings => ({ ...DEFAULT_AUDIT, ...c.audit });

/** the chains with audit.enabled */
export function auditedChains(chains: readonly ChainConfig[]): ChainConfig[] {
  return chains.filter((c) => c.audit?.enabled === true);
}

export function createAuditLoop(deps: AuditLoopDeps): AuditLoop {
  const { db, common, catalog, ledger } = deps;
  const sql = auditStatements(db);
  const chains = auditedChains(common.config.chains);
  const adapters = new Map<string, ChainAdapter>();
  const log: Logger = common.logger.child({ component: "audit" });
  let running = false;
  const stopper = new AbortController();
  let loops: Promise<void>[] = [];

  function adapterOf(chain: ChainConfig): ChainAdapter {
    let a = adapters.get(chain.id) ?? deps.adapters?.[chain.id];
    if (!a) {
      a = adapterFor({ ...chain, rpc: auditUrls(chain) } as ChainConfig, catalog.assetsOfChain(chain.id), {
        logger: log.child({ chain: chain.id }),
        secret: common.config.chainSecrets[chain.id],
        onRequest: (url, ok, ms) => deps.onRequest?.(chain.id, url, ok, ms),
      });
    }
    adapters.set(chain.id, a);
    return a;
  }

  /** where a chain's audit starts: start_block, else its oldest stored payment, else the watcher's cursor */
  function cursorOf(chain: ChainConfig): AuditCursorRow | null {
    const row = sql.cursor.get(chain.id);
    if (row) return row;
    const watched = ledger.cursor(chain.id);
    if (!watched) return null; // not scanned yet
    const lowest = sql.lowestBlock.get(chain.id) ?? null;
    const start =
      typeof chain.start_block === "number"
        ? chain.start_block
        : Math.min(lowest ?? watched.next_block, watched.next_block);
    sql.initCursor.run(chain.id, start);
    return sql.cursor.get(chain.id)!;
  }

  async function runOnce(id: string): Promise<AuditReport | null> {
    const chain = chains.find((c) => c.id === id);
    if (!chain) return null;
    const settings = settingsOf(chain);
    const cursor = cursorOf(chain);
    const watched = ledger.cursor(chain.id);
    if (!cursor || !watched) return null;
    const limit = watched.next_block - 1 - settings.lag_blocks;
    if (cursor.next_block > limit) return null;
    const from = cursor.next_block;
    const to = Math.min(limit, from + settings.batch_blocks - 1);
    try {
      const report = await runAudit(
        { db, common, catalog, ledger, adapter: adapterOf(chain) },
        { chain: chain.id, from, to, advance: true },
      );
      deps.onBatch?.(chain.id, to - from + 1, report.findings);
      for (const f of report.findings)
        log.warn(
          {
            chain: chain.id,
            kind: f.kind,
            block: f.block,
            txid: f.txid,
            index: f.index,
            asset: f.asset,
            payment: f.payment,
            detail: f.detail,
          },
          "AUDIT FINDING: the ledger and the chain disagree (not repaired; see depositd audit --repair)",
        );
      log.info(
        { chain: chain.id, from, to, findings: report.findings.length, ms: Math.round(report.ms) },
        "audited",
      );
      return report;
    } catch (e) {
      sql.failed.run({ chain: chain.id, now: common.now(), error: (e as Error).message });
      throw e;
    }
  }

  async function run(chain: ChainConfig): Promise<void> {
    const settings = settingsOf(chain);
    let failures = 0;
    while (running) {
      try {
        const r = await runOnce(chain.id);
        failures = 0;
        if (!r) await sleep(settings.interval_ms, stopper.signal);
      } catch (e) {
        failures++;
        const delay = backoffDelay(failures - 1, 1_000, 60_000);
        log.warn(
          { chain: chain.id, err: (e as Error).message, retryInMs: delay },
          "audit pass failed; retrying",
        );
        await sleep(delay, stopper.signal);
      }
    }
  }

  return {
    chains: chains.map((c) => c.id),
    start() {
      if (running) return;
      running = true;
      loops = chains.map(run);
    },
    async stop() {
      running = false;
      stopper.abort();
      await Promise.all(loops);
      await Promise.all([...adapters.values()].map((a) => a.close?.()));
    },
    runOnce,
  };
}

export interface AuditChainState {
  chain: string;
  enabled: boolean;
  /** next block to audit; null before the first pass */
  next_block: number | null;
  blocks_audited: number;
  last_run_at: number | null;
  last_error: string | null;
  findings: Record<AuditKind, number>;
}

const noFindings = (): Record<AuditKind, number> => ({ missing: 0, extra: 0, mismatch: 0, wrong_status: 0 });

/** Every configured chain's audit state, from the database (GET /v1/audit, /healthz, metrics). */
export function auditState(db: DB, chains: readonly ChainConfig[]): AuditChainState[] {
  const sql = auditStatements(db);
  const cursors = new Map(sql.cursors.all().map((r) => [r.chain, r]));
  const counts = new Map<string, Record<AuditKind, number>>();
  for (const r of sql.findingCounts.all()) {
    let c = counts.get(r.chain);
    if (!c) counts.set(r.chain, (c = noFindings()));
    c[r.kind] = r.n;
  }
  return chains.map((c) => {
    const row = cursors.get(c.id);
    return {
      chain: c.id,
      enabled: c.audit?.enabled === true,
      next_block: row?.next_block ?? null,
      blocks_audited: row?.blocks_audited ?? 0,
      last_run_at: row?.last_run_at ?? null,
      last_error: row?.last_error ?? null,
      findings: counts.get(c.id) ?? noFindings(),
    };
  });
}

/** The newest stored findings of a chain. */
export function auditFindings(db: DB, chain: string, limit: number): AuditFindingRow[] {
  return auditStatements(db).findings.all(chain, limit);
}

/**
 * /healthz: always ok — a finding needs a person, and restarting the daemon (what a failing check
 * invites) changes nothing; the findings are warnings.
 */
export function auditHealth(db: DB, chains: readonly ChainConfig[]): { ok: true; detail: unknown } {
  const state = auditState(db, auditedChains(chains));
  const warnings: string[] = [];
  for (const s of state) {
    const n = Object.values(s.findings).reduce((a, b) => a + b, 0);
    if (n > 0)
      warnings.push(
        `${s.chain}: ${n} audit finding(s) (` +
          Object.entries(s.findings)
            .filter(([, v]) => v > 0)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ") +
          "); see GET /v1/audit",
      );
    if (s.last_error) warnings.push(`${s.chain}: last audit pass failed: ${s.last_error}`);
  }
  return {
    ok: true,
    detail: {
      chains: Object.fromEntries(
        state.map((s) => [
          s.chain,
          { next_block: s.next_block, blocks_audited: s.blocks_audited, findings: s.findings },
        ]),
      ),
      warnings,
    },
  };
}

/** The console overview's view of the stored findings (src/console/data.ts loadAudit). */
export function auditFindingsSource(db: DB): AuditFindingsSource {
  const sql = auditStatements(db);
  return {
    counts() {
      const by = noFindings();
      for (const r of sql.findingCounts.all()) by[r.kind] += r.n;
      return Object.entries(by).map(([kind, n]) => ({ kind: kind as AuditKind, n }));
    },
    recent: (limit) =>
      sql.recentFindings.all(limit).map((f) => ({
        chain: f.chain,
        found_at: f.found_at,
        finding: {
          kind: f.kind,
          txid: f.txid,
          index: f.idx,
          asset: f.asset,
          block: f.block_number,
          payment: f.payment_id,
          detail: f.detail,
        },
      })),
    cursors: () =>
      sql.cursors.all().map((c) => ({
        chain: c.chain,
        next_block: c.next_block,
        last_run_at: c.last_run_at,
        last_error: c.last_error,
      })),
  };
}
