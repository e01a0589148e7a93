-- depositd schema, PostgreSQL twin of migrations/0001_init.sql (same version numbers, same tables,
-- columns, constraints and index names: test/db/schema-parity.test.ts compares them). Times are
-- BIGINT milliseconds since the epoch (UTC); amounts are TEXT base-unit integers (never REAL or a
-- float). Translation rules, once:
--   INTEGER               → BIGINT (block numbers and millisecond times outgrow 32 bits)
--   INTEGER PRIMARY KEY   → BIGINT GENERATED ALWAYS AS IDENTITY (the code never inserts an id)
--   0/1 flags             → the domain `flag` (SMALLINT, CHECK 0 or 1): the statements' `bound = 0`,
--                           `SET used = 1` and 0/1 parameters read the same on both engines, which
--                           BOOLEAN would not allow; the domain check keeps any other value out
--   WITHOUT ROWID         → dropped (every PostgreSQL table is a heap with its own indexes)
--   triggers              → plpgsql functions, one trigger of the same name each
CREATE DOMAIN flag AS SMALLINT CHECK (VALUE IN (0, 1));

-- Where each chain's watcher is: the next block number to scan.
CREATE TABLE chain_cursors (
  chain       TEXT PRIMARY KEY,
  next_block  BIGINT NOT NULL,
  head        BIGINT NOT NULL DEFAULT 0,   -- last head seen (for confirmations in the API)
  solid       BIGINT,                      -- last irreversible block seen, where the chain has one
  updated_at  BIGINT NOT NULL
);

-- Recent blocks already scanned, to notice reorgs by parent hash (pruned to reorg_depth).
CREATE TABLE chain_blocks (
  chain        TEXT NOT NULL,
  number       BIGINT NOT NULL,
  hash         TEXT NOT NULL,
  parent_hash  TEXT NOT NULL,
  timestamp    BIGINT NOT NULL,
  PRIMARY KEY (chain, number)
);

-- Every address of every pool. All are watched, bound or not.
CREATE TABLE pool_addresses (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain             TEXT NOT NULL,
  address           TEXT NOT NULL,           -- canonical form for the chain kind (EVM: lower-case hex)
  display           TEXT NOT NULL,           -- as shown to customers (EVM: EIP-55 checksum)
  source            TEXT NOT NULL CHECK (source IN ('static', 'xpub')),
  derivation_index  BIGINT,
  rest_until        BIGINT NOT NULL DEFAULT 0, -- not bindable before this time (cooldown)
  used              flag NOT NULL DEFAULT 0,   -- bound at least once (xpub pools without reuse never rebind)
  bound             flag NOT NULL DEFAULT 0,   -- mirrors a live binding, for a fast free-address lookup
  created_at        BIGINT NOT NULL,
  UNIQUE (chain, address),
  UNIQUE (chain, derivation_index)
);
CREATE INDEX pool_addresses_free ON pool_addresses (chain, id) WHERE bound = 0;

