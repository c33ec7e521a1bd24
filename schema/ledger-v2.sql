-- backfill-tool ledger (manifest.sqlite), migration v2: the consumer side.
--
-- Applied after schema/ledger.sql (v1); Sources/BackfillLedger/LedgerSchema.swift holds the same text.
--   * files written by other programs (source 'external') are found without a pass over a whole series: the planner
--     compares their row counts with their ranges, and reads those that do not fill them;
--   * expired leases are found without a pass over the table.

CREATE INDEX files_external ON files (exchange, market, symbol, timeframe, t_start) WHERE source = 'external';

CREATE INDEX files_leases ON files (lease_expires_at) WHERE status = 'processing';

UPDATE meta SET value = '2' WHERE key = 'schema_version';
