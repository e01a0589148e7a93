-- Twin of migrations/0008_console.sql (WITHOUT ROWID dropped).
-- The operator console (src/console/): sessions, the few aggregates its overview draws, and the
-- lookups its search needs, so no console page scans orders or payments.

-- Signed-in operators. Only the sha256 of the cookie's random id is stored.
CREATE TABLE console_sessions (
  id_hash     TEXT PRIMARY KEY,
  key_name    TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL
);

-- Lag per chain, sampled by the timer at most once a minute and pruned to a day.
CREATE TABLE chain_lag_samples (
  chain        TEXT NOT NULL,
  at           BIGINT NOT NULL,
  lag_blocks   BIGINT,
  lag_seconds  BIGINT,
  PRIMARY KEY (chain, at)
);

-- Orders created and payments seen per hour (kind 'order' | 'payment'), kept by triggers.
CREATE TABLE hourly_counts (
  kind  TEXT NOT NULL CHECK (kind IN ('order', 'payment')),
  hour  BIGINT NOT NULL, -- ms since the epoch / 3600000
  n     BIGINT NOT NULL,
  PRIMARY KEY (kind, hour)
);
INSERT INTO hourly_counts (kind, hour, n) SELECT 'order', created_at / 3600000, count(*) FROM orders GROUP BY 2;
INSERT INTO hourly_counts (kind, hour, n) SELECT 'payment', created_at / 3600000, count(*) FROM payments GROUP BY 2;
CREATE FUNCTION hourly_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0]: the kind counted ('order' | 'payment'); created_at is BIGINT, so / is integer division
  INSERT INTO hourly_counts (kind, hour, n) VALUES (TG_ARGV[0], NEW.created_at / 3600000, 1)
    ON CONFLICT (kind, hour) DO UPDATE SET n = hourly_counts.n + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_hourly AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION hourly_counted('order');
CREATE TRIGGER payments_hourly AFTER INSERT ON payments FOR EACH ROW EXECUTE FUNCTION hourly_counted('payment');

-- Search by merchant order id (any merchant), address and txid; an address's last order.
CREATE INDEX orders_merchant_order_id ON orders (merchant_order_id);
CREATE INDEX order_options_address ON order_options (address);
CREATE INDEX payments_txid ON payments (txid);
CREATE INDEX bindings_address ON bindings (chain, address, bound_at);
-- Dead and failing deliveries, and the oldest pending event, without a scan of the outbox.
CREATE INDEX events_troubled ON events (state, url) WHERE state = 'dead' OR (state = 'pending' AND attempts > 0);
CREATE INDEX events_pending_created ON events (created_at) WHERE state = 'pending';
