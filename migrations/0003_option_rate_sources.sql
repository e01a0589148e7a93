-- Live exchange rates: an option keeps the markets behind its locked rate and the rate's time, so
-- an order shows where its price came from and later price moves never change it.
ALTER TABLE order_options ADD COLUMN rate_sources TEXT NOT NULL DEFAULT '[]'; -- JSON [{source, price}]
ALTER TABLE order_options ADD COLUMN rate_at INTEGER NOT NULL DEFAULT 0;       -- ms; the oldest source's time

-- Options made before this migration were priced from the static table (or are the order's own
-- currency, rate 1) at their order's creation.
UPDATE order_options SET
  rate_at = (SELECT created_at FROM orders WHERE orders.id = order_options.order_id),
  rate_sources = CASE
    WHEN asset = (SELECT currency FROM orders WHERE orders.id = order_options.order_id) THEN '[]'
    ELSE json_array(json_object('source', 'static', 'price', rate))
  END;
