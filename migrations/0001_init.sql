-- depositd schema. Times are INTEGER milliseconds since the epoch (UTC); amounts are TEXT
-- base-unit integers (never REAL). The constraints below are the rules that must never break.

-- Where each chain's watcher is: the next block number to scan.
CREATE TABLE chain_cursors (
  chain       TEXT PRIMARY KEY,
  next_block  INTEGER NOT NULL,
  head        INTEGER NOT NULL DEFAULT 0,   -- last head seen (for confirmations in the API)
  solid       INTEGER,                      -- last irreversible block seen, where the chain has one
  updated_at  INTEGER NOT NULL
);

-- Recent blocks already scanned, to notice reorgs by parent hash (pruned to reorg_depth).
CREATE TABLE chain_blocks (
  chain        TEXT NOT NULL,
  number       INTEGER NOT NULL,
  hash         TEXT NOT NULL,
  parent_hash  TEXT NOT NULL,
  timestamp    INTEGER NOT NULL,
  PRIMARY KEY (chain, number)
) WITHOUT ROWID;

-- Every address of every pool. All are watched, bound or not.
CREATE TABLE pool_addresses (
  id                INTEGER PRIMARY KEY,
  chain             TEXT NOT NULL,
  address           TEXT NOT NULL,           -- canonical form for the chain kind (EVM: lower-case hex)
  display           TEXT NOT NULL,           -- as shown to customers (EVM: EIP-55 checksum)
  source            TEXT NOT NULL CHECK (source IN ('static', 'xpub')),
  derivation_index  INTEGER,
  rest_until        INTEGER NOT NULL DEFAULT 0, -- not bindable before this time (cooldown)
  used              INTEGER NOT NULL DEFAULT 0, -- bound at least once (xpub pools without reuse never rebind)
  bound             INTEGER NOT NULL DEFAULT 0, -- mirrors a live binding, for a fast free-address lookup
  created_at        INTEGER NOT NULL,
  UNIQUE (chain, address),
  UNIQUE (chain, derivation_index)
);
CREATE INDEX pool_addresses_free ON pool_addresses (chain, id) WHERE bound = 0;

-- Per-chain pool facts: the xpub pool's next index and the fingerprint of its first address.
CREATE TABLE pool_state (
  chain          TEXT PRIMARY KEY,
  source         TEXT NOT NULL,
  first_address  TEXT,
  next_index     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE orders (
  id                   TEXT PRIMARY KEY,
  merchant             TEXT NOT NULL,          -- API key name
  merchant_order_id    TEXT NOT NULL,
  status               TEXT NOT NULL CHECK (status IN ('pending','processing','partially_paid','paid','overpaid','expired','paid_late','cancelled')),
  resolution           TEXT CHECK (resolution IN ('accepted')),
  amount               TEXT NOT NULL,          -- currency base units
  currency             TEXT NOT NULL,
  currency_decimals    INTEGER NOT NULL,
  underpaid_tolerance  TEXT NOT NULL,
  overpaid_tolerance   TEXT NOT NULL,
  paid_amount          TEXT NOT NULL DEFAULT '0', -- currency base units, confirmed and counted
  callback_url         TEXT NOT NULL,
  metadata             TEXT NOT NULL DEFAULT '{}',
  request_hash         TEXT NOT NULL,          -- sha256 of the create body, for idempotent re-sends
  event_seq            INTEGER NOT NULL DEFAULT 0,
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  expires_at           INTEGER NOT NULL,
  late_until           INTEGER NOT NULL,       -- expires_at + late window: the binding ends after this once terminal
  UNIQUE (merchant, merchant_order_id)
);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_open_expiry ON orders (expires_at) WHERE status IN ('pending','processing','partially_paid');

CREATE TABLE order_options (
  order_id    TEXT NOT NULL REFERENCES orders (id),
  asset       TEXT NOT NULL,
  chain       TEXT NOT NULL,
  address     TEXT NOT NULL,
  amount_due  TEXT NOT NULL,                    -- asset base units
  decimals    INTEGER NOT NULL,                 -- the asset's decimals when the order was made
  rate        TEXT NOT NULL,                    -- price of 1 asset in the order currency, locked at create
  PRIMARY KEY (order_id, asset)
);

-- The exclusive link between a pool address and an order.
CREATE TABLE bindings (
  id           INTEGER PRIMARY KEY,
  chain        TEXT NOT NULL,
  address      TEXT NOT NULL,
  order_id     TEXT NOT NULL REFERENCES orders (id),
  bound_at     INTEGER NOT NULL,
  released_at  INTEGER
);
-- One live binding per address: the database, not only the code, enforces exclusivity.
CREATE UNIQUE INDEX bindings_one_live_per_address ON bindings (chain, address) WHERE released_at IS NULL;
CREATE UNIQUE INDEX bindings_one_per_order_chain ON bindings (order_id, chain);

CREATE TABLE payments (
  id                TEXT PRIMARY KEY,
  chain             TEXT NOT NULL,
  txid              TEXT NOT NULL,
  idx               INTEGER NOT NULL,           -- log index (tokens), vout (bitcoin), 0 (native)
  asset             TEXT NOT NULL,
  address           TEXT NOT NULL,              -- canonical form
  amount            TEXT NOT NULL,              -- asset base units
  block_number      INTEGER,                    -- NULL while only in a mempool
  block_hash        TEXT,
  block_time        INTEGER,
  status            TEXT NOT NULL CHECK (status IN ('seen','confirmed','reverted')),
  order_id          TEXT REFERENCES orders (id),
  unexpected_asset  INTEGER NOT NULL DEFAULT 0,
  late              INTEGER NOT NULL DEFAULT 0,
  min_confirmations INTEGER NOT NULL DEFAULT 0,   -- the chain's own floor (Bitcoin coinbase: 100)
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  -- SPEC's identity is (chain, txid, index); the asset joins it because one EVM transaction can
  -- pay native coin (index 0) and also emit a token Transfer at log index 0.
  UNIQUE (chain, txid, idx, asset)
);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_unattributed ON payments (created_at) WHERE order_id IS NULL;
CREATE INDEX payments_open ON payments (chain, status, block_number) WHERE status = 'seen';

-- The outbox: every event is written in the transaction that caused it, delivered after.
CREATE TABLE events (
  id               TEXT PRIMARY KEY,
  order_id         TEXT REFERENCES orders (id),
  seq              INTEGER,                      -- 1.. per order, no gaps; NULL for unattributed payments
  type             TEXT NOT NULL,
  payment_id       TEXT,
  url              TEXT,                         -- NULL: nowhere to send (e.g. no unattributed_url)
  body             TEXT NOT NULL,                -- the exact signed bytes
  state            TEXT NOT NULL CHECK (state IN ('pending','delivered','dead','skipped')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  retry_base       INTEGER NOT NULL DEFAULT 0,   -- attempts made before the last redelivery: its schedule starts over
  next_attempt_at  INTEGER NOT NULL,
  lease_owner      TEXT,
  lease_until      INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  delivered_at     INTEGER,
  UNIQUE (order_id, seq)
);
CREATE INDEX events_due ON events (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
  id             INTEGER PRIMARY KEY,
  event_id       TEXT NOT NULL REFERENCES events (id),
  attempt        INTEGER NOT NULL,
  started_at     INTEGER NOT NULL,
  latency_ms     INTEGER NOT NULL,
  status_code    INTEGER,
  error          TEXT,
  response_body  TEXT,
  UNIQUE (event_id, attempt)
);

-- /healthz writes here to prove the database is writable.
CREATE TABLE health_probe (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  at  INTEGER NOT NULL
);
