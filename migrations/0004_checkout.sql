-- The customer's checkout page (src/checkout/): an unguessable per-order token in its URL, and the
-- shop page the "back to the shop" button links to once the order is settled.
ALTER TABLE orders ADD COLUMN checkout_token TEXT;
ALTER TABLE orders ADD COLUMN return_url TEXT;
-- orders made before this migration get a token too (randomblob is SQLite's CSPRNG)
UPDATE orders SET checkout_token = lower(hex(randomblob(24))) WHERE checkout_token IS NULL;
CREATE UNIQUE INDEX orders_checkout_token ON orders (checkout_token);
