-- Twin of migrations/0009_payment_via.sql.
-- How a payment was found (issue 16): 'transaction' (a top-level transaction's value), 'log' (a
-- token Transfer log), 'trace' (a call frame inside contract execution, EVM native_internal:
-- trace), 'output' (a Bitcoin output). NULL for payments stored before this column: the API infers
-- theirs from the chain kind and asset, exactly, since tracing did not exist then.
ALTER TABLE payments ADD COLUMN via TEXT CHECK (via IN ('transaction', 'log', 'trace', 'output'));
