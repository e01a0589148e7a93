-- Twin of migrations/0003_option_rate_sources.sql.
-- Live exchange rates: an option keeps the markets behind its locked rate and the rate's time, so
-- an order shows where its price came from and later price moves never change it.
ALTER TABLE order_options ADD COLUMN rate_sources TEXT NOT NULL DEFAULT '[]'; -- JSON [{source, price}]
ALTER TABLE order_options ADD COLUMN rate_at BIGINT NOT NULL DEFAULT 0;       -- ms; the oldest source's time

-- Options made before this migration were priced from the static table (or are the order's own
-- currency, rate 1) at their order's creation. Built as text so the bytes equal SQLite's compact
-- json_array(json_object(…)) (PostgreSQL's json output spaces its colons).
UPDATE order_options SET
  rate_at = orders.created_at,
  rate_sources = CASE
    WHEN order_options.asset = orders.currency THEN '[]'
    ELSE '[{"source":"static","price":' || to_json(order_options.rate)::text || '}]'
  END
FROM orders WHERE orders.id = order_options.order_id;
