-- The background self-audit (issue 16, src/audit/background.ts): per chain the next block to
-- audit, and the findings of the last audit of each block. A re-audit of a range (background or
-- `depositd audit`) replaces that range's findings: what is stored is the current verdict.
CREATE TABLE audit_cursors (
  chain           TEXT PRIMARY KEY,
  next_block      INTEGER NOT NULL,
  blocks_audited  INTEGER NOT NULL DEFAULT 0,
  last_run_at     INTEGER,
  last_error      TEXT
) WITHOUT ROWID;

-- kind: missing | extra | mismatch | wrong_status (src/core/audit.ts)
CREATE TABLE audit_findings (
  id            INTEGER PRIMARY KEY,
  chain         TEXT NOT NULL,
  kind          TEXT NOT NULL,
  txid          TEXT NOT NULL,
  idx           INTEGER NOT NULL,
  asset         TEXT NOT NULL,
  block_number  INTEGER NOT NULL,
  payment_id    TEXT,
  detail        TEXT NOT NULL,
  found_at      INTEGER NOT NULL
);
CREATE INDEX audit_findings_by_block ON audit_findings (chain, block_number);
-- the newest findings first (the console, GET /v1/audit), without sorting the table
CREATE INDEX audit_findings_recent ON audit_findings (found_at);
