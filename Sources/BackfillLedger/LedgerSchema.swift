// Generated from schema/ledger*.sql by Scripts/sync-schema.sh; LedgerSchemaTests keeps them identical.

/// The ledger's DDL, one entry per numbered migration.
package enum LedgerSchema {
    /// The newest schema version this build knows.
    package static let currentVersion = 4

    /// Migration `v1`: the text of `schema/ledger.sql`.
    package static let v1 = #"""
        -- backfill-tool ledger (manifest.sqlite), schema version 1.
        --
        -- The reference DDL. The tool applies it as migration "v1" (Sources/BackfillLedger/LedgerSchema.swift holds
        -- the same text; a test keeps the two identical). Invariants live here, not in the tool, so every program that
        -- opens this file (the live ingester, the training scheduler, a person with sqlite3) is held to them:
        --   * file rows are never deleted: a consumed or duplicate file becomes status 'deleted';
        --   * status moves only along downloaded -> processing -> processed, processing -> downloaded, any -> deleted;
        --   * every status change is appended to status_events, which can be neither updated nor deleted;
        --   * watermarks never move backwards;
        --   * every change to coverage (files, exchange gaps, watermarks) bumps meta.generation, which makes saved plans
        --     stale.
        -- Times are epoch milliseconds (UTC). Paths are relative to the landing directory.

        CREATE TABLE meta (
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        INSERT INTO meta (key, value) VALUES ('schema_version', '1'), ('generation', '0');

        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
            path TEXT NOT NULL UNIQUE CHECK (path <> '' AND substr(path, 1, 1) <> '/' AND path NOT LIKE '%..%'),
            exchange TEXT NOT NULL DEFAULT 'binance',
            market TEXT NOT NULL DEFAULT 'spot' CHECK (market IN ('spot', 'usdm', 'coinm')),
            symbol TEXT NOT NULL CHECK (symbol <> ''),
            symbol_id TEXT NOT NULL CHECK (symbol_id <> ''),
            timeframe TEXT NOT NULL CHECK (timeframe IN ('1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h',
                                                         '8h', '12h', '1d', '3d', '1w', '1M')),
            t_start INTEGER NOT NULL CHECK (t_start >= 0),
            t_end INTEGER NOT NULL,
            rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),
            bytes INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
            status TEXT NOT NULL DEFAULT 'downloaded'
                CHECK (status IN ('downloaded', 'processing', 'processed', 'deleted')),
            source TEXT NOT NULL DEFAULT 'external' CHECK (source IN ('rest', 'archive', 'adopted', 'external')),
            lease_owner TEXT,
            lease_expires_at INTEGER,
            created_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
            updated_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
            updated_by TEXT,
            status_reason TEXT,
            CHECK (t_start < t_end),
            CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
        );

        CREATE INDEX files_coverage ON files (exchange, market, symbol, timeframe, t_start, t_end);
        CREATE INDEX files_queue ON files (status, created_at, id);

        CREATE TABLE status_events (
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files (id),
            from_status TEXT,
            to_status TEXT NOT NULL,
            at INTEGER NOT NULL,
            actor TEXT,
            reason TEXT
        );

        CREATE INDEX status_events_file ON status_events (file_id, id);

        CREATE TABLE watermarks (
            name TEXT PRIMARY KEY NOT NULL CHECK (name LIKE 'ingest:%:%:%'),
            value_ms INTEGER NOT NULL CHECK (value_ms >= 0),
            updated_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
            updated_by TEXT
        ) WITHOUT ROWID;

        CREATE TABLE exchange_gaps (
            exchange TEXT NOT NULL,
            market TEXT NOT NULL CHECK (market IN ('spot', 'usdm', 'coinm')),
            symbol TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            t_start INTEGER NOT NULL CHECK (t_start >= 0),
            t_end INTEGER NOT NULL,
            confirmed_at INTEGER NOT NULL,
            CHECK (t_start < t_end),
            PRIMARY KEY (exchange, market, symbol, timeframe, t_start)
        ) WITHOUT ROWID;

        CREATE TABLE markets (
            exchange TEXT NOT NULL,
            market TEXT NOT NULL CHECK (market IN ('spot', 'usdm', 'coinm')),
            symbol TEXT NOT NULL,
            symbol_id TEXT NOT NULL,
            listed_at_ms INTEGER CHECK (listed_at_ms IS NULL OR listed_at_ms >= 0),
            status TEXT NOT NULL,
            fetched_at INTEGER NOT NULL,
            PRIMARY KEY (exchange, market, symbol)
        ) WITHOUT ROWID;

        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            finished_at INTEGER,
            plan_sha256 TEXT,
            outcome TEXT NOT NULL DEFAULT 'running'
                CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted')),
            summary_json TEXT
        );

        CREATE TABLE locks (
            name TEXT PRIMARY KEY NOT NULL,
            owner TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL,
            heartbeat_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        CREATE TRIGGER files_no_delete BEFORE DELETE ON files
        BEGIN
            SELECT RAISE(ABORT, 'files rows are never deleted; set status to ''deleted''');
        END;

        CREATE TRIGGER files_status_guard BEFORE UPDATE OF status ON files
        WHEN NEW.status <> OLD.status AND NOT (
            (OLD.status = 'downloaded' AND NEW.status IN ('processing', 'deleted'))
            OR (OLD.status = 'processing' AND NEW.status IN ('processed', 'downloaded', 'deleted'))
            OR (OLD.status = 'processed' AND NEW.status = 'deleted'))
        BEGIN
            SELECT RAISE(ABORT, 'status transition not allowed');
        END;

        CREATE TRIGGER files_identity_guard BEFORE UPDATE OF sha256, exchange, market, symbol, timeframe, t_start, t_end
        ON files
        WHEN NEW.sha256 IS NOT OLD.sha256 OR NEW.exchange IS NOT OLD.exchange OR NEW.market IS NOT OLD.market
            OR NEW.symbol IS NOT OLD.symbol OR NEW.timeframe IS NOT OLD.timeframe OR NEW.t_start IS NOT OLD.t_start
            OR NEW.t_end IS NOT OLD.t_end
        BEGIN
            SELECT RAISE(ABORT, 'a registered file''s content key and range never change');
        END;

        CREATE TRIGGER files_insert_event AFTER INSERT ON files
        BEGIN
            INSERT INTO status_events (file_id, from_status, to_status, at, actor, reason)
            VALUES (NEW.id, NULL, NEW.status, NEW.created_at, NEW.updated_by, NEW.status_reason);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER files_status_event AFTER UPDATE OF status ON files
        WHEN NEW.status <> OLD.status
        BEGIN
            INSERT INTO status_events (file_id, from_status, to_status, at, actor, reason)
            VALUES (NEW.id, OLD.status, NEW.status, NEW.updated_at, NEW.updated_by, NEW.status_reason);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER status_events_no_update BEFORE UPDATE ON status_events
        BEGIN
            SELECT RAISE(ABORT, 'status_events is append-only');
        END;

        CREATE TRIGGER status_events_no_delete BEFORE DELETE ON status_events
        BEGIN
            SELECT RAISE(ABORT, 'status_events is append-only');
        END;

        CREATE TRIGGER watermarks_forward_only BEFORE UPDATE OF value_ms ON watermarks
        WHEN NEW.value_ms < OLD.value_ms
        BEGIN
            SELECT RAISE(ABORT, 'watermarks never move backwards');
        END;

        CREATE TRIGGER watermarks_insert_generation AFTER INSERT ON watermarks
        BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER watermarks_update_generation AFTER UPDATE OF value_ms ON watermarks
        WHEN NEW.value_ms <> OLD.value_ms
        BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER exchange_gaps_insert_generation AFTER INSERT ON exchange_gaps
        BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER exchange_gaps_delete_generation AFTER DELETE ON exchange_gaps
        BEGIN
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        """#

    /// Migration `v2`: the text of `schema/ledger-v2.sql`.
    package static let v2 = #"""
        -- backfill-tool ledger (manifest.sqlite), migration v2: the consumer side.
        --
        -- Applied after schema/ledger.sql (v1); Sources/BackfillLedger/LedgerSchema.swift holds the same text.
        --   * files written by other programs (source 'external') are found without a pass over a whole series: the planner
        --     compares their row counts with their ranges, and reads those that do not fill them;
        --   * expired leases are found without a pass over the table.

        CREATE INDEX files_external ON files (exchange, market, symbol, timeframe, t_start) WHERE source = 'external';

        CREATE INDEX files_leases ON files (lease_expires_at) WHERE status = 'processing';

        UPDATE meta SET value = '2' WHERE key = 'schema_version';

        """#

    /// Migration `v3`: the text of `schema/ledger-v3.sql`.
    package static let v3 = #"""
        -- backfill-tool ledger (manifest.sqlite), migration v3: change detection and per-series content keys.
        --
        -- Applied after schema/ledger-v2.sql; Sources/BackfillLedger/LedgerSchema.swift holds the same text.
        --   * every file row records the size (bytes), modification time (mtime_ns, nanoseconds) and inode of its file as
        --     registered: apply re-hashes a file whose stat differs in any way (NULL: not known, hashed once and recorded);
        --   * a content key is unique per series, not globally: two series whose chunks have identical bytes (flat
        --     zero-volume stretches of delisted pairs) are both kept, UNIQUE (exchange, market, symbol, timeframe, sha256).
        -- SQLite cannot drop a UNIQUE constraint in place: the files table is rebuilt (rows, ids and status_events kept),
        -- with its indexes and triggers as before.

        CREATE TABLE files_v3 (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
            path TEXT NOT NULL UNIQUE CHECK (path <> '' AND substr(path, 1, 1) <> '/' AND path NOT LIKE '%..%'),
            exchange TEXT NOT NULL DEFAULT 'binance',
            market TEXT NOT NULL DEFAULT 'spot' CHECK (market IN ('spot', 'usdm', 'coinm')),
            symbol TEXT NOT NULL CHECK (symbol <> ''),
            symbol_id TEXT NOT NULL CHECK (symbol_id <> ''),
            timeframe TEXT NOT NULL CHECK (timeframe IN ('1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h',
                                                         '8h', '12h', '1d', '3d', '1w', '1M')),
            t_start INTEGER NOT NULL CHECK (t_start >= 0),
            t_end INTEGER NOT NULL,
            rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),
            bytes INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
            status TEXT NOT NULL DEFAULT 'downloaded'
                CHECK (status IN ('downloaded', 'processing', 'processed', 'deleted')),
            source TEXT NOT NULL DEFAULT 'external' CHECK (source IN ('rest', 'archive', 'adopted', 'external')),
            lease_owner TEXT,
            lease_expires_at INTEGER,
            created_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
            updated_at INTEGER NOT NULL DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
            updated_by TEXT,
            status_reason TEXT,
            mtime_ns INTEGER,
            inode INTEGER,
            CHECK (t_start < t_end),
            CHECK ((status = 'processing') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
            UNIQUE (exchange, market, symbol, timeframe, sha256)
        );

        INSERT INTO files_v3 (id, sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end, rows, bytes,
                              status, source, lease_owner, lease_expires_at, created_at, updated_at, updated_by,
                              status_reason)
        SELECT id, sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end, rows, bytes,
               status, source, lease_owner, lease_expires_at, created_at, updated_at, updated_by, status_reason
        FROM files;

        DROP TABLE files;

        ALTER TABLE files_v3 RENAME TO files;

        CREATE INDEX files_coverage ON files (exchange, market, symbol, timeframe, t_start, t_end);
        CREATE INDEX files_queue ON files (status, created_at, id);
        CREATE INDEX files_external ON files (exchange, market, symbol, timeframe, t_start) WHERE source = 'external';
        CREATE INDEX files_leases ON files (lease_expires_at) WHERE status = 'processing';

        CREATE TRIGGER files_no_delete BEFORE DELETE ON files
        BEGIN
            SELECT RAISE(ABORT, 'files rows are never deleted; set status to ''deleted''');
        END;

        CREATE TRIGGER files_status_guard BEFORE UPDATE OF status ON files
        WHEN NEW.status <> OLD.status AND NOT (
            (OLD.status = 'downloaded' AND NEW.status IN ('processing', 'deleted'))
            OR (OLD.status = 'processing' AND NEW.status IN ('processed', 'downloaded', 'deleted'))
            OR (OLD.status = 'processed' AND NEW.status = 'deleted'))
        BEGIN
            SELECT RAISE(ABORT, 'status transition not allowed');
        END;

        CREATE TRIGGER files_identity_guard BEFORE UPDATE OF sha256, exchange, market, symbol, timeframe, t_start, t_end
        ON files
        WHEN NEW.sha256 IS NOT OLD.sha256 OR NEW.exchange IS NOT OLD.exchange OR NEW.market IS NOT OLD.market
            OR NEW.symbol IS NOT OLD.symbol OR NEW.timeframe IS NOT OLD.timeframe OR NEW.t_start IS NOT OLD.t_start
            OR NEW.t_end IS NOT OLD.t_end
        BEGIN
            SELECT RAISE(ABORT, 'a registered file''s content key and range never change');
        END;

        CREATE TRIGGER files_insert_event AFTER INSERT ON files
        BEGIN
            INSERT INTO status_events (file_id, from_status, to_status, at, actor, reason)
            VALUES (NEW.id, NULL, NEW.status, NEW.created_at, NEW.updated_by, NEW.status_reason);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        CREATE TRIGGER files_status_event AFTER UPDATE OF status ON files
        WHEN NEW.status <> OLD.status
        BEGIN
            INSERT INTO status_events (file_id, from_status, to_status, at, actor, reason)
            VALUES (NEW.id, OLD.status, NEW.status, NEW.updated_at, NEW.updated_by, NEW.status_reason);
            UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation';
        END;

        UPDATE meta SET value = '3' WHERE key = 'schema_version';

        """#

    /// Migration `v4`: the text of `schema/ledger-v4.sql`.
    package static let v4 = #"""
        -- backfill-tool ledger (manifest.sqlite), migration v4: the archive files files were made from (SPEC §12).
        --
        -- Applied after schema/ledger-v3.sql; Sources/BackfillLedger/LedgerSchema.swift holds the same text.
        --   * archive_files: every data.binance.vision zip `apply` used, one row per URL and verified SHA-256 (a re-upload
        --     read later is a second row), with the open times it covers and when it was first verified;
        --   * file_archives: which archive files each file (source 'archive') was made from. `audit --verify-remote`
        --     re-reads their `.CHECKSUM`: a different digest is `remote_changed`.

        CREATE TABLE archive_files (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL CHECK (url <> ''),
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
            t_start INTEGER NOT NULL CHECK (t_start >= 0),
            t_end INTEGER NOT NULL CHECK (t_end > t_start),
            verified_at INTEGER NOT NULL,
            UNIQUE (url, sha256)
        );

        CREATE TABLE file_archives (
            file_id INTEGER NOT NULL REFERENCES files (id) ON DELETE CASCADE,
            archive_file_id INTEGER NOT NULL REFERENCES archive_files (id),
            PRIMARY KEY (file_id, archive_file_id)
        ) WITHOUT ROWID;

        CREATE INDEX file_archives_archive ON file_archives (archive_file_id);

        UPDATE meta SET value = '4' WHERE key = 'schema_version';

        """#
}
