-- Counters without a hot row. Under SERIALIZABLE, two instances' creates that both add 1 to the
-- same counter row (orders 'pending', the chain's pool 'bound', this hour's orders) cannot both
-- commit: the second fails with "could not serialize access due to concurrent update", and with
-- three instances creating at once the retries ran out (bench/instances.bench.ts: 563 of 6,000
-- creates answered 500). So the triggers of 0005, 0008 and 0011 no longer update the counter rows
-- here: they append a delta row (insert only, no key, so concurrent writers never touch one row).
-- The timer runner folds the deltas into the counter tables (foldCounters, src/db/counters.ts,
-- under its lease) and readers add the deltas not yet folded (the same totals at every moment).
-- SQLite has one writer and keeps its triggers as they are: its 0013 is empty.

CREATE TABLE status_count_deltas (kind TEXT NOT NULL, chain TEXT NOT NULL, status TEXT NOT NULL, n BIGINT NOT NULL);
CREATE TABLE pool_count_deltas (
  chain TEXT NOT NULL, total BIGINT NOT NULL, bound BIGINT NOT NULL, used_unbound BIGINT NOT NULL
);
CREATE TABLE hourly_count_deltas (kind TEXT NOT NULL, hour BIGINT NOT NULL, n BIGINT NOT NULL);
CREATE TABLE order_status_hour_deltas (hour BIGINT NOT NULL, status TEXT NOT NULL, n BIGINT NOT NULL);

CREATE OR REPLACE FUNCTION status_count_add(k TEXT, c TEXT, s TEXT, d BIGINT) RETURNS void LANGUAGE sql AS $$
  INSERT INTO status_count_deltas (kind, chain, status, n) VALUES (k, c, s, d);
$$;

CREATE OR REPLACE FUNCTION pool_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO pool_count_deltas (chain, total, bound, used_unbound)
      VALUES (OLD.chain, -1, -(OLD.bound = 1)::int, -(OLD.used = 1 AND OLD.bound = 0)::int);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO pool_count_deltas (chain, total, bound, used_unbound)
      VALUES (NEW.chain, 1, (NEW.bound = 1)::int, (NEW.used = 1 AND NEW.bound = 0)::int);
  END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION hourly_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0]: the kind counted ('order' | 'payment'); created_at is BIGINT, so / is integer division
  INSERT INTO hourly_count_deltas (kind, hour, n) VALUES (TG_ARGV[0], NEW.created_at / 3600000, 1);
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION order_status_hours_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    INSERT INTO order_status_hour_deltas (hour, status, n) VALUES (OLD.created_at / 3600000, OLD.status, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO order_status_hour_deltas (hour, status, n) VALUES (NEW.created_at / 3600000, NEW.status, 1);
  END IF;
  RETURN NULL;
END $$;
