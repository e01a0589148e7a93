-- Twin of migrations/0006_paging.sql.
-- Keyset paging (src/core/paging.ts): every list reads an index in its own order, from its cursor.
-- A merchant's orders, newest first (operators use orders_created / orders_status_created).
CREATE INDEX orders_merchant_created ON orders (merchant, created_at DESC, id DESC);
CREATE INDEX orders_merchant_status_created ON orders (merchant, status, created_at DESC, id DESC);
-- An order's payments and the unattributed ones, in (created_at, id) order.
DROP INDEX payments_order;
CREATE INDEX payments_order ON payments (order_id, created_at, id);
DROP INDEX payments_unattributed;
CREATE INDEX payments_unattributed ON payments (created_at, id) WHERE order_id IS NULL;
-- Exports: payments by time.
CREATE INDEX payments_created ON payments (created_at, id);

-- What an accept settled (paid_amount at that moment, currency base units): the accept stands
-- while the confirmed total stays at least this; a reorg that takes it away unsettles the order.
ALTER TABLE orders ADD COLUMN accepted_paid TEXT;
UPDATE orders SET accepted_paid = paid_amount WHERE resolution = 'accepted';
