-- Twin of migrations/0007_deposit_accounts.sql.
-- Deposit accounts (top-up addresses): a permanent address per chain for one customer of a
-- merchant, every payment into it a deposit. They bind pool addresses through the same bindings
-- table as orders, so the one-live-binding-per-address index keeps an address exclusive to one
-- order OR one account at a time.

CREATE TABLE deposit_accounts (
  id            TEXT PRIMARY KEY,
  merchant      TEXT NOT NULL,                 -- API key name
  customer_id   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('open', 'closed')),
  callback_url  TEXT NOT NULL,
  metadata      TEXT NOT NULL DEFAULT '{}',
  request_hash  TEXT NOT NULL,                 -- sha256 of the create body, for idempotent re-sends
  event_seq     BIGINT NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL,
  updated_at    BIGINT NOT NULL,
  closed_at     BIGINT,
  UNIQUE (merchant, customer_id)
);
CREATE INDEX deposit_accounts_created ON deposit_accounts (merchant, created_at DESC, id DESC);

-- bindings gets a nullable order_id and an account_id: exactly one of them is set. SQLite rebuilds
-- the table for this; PostgreSQL alters it in place (ids and rows stay as they are).
ALTER TABLE bindings ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE bindings ADD COLUMN account_id TEXT REFERENCES deposit_accounts (id);
ALTER TABLE bindings ADD CHECK ((order_id IS NULL) <> (account_id IS NULL));
-- One live binding per address, across orders AND accounts (bindings_one_live_per_address stays).
DROP INDEX bindings_one_per_order_chain;
CREATE UNIQUE INDEX bindings_one_per_order_chain ON bindings (order_id, chain) WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX bindings_one_per_account_chain ON bindings (account_id, chain) WHERE account_id IS NOT NULL;

-- A payment belongs to an order, to an account (a deposit), or to nobody (unattributed).
ALTER TABLE payments ADD COLUMN account_id TEXT REFERENCES deposit_accounts (id);
CREATE INDEX payments_account ON payments (account_id, created_at, id) WHERE account_id IS NOT NULL;
DROP INDEX payments_unattributed;
CREATE INDEX payments_unattributed ON payments (created_at) WHERE order_id IS NULL AND account_id IS NULL;
-- Triggers, as in SQLite (a CHECK would do, but the two schemas keep the same constraints).
CREATE FUNCTION payments_one_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a payment belongs to an order or an account, not both' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER payments_one_owner BEFORE INSERT ON payments
  FOR EACH ROW WHEN (NEW.order_id IS NOT NULL AND NEW.account_id IS NOT NULL) EXECUTE FUNCTION payments_one_owner();
CREATE TRIGGER payments_one_owner_update BEFORE UPDATE OF order_id, account_id ON payments
  FOR EACH ROW WHEN (NEW.order_id IS NOT NULL AND NEW.account_id IS NOT NULL) EXECUTE FUNCTION payments_one_owner();

-- Account events share the outbox; their seq counts per account.
ALTER TABLE events ADD COLUMN account_id TEXT REFERENCES deposit_accounts (id);
CREATE UNIQUE INDEX events_account_seq ON events (account_id, seq) WHERE account_id IS NOT NULL;
