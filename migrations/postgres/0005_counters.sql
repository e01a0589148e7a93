-- Twin of migrations/0005_counters.sql: the same counters, kept by plpgsql triggers of the same
-- names in the same transaction as the rows they count. Under several writers a counter row is a
-- point where their transactions queue (the upsert takes its row lock until commit).

-- Orders by status (chain '') and payments by chain and status.
CREATE TABLE status_counts (
  kind    TEXT NOT NULL CHECK (kind IN ('order', 'payment')),
  chain   TEXT NOT NULL,
  status  TEXT NOT NULL,
  n       BIGINT NOT NULL,
  PRIMARY KEY (kind, chain, status)
);
INSERT INTO status_counts (kind, chain, status, n) SELECT 'order', '', status, count(*) FROM orders GROUP BY status;
INSERT INTO status_counts (kind, chain, status, n)
  SELECT 'payment', chain, status, count(*) FROM payments GROUP BY chain, status;

CREATE FUNCTION status_count_add(k TEXT, c TEXT, s TEXT, d BIGINT) RETURNS void LANGUAGE sql AS $$
  INSERT INTO status_counts (kind, chain, status, n) VALUES (k, c, s, d)
    ON CONFLICT (kind, chain, status) DO UPDATE SET n = status_counts.n + EXCLUDED.n;
$$;

CREATE FUNCTION orders_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM status_count_add('order', '', OLD.status, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM status_count_add('order', '', NEW.status, 1); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER orders_counted_insert AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION orders_counted();
CREATE TRIGGER orders_counted_update AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION orders_counted();
CREATE TRIGGER orders_counted_delete AFTER DELETE ON orders FOR EACH ROW EXECUTE FUNCTION orders_counted();

CREATE FUNCTION payments_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM status_count_add('payment', OLD.chain, OLD.status, -1); END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM status_count_add('payment', NEW.chain, NEW.status, 1); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER payments_counted_insert AFTER INSERT ON payments FOR EACH ROW EXECUTE FUNCTION payments_counted();
CREATE TRIGGER payments_counted_update AFTER UPDATE OF status ON payments
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION payments_counted();
CREATE TRIGGER payments_counted_delete AFTER DELETE ON payments FOR EACH ROW EXECUTE FUNCTION payments_counted();

-- Pool addresses per chain: all, bound now, and used-but-unbound (never bindable again in an xpub
-- pool without reuse). Resting addresses depend on the clock and are counted from their own index.
CREATE TABLE pool_counts (
  chain         TEXT PRIMARY KEY,
  total         BIGINT NOT NULL,
  bound         BIGINT NOT NULL,
  used_unbound  BIGINT NOT NULL
);
INSERT INTO pool_counts (chain, total, bound, used_unbound)
  SELECT chain, count(*), count(*) FILTER (WHERE bound = 1), count(*) FILTER (WHERE used = 1 AND bound = 0)
  FROM pool_addresses GROUP BY chain;

CREATE FUNCTION pool_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO pool_counts (chain, total, bound, used_unbound)
      VALUES (NEW.chain, 1, (NEW.bound = 1)::int, (NEW.used = 1 AND NEW.bound = 0)::int)
      ON CONFLICT (chain) DO UPDATE SET total = pool_counts.total + 1,
        bound = pool_counts.bound + EXCLUDED.bound, used_unbound = pool_counts.used_unbound + EXCLUDED.used_unbound;
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE pool_counts
      SET bound = bound + (NEW.bound = 1)::int - (OLD.bound = 1)::int,
          used_unbound = used_unbound + (NEW.used = 1 AND NEW.bound = 0)::int - (OLD.used = 1 AND OLD.bound = 0)::int
      WHERE chain = NEW.chain;
  ELSE
    UPDATE pool_counts
      SET total = total - 1, bound = bound - (OLD.bound = 1)::int,
          used_unbound = used_unbound - (OLD.used = 1 AND OLD.bound = 0)::int
      WHERE chain = OLD.chain;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER pool_counted_insert AFTER INSERT ON pool_addresses FOR EACH ROW EXECUTE FUNCTION pool_counted();
CREATE TRIGGER pool_counted_update AFTER UPDATE OF bound, used ON pool_addresses FOR EACH ROW EXECUTE FUNCTION pool_counted();
CREATE TRIGGER pool_counted_delete AFTER DELETE ON pool_addresses FOR EACH ROW EXECUTE FUNCTION pool_counted();

-- The free-address lookup walks only what can be handed out: never-used addresses for pools that do
-- not reuse (a used xpub address is not in this index at all), and unbound ones by the end of their
-- rest for pools that do, so a create's cost does not grow with the addresses already used.
DROP INDEX pool_addresses_free;
CREATE INDEX pool_addresses_unused ON pool_addresses (chain, id) WHERE bound = 0 AND used = 0;
CREATE INDEX pool_addresses_rested ON pool_addresses (chain, rest_until, id) WHERE bound = 0;
