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
  event_seq     INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  closed_at     INTEGER,
  UNIQUE (merchant, customer_id)
);
CREATE INDEX deposit_accounts_created ON deposit_accounts (merchant, created_at DESC, id DESC);

-- bindings again, with a nullable order_id and an account_id: exactly one of them is set.
CREATE TABLE bindings_new (
  id           INTEGER PRIMARY KEY,
  chain        TEXT NOT NULL,
  address      TEXT NOT NULL,
  order_id     TEXT REFERENCES orders (id),
  account_id   TEXT REFERENCES deposit_accounts (id),
  bound_at     INTEGER NOT NULL,
  released_at  INTEGER,
  CHECK ((order_id IS NULL) <> (account_id IS NULL))
);
INSERT INTO bindings_new (id, chain, address, order_id, bound_at, released_at)
  SELECT id, chain, address, order_id, bound_at, released_at FROM bindings;
DROP TABLE bindings;
ALTER TABLE bindings_new RENAME TO bindings;
-- One live binding per address, across orders AND accounts.
CREATE UNIQUE INDEX bindings_one_live_per_address ON bindings (chain, address) WHERE released_at IS NULL;
CREATE UNIQUE INDEX bindings_one_per_order_chain ON bindings (order_id, chain) WHERE order_id IS NOT NULL;
CREATE UNIQUE INDEX bindings_one_per_account_chain ON bindings (account_id, chain) WHERE account_id IS NOT NULL;

-- A payment belongs to an order, to an account (a deposit), or to nobody (unattributed).
ALTER TABLE payments ADD COLUMN account_id TEXT REFERENCES deposit_accounts (id);
CREATE INDEX payments_account ON payments (account_id, created_at, id) WHERE account_id IS NOT NULL;
DROP INDEX payments_unattributed;
CREATE INDEX payments_unattributed ON payments (created_at) WHERE order_id IS NULL AND account_id IS NULL;
CREATE TRIGGER payments_one_owner BEFORE INSERT ON payments
  WHEN NEW.order_id IS NOT NULL AND NEW.account_id IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a payment belongs to an order or an account, not both');
END;
CREATE TRIGGER payments_one_owner_update BEFORE UPDATE OF order_id, account_id ON payments
  WHEN NEW.order_id IS NOT NULL AND NEW.account_id IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'a payment belongs to an order or an account, not both');
END;

-- Account events share the outbox; their seq counts per account.
ALTER TABLE events ADD COLUMN account_id TEXT REFERENCES deposit_accounts (id);
CREATE UNIQUE INDEX events_account_seq ON events (account_id, seq) WHERE account_id IS NOT NULL;
