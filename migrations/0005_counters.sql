-- Counts that /metrics, /healthz, the timer and `depositd status` read on every pass, kept by the
-- database in the same transaction as the rows they count, so no reader scans a table of millions.

-- Orders by status (chain '') and payments by chain and status.
CREATE TABLE status_counts (
  kind    TEXT NOT NULL CHECK (kind IN ('order', 'payment')),
  chain   TEXT NOT NULL,
  status  TEXT NOT NULL,
  n       INTEGER NOT NULL,
  PRIMARY KEY (kind, chain, status)
);
INSERT INTO status_counts (kind, chain, status, n) SELECT 'order', '', status, count(*) FROM orders GROUP BY status;
INSERT INTO status_counts (kind, chain, status, n)
  SELECT 'payment', chain, status, count(*) FROM payments GROUP BY chain, status;

CREATE TRIGGER orders_counted_insert AFTER INSERT ON orders BEGIN
  INSERT INTO status_counts (kind, chain, status, n) VALUES ('order', '', NEW.status, 1)
    ON CONFLICT (kind, chain, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_counted_update AFTER UPDATE OF status ON orders WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE status_counts SET n = n - 1 WHERE kind = 'order' AND chain = '' AND status = OLD.status;
  INSERT INTO status_counts (kind, chain, status, n) VALUES ('order', '', NEW.status, 1)
    ON CONFLICT (kind, chain, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_counted_delete AFTER DELETE ON orders BEGIN
  UPDATE status_counts SET n = n - 1 WHERE kind = 'order' AND chain = '' AND status = OLD.status;
END;

CREATE TRIGGER payments_counted_insert AFTER INSERT ON payments BEGIN
  INSERT INTO status_counts (kind, chain, status, n) VALUES ('payment', NEW.chain, NEW.status, 1)
    ON CONFLICT (kind, chain, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER payments_counted_update AFTER UPDATE OF status ON payments WHEN OLD.status IS NOT NEW.status BEGIN
  UPDATE status_counts SET n = n - 1 WHERE kind = 'payment' AND chain = OLD.chain AND status = OLD.status;
  INSERT INTO status_counts (kind, chain, status, n) VALUES ('payment', NEW.chain, NEW.status, 1)
    ON CONFLICT (kind, chain, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER payments_counted_delete AFTER DELETE ON payments BEGIN
  UPDATE status_counts SET n = n - 1 WHERE kind = 'payment' AND chain = OLD.chain AND status = OLD.status;
END;

-- Pool addresses per chain: all, bound now, and used-but-unbound (never bindable again in an xpub
-- pool without reuse). Resting addresses depend on the clock and are counted from their own index.
CREATE TABLE pool_counts (
  chain         TEXT PRIMARY KEY,
  total         INTEGER NOT NULL,
  bound         INTEGER NOT NULL,
  used_unbound  INTEGER NOT NULL
);
INSERT INTO pool_counts (chain, total, bound, used_unbound)
  SELECT chain, count(*), sum(bound = 1), sum(used = 1 AND bound = 0) FROM pool_addresses GROUP BY chain;

CREATE TRIGGER pool_counted_insert AFTER INSERT ON pool_addresses BEGIN
  INSERT INTO pool_counts (chain, total, bound, used_unbound)
    VALUES (NEW.chain, 1, NEW.bound = 1, NEW.used = 1 AND NEW.bound = 0)
    ON CONFLICT (chain) DO UPDATE SET total = total + 1, bound = bound + (NEW.bound = 1),
      used_unbound = used_unbound + (NEW.used = 1 AND NEW.bound = 0);
END;
CREATE TRIGGER pool_counted_update AFTER UPDATE OF bound, used ON pool_addresses BEGIN
  UPDATE pool_counts
    SET bound = bound + (NEW.bound = 1) - (OLD.bound = 1),
        used_unbound = used_unbound + (NEW.used = 1 AND NEW.bound = 0) - (OLD.used = 1 AND OLD.bound = 0)
    WHERE chain = NEW.chain;
END;
CREATE TRIGGER pool_counted_delete AFTER DELETE ON pool_addresses BEGIN
  UPDATE pool_counts
    SET total = total - 1, bound = bound - (OLD.bound = 1), used_unbound = used_unbound - (OLD.used = 1 AND OLD.bound = 0)
    WHERE chain = OLD.chain;
END;

-- The free-address lookup walks only what can be handed out: never-used addresses for pools that do
-- not reuse (a used xpub address is not in this index at all), and unbound ones by the end of their
-- rest for pools that do, so a create's cost does not grow with the addresses already used.
DROP INDEX pool_addresses_free;
CREATE INDEX pool_addresses_unused ON pool_addresses (chain, id) WHERE bound = 0 AND used = 0;
CREATE INDEX pool_addresses_rested ON pool_addresses (chain, rest_until, id) WHERE bound = 0;