-- Per-chain pool facts: the xpub pool's next index and the fingerprint of its first address.
CREATE TABLE pool_state (
  chain          TEXT PRIMARY KEY,
  source         TEXT NOT NULL,
  first_address  TEXT,
  next_index     BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE orders (
  id                   TEXT PRIMARY KEY,
  merchant             TEXT NOT NULL,          -- API key name
  merchant_order_id    TEXT NOT NULL,
  status               TEXT NOT NULL CHECK (status IN ('pending','processing','partially_paid','paid','overpaid','expired','paid_late','cancelled')),
  resolution           TEXT CHECK (resolution IN ('accepted')),
  amount               TEXT NOT NULL,          -- currency base units
  currency             TEXT NOT NULL,
  currency_decimals    BIGINT NOT NULL,
  underpaid_tolerance  TEXT NOT NULL,
  overpaid_tolerance   TEXT NOT NULL,
  paid_amount          TEXT NOT NULL DEFAULT '0', -- currency base units, confirmed and counted
  callback_url         TEXT NOT NULL,
  metadata             TEXT NOT NULL DEFAULT '{}',
  request_hash         TEXT NOT NULL,          -- sha256 of the create body, for idempotent re-sends
  event_seq            BIGINT NOT NULL DEFAULT 0,
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL,
  expires_at           BIGINT NOT NULL,
  late_until           BIGINT NOT NULL,        -- expires_at + late window: the binding ends after this once terminal
  UNIQUE (merchant, merchant_order_id)
);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_open_expiry ON orders (expires_at) WHERE status IN ('pending','processing','partially_paid');

-- SQLite orders an order's options by its implicit rowid (insertion order); PostgreSQL has none,
-- so the column is explicit and keeps that name: `ORDER BY rowid` reads the same on both engines.
CREATE TABLE order_options (
  rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
  order_id    TEXT NOT NULL REFERENCES orders (id),
  asset       TEXT NOT NULL,
  chain       TEXT NOT NULL,
  address     TEXT NOT NULL,
  amount_due  TEXT NOT NULL,                    -- asset base units
  decimals    BIGINT NOT NULL,                  -- the asset's decimals when the order was made
  rate        TEXT NOT NULL,                    -- price of 1 asset in the order currency, locked at create
  PRIMARY KEY (order_id, asset)
);

-- The exclusive link between a pool address and an order.
CREATE TABLE bindings (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  chain        TEXT NOT NULL,
  address      TEXT NOT NULL,
  order_id     TEXT NOT NULL REFERENCES orders (id),
  bound_at     BIGINT NOT NULL,
  released_at  BIGINT
);
-- One live binding per address: the database, not only the code, enforces exclusivity.
CREATE UNIQUE INDEX bindings_one_live_per_address ON bindings (chain, address) WHERE released_at IS NULL;
CREATE UNIQUE INDEX bindings_one_per_order_chain ON bindings (order_id, chain);

CREATE TABLE payments (
  id                TEXT PRIMARY KEY,
  chain             TEXT NOT NULL,
  txid              TEXT NOT NULL,
  idx               BIGINT NOT NULL,            -- log index (tokens), vout (bitcoin), 0 (native)
  asset             TEXT NOT NULL,
  address           TEXT NOT NULL,              -- canonical form
  amount            TEXT NOT NULL,              -- asset base units
  block_number      BIGINT,                     -- NULL while only in a mempool
  block_hash        TEXT,
  block_time        BIGINT,
  status            TEXT NOT NULL CHECK (status IN ('seen','confirmed','reverted')),
  order_id          TEXT REFERENCES orders (id),
  unexpected_asset  flag NOT NULL DEFAULT 0,
  late              flag NOT NULL DEFAULT 0,
  min_confirmations BIGINT NOT NULL DEFAULT 0,  -- the chain's own floor (Bitcoin coinbase: 100)
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
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
  seq              BIGINT,                       -- 1.. per order, no gaps; NULL for unattributed payments
  type             TEXT NOT NULL,
  payment_id       TEXT,
  url              TEXT,                         -- NULL: nowhere to send (e.g. no unattributed_url)
  body             TEXT NOT NULL,                -- the exact signed bytes
  state            TEXT NOT NULL CHECK (state IN ('pending','delivered','dead','skipped')),
  attempts         BIGINT NOT NULL DEFAULT 0,
  retry_base       BIGINT NOT NULL DEFAULT 0,    -- attempts made before the last redelivery: its schedule starts over
  next_attempt_at  BIGINT NOT NULL,
  lease_owner      TEXT,
  lease_until      BIGINT NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  delivered_at     BIGINT,
  UNIQUE (order_id, seq)
);
CREATE INDEX events_due ON events (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id       TEXT NOT NULL REFERENCES events (id),
  attempt        BIGINT NOT NULL,
  started_at     BIGINT NOT NULL,
  latency_ms     BIGINT NOT NULL,
  status_code    BIGINT,
  error          TEXT,
  response_body  TEXT,
  UNIQUE (event_id, attempt)
);

-- /healthz writes here to prove the database is writable (one row, id 1: not an identity).
CREATE TABLE health_probe (
  id  BIGINT PRIMARY KEY CHECK (id = 1),
  at  BIGINT NOT NULL
);
