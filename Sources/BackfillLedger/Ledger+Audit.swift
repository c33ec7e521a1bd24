import BackfillModel
import Foundation

/// One registered file as `audit` sees it.
package struct RegisteredFile: Sendable, Equatable {
    package var id: Int64
    package var path: String
    package var sha256: String
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var range: TimeRange
    package var bytes: Int
    package var status: FileStatus
    /// When the row was registered (epoch ms): a file modified after it is hashed even without `--deep`.
    package var createdAt: Int64
    package init(
        id: Int64, path: String, sha256: String, symbol: String, symbolId: String, timeframe: Timeframe,
        range: TimeRange, bytes: Int, status: FileStatus, createdAt: Int64
    ) {
        self.id = id
        self.path = path
        self.sha256 = sha256
        self.symbol = symbol
        self.symbolId = symbolId
        self.timeframe = timeframe
        self.range = range
        self.bytes = bytes
        self.status = status
        self.createdAt = createdAt
    }
}

extension Ledger {
    /// The pairs (unified symbol, exchange id, timeframe) that have registered files in one exchange and market.
    ///
    /// A skip scan over the `files_coverage` index: one `LIMIT 1` seek per pair, not a pass over every row (a
    /// `SELECT DISTINCT` over a million files took ~0.3 s of CPU).
    package func registeredPairs(
        exchange: ExchangeKind, market: MarketKind
    ) throws -> [(
        symbol: String, symbolId: String, timeframe: Timeframe
    )] {
        try read { db in
            let next = """
                SELECT symbol, timeframe, symbol_id FROM files INDEXED BY files_coverage
                WHERE exchange = ? AND market = ? AND (symbol, timeframe) > (?, ?)
                ORDER BY symbol, timeframe LIMIT 1
                """
            var pairs: [(symbol: String, symbolId: String, timeframe: Timeframe)] = []
            var after = ("", "")
            while let row = try db.fetchOne(
                sql: next, arguments: [exchange.rawValue, market.rawValue, after.0, after.1])
            {
                let pair: (symbol: String, symbolId: String, timeframe: Timeframe) = (
                    try row.decode(atIndex: 0), try row.decode(atIndex: 2), try row.decoded(1, path: path)
                )
                pairs.append(pair)
                after = (pair.symbol, pair.timeframe.rawValue)
            }
            return pairs
        }
    }

    /// One pair's registered files, ordered by range (`files_coverage` index).
    package func registeredFiles(
        exchange: ExchangeKind, market: MarketKind, symbol: String, timeframe: Timeframe
    ) throws -> [RegisteredFile] {
        try read { db in
            var files: [RegisteredFile] = []
            try db.forEachRow(
                sql: """
                    SELECT id, path, sha256, symbol, symbol_id, timeframe, t_start, t_end, bytes, status, created_at
                    FROM files INDEXED BY files_coverage
                    WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                    ORDER BY t_start, t_end
                    """, arguments: [exchange.rawValue, market.rawValue, symbol, timeframe]
            ) { row in
                if let file = try registeredFile(row) { files.append(file) }
            }
            return files
        }
    }

    /// A ``RegisteredFile`` from the first 11 columns of `row` (id, path, sha256, symbol, symbol_id, timeframe,
    /// t_start, t_end, bytes, status, created_at); `nil` for a row whose range is empty.
    func registeredFile(_ row: LedgerRow) throws -> RegisteredFile? {
        guard let range = TimeRange(try row.decode(atIndex: 6), try row.decode(atIndex: 7)) else { return nil }
        return RegisteredFile(
            id: try row.decode(atIndex: 0), path: try row.decode(atIndex: 1), sha256: try row.decode(atIndex: 2),
            symbol: try row.decode(atIndex: 3), symbolId: try row.decode(atIndex: 4),
            timeframe: try row.decoded(5, path: path), range: range, bytes: try row.decode(atIndex: 8),
            status: try row.decoded(9, path: path), createdAt: try row.decode(atIndex: 10))
    }

    /// What `audit` reads of each registered file, per pair, streamed in range order (no array of a million rows).
    package struct FileRow: Sendable {
        package var id: Int64
        /// Empty when the path is the canonical one (`canonical`): the caller builds it only when it needs it.
        package var path: String
        /// The path is `<canonicalPrefix><tStart>_<tEnd>.csv`.
        package var canonical: Bool
        package var range: TimeRange
        package var bytes: Int
        package var status: FileStatus
        package var createdAt: Int64
        /// The file's stat as registered (`nil`: not recorded, e.g. a row from before schema v3).
        package var stat: FileStat?
    }

    /// Calls `body` with each of a pair's registered files, ordered by range (`files_coverage` index), inside one
    /// read transaction.
    package func forEachFile(
        exchange: ExchangeKind, market: MarketKind, symbol: String, timeframe: Timeframe, canonicalPrefix: String,
        _ body: (FileRow) throws -> Void
    ) throws {
        try read { db in
            // The path is compared with the canonical name in place (no string made, no SQL concatenation, which
            // costs more than the rest of the row).
            let prefix = Array(canonicalPrefix.utf8)
            try db.forEachRow(
                sql: """
                    SELECT id, path, t_start, t_end, bytes, status, created_at, mtime_ns, inode
                    FROM files INDEXED BY files_coverage
                    WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?
                    ORDER BY t_start, t_end
                    """, arguments: [exchange.rawValue, market.rawValue, symbol, timeframe]
            ) { row in
                guard let range = TimeRange(try row.decode(atIndex: 2), try row.decode(atIndex: 3)) else { return }
                var named: TimeRange?
                _ = row.withUTF8(atIndex: 1) { bytes in
                    named = LandingPath.range(ofName: bytes, prefix: prefix)
                    return true
                }
                let canonical = named == range
                let modifiedNs: Int64? = try row.decode(atIndex: 7)
                let inode: Int64? = try row.decode(atIndex: 8)
                let bytes: Int = try row.decode(atIndex: 4)
                try body(
                    FileRow(
                        id: try row.decode(atIndex: 0), path: canonical ? "" : try row.decode(atIndex: 1),
                        canonical: canonical, range: range, bytes: bytes,
                        status: try row.decoded(5, path: path), createdAt: try row.decode(atIndex: 6),
                        stat: modifiedNs.flatMap { ns in
                            inode.map { FileStat(size: bytes, modifiedNs: ns, inode: UInt64(bitPattern: $0)) }
                        }))
            }
        }
    }

    /// A registered file's SHA-256.
    package func sha256(ofFile id: Int64) throws -> String? {
        try read { db in try db.fetchOne(String.self, sql: "SELECT sha256 FROM files WHERE id = ?", arguments: [id]) }
    }

    /// The registered path holding content with this SHA-256 in the same series, if any (§5 Duplicate content).
    package func registeredPath(
        sha256: String, exchange: ExchangeKind, market: MarketKind, symbol: String, timeframe: Timeframe
    ) throws -> String? {
        try read { db in
            try Self.registeredPath(
                sha256: sha256, exchange: exchange, market: market, symbol: symbol, timeframe: timeframe, db: db)
        }
    }
}
