// Every SQL statement of the audit (SQLite): what the ledger stored, to compare with the chain;
// the background audit's cursor and the stored findings (migrations/0010_audit.sql).
import type { AuditKind, StoredPayment } from "../core/audit.js";
import type { DB } from "../db/index.js";
import { perDatabase } from "../db/statements.js";

export interface AuditCursorRow {
  chain: string;
  next_block: number;
  blocks_audited: number;
  last_run_at: number | null;
  last_error: string | null;
}

export interface AuditFindingRow {
  id: number;
  chain: string;
  kind: AuditKind;
  txid: string;
  idx: number;
  asset: string;
  block_number: number;
  payment_id: string | null;
  detail: string;
  found_at: number;
}

function prepare(db: DB) {
  return {
    /** the lowest block a payment of the chain is in (null: none) */
    lowestBlock: db
      .prepare<[string], number | null>("SELECT min(block_number) FROM payments WHERE chain = ?")
      .pluck(),
    storedPayments: db.prepare<[string, number, number], StoredPayment>(
      `SELECT id, txid, idx, asset, address, amount, block_number, block_hash, status FROM payments
       WHERE chain = ? AND block_number BETWEEN ? AND ? ORDER BY block_number, id`,
    ),
    cursor: db.prepare<[string], AuditCursorRow>("SELECT * FROM audit_cursors WHERE chain = ?"),
    cursors: db.prepare<[], AuditCursorRow>("SELECT * FROM audit_cursors ORDER BY chain"),
    initCursor: db.prepare<[string, number]>(
      "INSERT INTO audit_cursors (chain, next_block) VALUES (?, ?) ON CONFLICT (chain) DO NOTHING",
    ),
    advance: db.prepare<[{ chain: string; next: number; blocks: number; now: number }]>(
      `UPDATE audit_cursors SET next_block = @next, blocks_audited = blocks_audited + @blocks,
         last_run_at = @now, last_error = NULL WHERE chain = @chain`,
    ),
    failed: db.prepare<[{ chain: string; now: number; error: string }]>(
      "UPDATE audit_cursors SET last_run_at = @now, last_error = @error WHERE chain = @chain",
    ),
    clearRange: db.prepare<[string, number, number]>(
      "DELETE FROM audit_findings WHERE chain = ? AND block_number BETWEEN ? AND ?",
    ),
    insertFinding: db.prepare<
      [
        {
          chain: string;
          kind: string;
          txid: string;
          idx: number;
          asset: string;
          block: number;
          payment: string | null;
          detail: string;
          now: number;
        },
      ]
    >(
      `INSERT INTO audit_findings (chain, kind, txid, idx, asset, block_number, payment_id, detail, found_at)
       VALUES (@chain, @kind, @txid, @idx, @asset, @block, @payment, @detail, @now)`,
    ),
    findings: db.prepare<[string, number], AuditFindingRow>(
      "SELECT * FROM audit_findings WHERE chain = ? ORDER BY block_number DESC, id DESC LIMIT ?",
    ),
    recentFindings: db.prepare<[number], AuditFindingRow>(
      "SELECT * FROM audit_findings ORDER BY found_at DESC, id DESC LIMIT ?",
    ),
    findingCounts: db.prepare<[], { chain: string; kind: AuditKind; n: number }>(
      "SELECT chain, kind, count(*) AS n FROM audit_findings GROUP BY chain, kind ORDER BY chain, kind",
    ),
  };
}

export const auditStatements = perDatabase(prepare);
