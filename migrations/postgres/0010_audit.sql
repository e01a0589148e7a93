-- Twin of migrations/0010_audit.sql: the background self-audit's cursor per chain and the findings
-- of the last audit of each block (WITHOUT ROWID dropped, the id an identity).
CREATE TABLE audit_cursors (
  chain           TEXT PRIMARY KEY,
  next_block      BIGINT NOT NULL,
  blocks_audited  BIGINT NOT NULL DEFAULT 0,
  last_run_at     BIGINT,
  last_error      TEXT
);

-- kind: missing | extra | mismatch | wrong_status (src/core/audit.ts)
CREATE TABLE audit_findings (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain         TEXT NOT NULL,
  kind          TEXT NOT NULL,
  txid          TEXT NOT NULL,
  idx           BIGINT NOT NULL,
  asset         TEXT NOT NULL,
  block_number  BIGINT NOT NULL,
  payment_id    TEXT,
  detail        TEXT NOT NULL,
  found_at      BIGINT NOT NULL
);
CREATE INDEX audit_findings_by_block ON audit_findings (chain, block_number);
CREATE INDEX audit_findings_recent ON audit_findings (found_at);
