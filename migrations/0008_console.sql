-- The operator console (src/console/): sessions, the few aggregates its overview draws, and the
-- lookups its search needs, so no console page scans orders or payments.

-- Signed-in operators. Only the sha256 of the cookie's random id is stored.
CREATE TABLE console_sessions (
  id_hash     TEXT PRIMARY KEY,
  key_name    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Lag per chain, sampled by the timer at most once a minute and pruned to a day.
CREATE TABLE chain_lag_samples (
  chain        TEXT NOT NULL,
  at           INTEGER NOT NULL,
  lag_blocks   INTEGER,
  lag_seconds  INTEGER,
  PRIMARY KEY (chain, at)
) WITHOUT ROWID;

-- Orders created and payments seen per hour (kind 'order' | 'payment'), kept by triggers.
CREATE TABLE hourly_counts (
  kind  TEXT NOT NULL CHECK (kind IN ('order', 'payment')),
  hour  INTEGER NOT NULL, -- ms since the epoch / 3600000
  n     INTEGER NOT NULL,
  PRIMARY KEY (kind, hour)
) WITHOUT ROWID;
INSERT INTO hourly_counts (kind, hour, n) SELECT 'order', created_at / 3600000, count(*) FROM orders GROUP BY 2;
INSERT INTO hourly_counts (kind, hour, n) SELECT 'payment', created_at / 3600000, count(*) FROM payments GROUP BY 2;
CREATE TRIGGER orders_hourly AFTER INSERT ON orders BEGIN
  INSERT INTO hourly_counts (kind, hour, n) VALUES ('order', NEW.created_at / 3600000, 1)
    ON CONFLICT (kind, hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER payments_hourly AFTER INSERT ON payments BEGIN
  INSERT INTO hourly_counts (kind, hour, n) VALUES ('payment', NEW.created_at / 3600000, 1)
    ON CONFLICT (kind, hour) DO UPDATE SET n = n + 1;
END;

-- Search by merchant order id (any merchant), address and txid; an address's last order.
CREATE INDEX orders_merchant_order_id ON orders (merchant_order_id);
CREATE INDEX order_options_address ON order_options (address);
CREATE INDEX payments_txid ON payments (txid);
CREATE INDEX bindings_address ON bindings (chain, address, bound_at);
-- Dead and failing deliveries, and the oldest pending event, without a scan of the outbox.
CREATE INDEX events_troubled ON events (state, url) WHERE state = 'dead' OR (state = 'pending' AND attempts > 0);
CREATE INDEX events_pending_created ON events (created_at) WHERE state = 'pending';
