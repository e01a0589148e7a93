-- Twin of migrations/0011_console_filters.sql: the console's order filters, orders-by-status chart
-- and bulk redelivery jobs, kept by plpgsql triggers of the same names (WITHOUT ROWID dropped).

-- Orders per chain, newest first: the Orders screen's chain filter walks this, not order_options.
CREATE TABLE order_chains (
  chain       TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  order_id    TEXT NOT NULL,
  PRIMARY KEY (chain, created_at, order_id)
);
INSERT INTO order_chains (chain, created_at, order_id)
  SELECT op.chain, o.created_at, o.id FROM order_options op JOIN orders o ON o.id = op.order_id
  ON CONFLICT DO NOTHING;

CREATE FUNCTION order_options_chained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO order_chains (chain, created_at, order_id)
    SELECT NEW.chain, created_at, id FROM orders WHERE id = NEW.order_id
    ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;
CREATE TRIGGER order_options_chained AFTER INSERT ON order_options
  FOR EACH ROW EXECUTE FUNCTION order_options_chained();

CREATE FUNCTION order_options_unchained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM order_options WHERE order_id = OLD.order_id AND chain = OLD.chain) THEN
    DELETE FROM order_chains WHERE chain = OLD.chain AND order_id = OLD.order_id
      AND created_at = (SELECT created_at FROM orders WHERE id = OLD.order_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER order_options_unchained AFTER DELETE ON order_options
  FOR EACH ROW EXECUTE FUNCTION order_options_unchained();

-- Orders by the hour they were created and their status now.
CREATE TABLE order_status_hours (
  hour    BIGINT NOT NULL, -- created_at / 3600000
  status  TEXT NOT NULL,
  n       BIGINT NOT NULL,
  PRIMARY KEY (hour, status)
);
INSERT INTO order_status_hours (hour, status, n)
  SELECT created_at / 3600000, status, count(*) FROM orders GROUP BY 1, 2;

CREATE FUNCTION order_status_hours_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE order_status_hours SET n = n - 1 WHERE hour = OLD.created_at / 3600000 AND status = OLD.status;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO order_status_hours (hour, status, n) VALUES (NEW.created_at / 3600000, NEW.status, 1)
      ON CONFLICT (hour, status) DO UPDATE SET n = order_status_hours.n + 1;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_status_hours_insert AFTER INSERT ON orders
  FOR EACH ROW EXECUTE FUNCTION order_status_hours_moved();
CREATE TRIGGER orders_status_hours_update AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION order_status_hours_moved();
CREATE TRIGGER orders_status_hours_delete AFTER DELETE ON orders
  FOR EACH ROW EXECUTE FUNCTION order_status_hours_moved();

-- "Redeliver all for this host": one row per click, with the events it queued again.
CREATE TABLE console_jobs (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('redeliver_host')),
  target      TEXT NOT NULL,
  operator    TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  total       BIGINT NOT NULL
);
CREATE INDEX console_jobs_created ON console_jobs (created_at);
CREATE TABLE console_job_events (
  job_id    TEXT NOT NULL REFERENCES console_jobs (id) ON DELETE CASCADE,
  event_id  TEXT NOT NULL,
  PRIMARY KEY (job_id, event_id)
);
