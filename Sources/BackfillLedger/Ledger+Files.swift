import BackfillModel
import Foundation

/// A file to register: what `apply` (and tests and benchmarks) insert.
package struct NewFile: Sendable, Equatable {
    package var sha256: String
    package var path: String
    package var exchange: ExchangeKind
    package var market: MarketKind
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var range: TimeRange
    package var rows: Int
    package var bytes: Int
    package var source: FileSource
    /// The file's stat once written (`nil`: not known; apply hashes it once and records it).
    package var stat: FileStat?
    /// With source `archive`: the verified archive files it was made from (recorded in `file_archives`).
    package var archives: [ArchiveFileRef] = []

    package init(
        sha256: String, path: String, exchange: ExchangeKind, market: MarketKind, symbol: String,
        symbolId: String, timeframe: Timeframe, range: TimeRange, rows: Int, bytes: Int,
        source: FileSource
    ) {
        self.sha256 = sha256
        self.path = path
        self.exchange = exchange
        self.market = market
        self.symbol = symbol
        self.symbolId = symbolId
        self.timeframe = timeframe
        self.range = range
        self.rows = rows
        self.bytes = bytes
        self.source = source
    }
}

extension Ledger {
    /// The current time in epoch milliseconds, for `*_at` columns.
    package static func nowMs() -> Int64 { WallClock.nowMs() }

    /// Registers `file` with status `downloaded`; returns its id.
    @discardableResult
    package func register(_ file: NewFile, actor: String, at now: Int64 = Ledger.nowMs()) throws -> Int64 {
        try write { db in try Self.insert(file, actor: actor, at: now, db: db) }
    }

    /// Registers many files in one transaction (benchmarks and bulk adoption).
    package func register(_ files: some Sequence<NewFile>, actor: String, at now: Int64 = Ledger.nowMs()) throws {
        try write { db in
            for file in files { _ = try Self.insert(file, actor: actor, at: now, db: db) }
        }
    }

    static func insert(_ file: NewFile, actor: String, at now: Int64, db: any LedgerConnection) throws -> Int64 {
        guard
            let id = try db.fetchOne(
                Int64.self,
                sql: """
                    INSERT INTO files (sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end,
                                       rows, bytes, status, source, created_at, updated_at, updated_by, mtime_ns, inode)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'downloaded', ?, ?, ?, ?, ?, ?)
                    RETURNING id
                    """,
                arguments: [
                    file.sha256, file.path, file.exchange.rawValue, file.market.rawValue, file.symbol, file.symbolId,
                    file.timeframe.rawValue, file.range.lowerBound, file.range.upperBound, file.rows, file.bytes,
                    file.source.rawValue, now, now, actor, file.stat?.modifiedNs, file.stat?.inodeBits,
                ])
        else { throw LedgerError.sqlite("no id for the new file \(file.path)") }
        for archive in file.archives { try insertArchiveLink(archive, fileId: id, db: db) }
        return id
    }

