-- Twin of migrations/0004_checkout.sql.
-- The customer's checkout page (src/checkout/): an unguessable per-order token in its URL, and the
-- shop page the "back to the shop" button links to once the order is settled.
ALTER TABLE orders ADD COLUMN checkout_token TEXT;
ALTER TABLE orders ADD COLUMN return_url TEXT;
-- orders made before this migration get a token too: 48 hex chars like SQLite's randomblob(24),
-- from gen_random_uuid (PostgreSQL's strong random source, no extension needed)
UPDATE orders SET checkout_token =
  replace(gen_random_uuid()::text, '-', '') || left(replace(gen_random_uuid()::text, '-', ''), 16)
  WHERE checkout_token IS NULL;
CREATE UNIQUE INDEX orders_checkout_token ON orders (checkout_token);
