-- Twin of migrations/0002_chain_identity.sql.
-- The chain each configured chain was first started on: every RPC URL must serve this genesis
-- (or the config's pin), at start and at every failover; a URL that does not is quarantined.
CREATE TABLE chain_identity (
  chain          TEXT PRIMARY KEY,
  genesis        TEXT NOT NULL,   -- EVM block 0 hash, Bitcoin getblockhash 0, Tron block 0 blockID
  first_seen_at  BIGINT NOT NULL
);