    /// Records an archive file (once per URL and digest) and that file `fileId` was made from it.
    static func insertArchiveLink(_ archive: ArchiveFileRef, fileId: Int64, db: any LedgerConnection) throws {
        guard
            let archiveId = try db.fetchOne(
                Int64.self,
                sql: """
                    INSERT INTO archive_files (url, sha256, t_start, t_end, verified_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (url, sha256) DO UPDATE SET verified_at = archive_files.verified_at
                    RETURNING id
                    """,
                arguments: [
                    archive.url, archive.sha256, archive.range.lowerBound, archive.range.upperBound,
                    archive.verifiedAtMs,
                ])
        else { return }
        try db.execute(
            sql: "INSERT INTO file_archives (file_id, archive_file_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            arguments: [fileId, archiveId])
    }

    /// Files made from an archive file that a later run found re-uploaded (the same URL verified with another
    /// digest): `remote_changed`, reported by `plan`, `apply` and `audit` from the ledger alone.
    package func supersededArchiveFiles(
        exchange: ExchangeKind, market: MarketKind
    ) throws -> [(
        file: RegisteredFile, old: ArchiveFileRef, newSHA256: String
    )] {
        try read { db in
            try db.fetchAll(
                sql: """
                    SELECT * FROM (
                        SELECT f.id, f.path, f.sha256, f.symbol, f.symbol_id, f.timeframe, f.t_start, f.t_end,
                               f.bytes, f.status, f.created_at, a.url, a.sha256 AS old_sha256, a.t_start AS a_start,
                               a.t_end AS a_end, a.verified_at,
                               (SELECT n.sha256 FROM archive_files n WHERE n.url = a.url AND n.id > a.id
                                ORDER BY n.id DESC LIMIT 1) AS newer
                        FROM archive_files a
                        JOIN file_archives fa ON fa.archive_file_id = a.id
                        JOIN files f ON f.id = fa.file_id
                        WHERE f.exchange = ? AND f.market = ? AND f.status <> 'deleted'
                    ) AS candidates WHERE newer IS NOT NULL
                    ORDER BY symbol, timeframe, t_start
                    """, arguments: [exchange.rawValue, market.rawValue]
            ).compactMap { row in
                guard let file = try registeredFile(row), let old = try Self.archiveFileRef(row, from: 11) else {
                    return nil
                }
                return (file, old, try row.decode(atIndex: 16))
            }
        }
    }

    /// The archive files a registered file was made from (empty for other sources).
    package func archiveFiles(ofFile id: Int64) throws -> [ArchiveFileRef] {
        try read { db in
            try db.fetchAll(
                sql: """
                    SELECT a.url, a.sha256, a.t_start, a.t_end, a.verified_at
                    FROM file_archives f JOIN archive_files a ON a.id = f.archive_file_id
                    WHERE f.file_id = ? ORDER BY a.t_start
                    """, arguments: [id]
            ).compactMap { row in try Self.archiveFileRef(row, from: 0) }
        }
    }

    /// An ``ArchiveFileRef`` from five columns of `row` starting at `first` (url, sha256, t_start, t_end,
    /// verified_at); `nil` for an empty range.
    static func archiveFileRef(_ row: LedgerRow, from first: Int) throws -> ArchiveFileRef? {
        guard let range = TimeRange(try row.decode(atIndex: first + 2), try row.decode(atIndex: first + 3)) else {
            return nil
        }
        return ArchiveFileRef(
            url: try row.decode(atIndex: first), sha256: try row.decode(atIndex: first + 1), range: range,
            verifiedAtMs: try row.decode(atIndex: first + 4))
    }

    /// The path of the file registered with this content in the same series (exchange, market, symbol,
    /// timeframe), if any: the content key is unique per series (§5 Duplicate content).
    static func registeredPath(
        sha256: String, exchange: ExchangeKind, market: MarketKind, symbol: String, timeframe: Timeframe,
        db: any LedgerConnection
    ) throws -> String? {
        try db.fetchOne(
            String.self,
            sql: """
                SELECT path FROM files
                WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ? AND sha256 = ?
                """,
            arguments: [exchange.rawValue, market.rawValue, symbol, timeframe.rawValue, sha256])
    }

    /// Records the stat of a registered file whose content was hashed and found unchanged (a row without one, or
    /// a file touched, copied back or restored), so it is not hashed again until it changes.
    package func recordStat(_ stats: [(id: Int64, stat: FileStat)]) throws {
        guard !stats.isEmpty else { return }
        try write { db in
            for (id, stat) in stats {
                try db.execute(
                    sql: "UPDATE files SET mtime_ns = ?, inode = ? WHERE id = ?",
                    arguments: [stat.modifiedNs, stat.inodeBits, id])
            }
        }
    }

    /// Moves a file to `next`, refusing transitions outside §6.2 (the schema refuses them too).
    /// - Parameters:
    ///   - lease: owner and expiry, required when moving to `processing`.
    package func transition(
        fileId: Int64, to next: FileStatus, actor: String, reason: String? = nil,
        lease: (owner: String, expiresAt: Int64)? = nil, at now: Int64 = Ledger.nowMs()
    )
        throws
    {
        try write { db in
            guard
                let raw = try db.fetchOne(
                    String.self, sql: "SELECT status FROM files WHERE id = ?", arguments: [fileId]),
                let current = FileStatus(rawValue: raw)
            else { throw LedgerError.unknownFile(id: fileId) }
            guard current.canTransition(to: next) else {
                throw LedgerError.transitionRefused(fileId: fileId, from: current, to: next)
            }
            try db.execute(
                sql: """
                    UPDATE files SET status = ?, lease_owner = ?, lease_expires_at = ?, updated_at = ?, updated_by = ?,
                                     status_reason = ?
                    WHERE id = ?
                    """,
                arguments: [
                    next.rawValue, next == .processing ? lease?.owner : nil,
                    next == .processing ? lease?.expiresAt : nil, now, actor, reason, fileId,
                ])
        }
    }

    /// Sets a watermark, never backwards (a lower value leaves it unchanged); returns the value now stored.
    @discardableResult
    package func advanceWatermark(
        _ name: String, to value: Int64, actor: String, at now: Int64 = Ledger.nowMs()
    )
        throws -> Int64
    {
        try write { db in try Self.advanceWatermark(name, to: value, actor: actor, at: now, db: db) }
    }

    static func advanceWatermark(
        _ name: String, to value: Int64, actor: String, at now: Int64, db: any LedgerConnection
    )
        throws -> Int64
    {
        try db.execute(
            sql: """
                INSERT INTO watermarks (name, value_ms, updated_at, updated_by) VALUES (?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET value_ms = excluded.value_ms, updated_at = excluded.updated_at,
                                                 updated_by = excluded.updated_by
                WHERE excluded.value_ms > watermarks.value_ms
                """,
            arguments: [name, value, now, actor])
        return try db.fetchOne(Int64.self, sql: "SELECT value_ms FROM watermarks WHERE name = ?", arguments: [name])
            ?? value
    }

    /// Records a confirmed exchange gap (a range the exchange has no candles for).
    package func recordGap(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, range: TimeRange,
        at now: Int64 = Ledger.nowMs()
    ) throws {
        try write { db in
            try Self.insertGap(exchange: exchange, market: market, pair: pair, range: range, at: now, db: db)
        }
    }

    static func insertGap(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, range: TimeRange, at now: Int64,
        db: any LedgerConnection
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO exchange_gaps (exchange, market, symbol, timeframe, t_start, t_end, confirmed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """,
            arguments: [
                exchange.rawValue, market.rawValue, pair.symbol, pair.timeframe.rawValue, range.lowerBound,
                range.upperBound, now,
            ])
    }

    /// Caches markets and their listing times (the only write `plan` makes).
    package func cacheMarkets(_ markets: [Market], exchange: ExchangeKind, at now: Int64 = Ledger.nowMs()) throws {
        try write { db in
            for market in markets {
                try db.execute(
                    sql: """
                        INSERT INTO markets (exchange, market, symbol, symbol_id, listed_at_ms, status, fetched_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (exchange, market, symbol) DO UPDATE SET
                            symbol_id = excluded.symbol_id, status = excluded.status, fetched_at = excluded.fetched_at,
                            listed_at_ms = COALESCE(markets.listed_at_ms, excluded.listed_at_ms)
                        """,
                    arguments: [
                        exchange.rawValue, market.market.rawValue, market.symbol, market.symbolId, market.listedAtMs,
                        market.status, now,
                    ])
            }
        }
    }

    /// The cached markets of one exchange and market family (only those fetched after `since`, epoch ms).
    package func cachedMarkets(exchange: ExchangeKind, market: MarketKind, since: Int64 = 0) throws -> [Market] {
        try read { db in
            try db.fetchAll(
                sql: """
                    SELECT symbol, symbol_id, status, listed_at_ms FROM markets
                    WHERE exchange = ? AND market = ? AND fetched_at >= ?
                    """,
                arguments: [exchange.rawValue, market.rawValue, since]
            ).map { row in
                Market(
                    symbol: try row.decode(atIndex: 0), symbolId: try row.decode(atIndex: 1), market: market,
                    status: try row.decode(atIndex: 2), listedAtMs: try row.decode(atIndex: 3))
            }
        }
    }
}

extension Ledger {
    /// The number of registered files (any status).
    package func fileCount() throws -> Int {
        try read { db in try db.fetchOne(Int.self, sql: "SELECT COUNT(*) FROM files") ?? 0 }
    }
}
