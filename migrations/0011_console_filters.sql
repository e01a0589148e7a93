-- The operator console's order filters, its orders-by-status chart and its bulk redelivery jobs
-- (src/console/): kept by triggers in the same transaction as the rows they follow, so no console
-- page scans orders. (0010 is the background audit's.)

-- Orders per chain, newest first: the Orders screen's chain filter walks this, not order_options.
-- An order with several options on one chain is listed once.
CREATE TABLE order_chains (
  chain       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  order_id    TEXT NOT NULL,
  PRIMARY KEY (chain, created_at, order_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO order_chains (chain, created_at, order_id)
  SELECT op.chain, o.created_at, o.id FROM order_options op JOIN orders o ON o.id = op.order_id;
CREATE TRIGGER order_options_chained AFTER INSERT ON order_options BEGIN
  INSERT OR IGNORE INTO order_chains (chain, created_at, order_id)
    SELECT NEW.chain, created_at, id FROM orders WHERE id = NEW.order_id;
END;
CREATE TRIGGER order_options_unchained AFTER DELETE ON order_options
  WHEN NOT EXISTS (SELECT 1 FROM order_options WHERE order_id = OLD.order_id AND chain = OLD.chain) BEGIN
  DELETE FROM order_chains WHERE chain = OLD.chain AND order_id = OLD.order_id
    AND created_at = (SELECT created_at FROM orders WHERE id = OLD.order_id);
END;

-- Orders by the hour they were created and their status now: the overview's "orders by status,
-- last 24 h / 7 d" chart. A status change moves one order from its old status to its new one.
CREATE TABLE order_status_hours (
  hour    INTEGER NOT NULL, -- created_at / 3600000
  status  TEXT NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (hour, status)
) WITHOUT ROWID;
INSERT INTO order_status_hours (hour, status, n)
  SELECT created_at / 3600000, status, count(*) FROM orders GROUP BY 1, 2;
CREATE TRIGGER orders_status_hours_insert AFTER INSERT ON orders BEGIN
  INSERT INTO order_status_hours (hour, status, n) VALUES (NEW.created_at / 3600000, NEW.status, 1)
    ON CONFLICT (hour, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_status_hours_update AFTER UPDATE OF status ON orders WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE order_status_hours SET n = n - 1 WHERE hour = OLD.created_at / 3600000 AND status = OLD.status;
  INSERT INTO order_status_hours (hour, status, n) VALUES (NEW.created_at / 3600000, NEW.status, 1)
    ON CONFLICT (hour, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_status_hours_delete AFTER DELETE ON orders BEGIN
  UPDATE order_status_hours SET n = n - 1 WHERE hour = OLD.created_at / 3600000 AND status = OLD.status;
END;

-- "Redeliver all for this host": one row per click, with the events it queued again (bounded by
-- the console), so its page can show how far delivery got.
CREATE TABLE console_jobs (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('redeliver_host')),
  target      TEXT NOT NULL,
  operator    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  total       INTEGER NOT NULL
);
CREATE INDEX console_jobs_created ON console_jobs (created_at);
CREATE TABLE console_job_events (
  job_id    TEXT NOT NULL REFERENCES console_jobs (id) ON DELETE CASCADE,
  event_id  TEXT NOT NULL,
  PRIMARY KEY (job_id, event_id)
) WITHOUT ROWID;
