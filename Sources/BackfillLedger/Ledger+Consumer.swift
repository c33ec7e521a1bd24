import BackfillModel
import Foundation

/// A registered file as the consumer side sees it (`ledger files`, `claim`, `complete`, `release`).
package struct LedgerFile: Sendable, Equatable, Codable {
    package var id: Int64
    package var path: String
    package var sha256: String
    package var exchange: String
    package var market: String
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var tStart: Int64
    package var tEnd: Int64
    package var rows: Int
    package var bytes: Int
    package var status: FileStatus
    package var source: FileSource
    package var leaseOwner: String?
    package var leaseExpiresAt: Int64?
    package var createdAt: Int64
    package var updatedAt: Int64

    private enum CodingKeys: String, CodingKey {
        case id, path, sha256, exchange, market, symbol, timeframe, rows, bytes, status, source
        case symbolId = "symbol_id"
        case tStart = "t_start"
        case tEnd = "t_end"
        case leaseOwner = "lease_owner"
        case leaseExpiresAt = "lease_expires_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The columns ``init(row:path:)`` reads, in order.
    static let columns = """
        id, path, sha256, exchange, market, symbol, symbol_id, timeframe, t_start, t_end, rows, bytes, status, source,
        lease_owner, lease_expires_at, created_at, updated_at
        """

    init(row: LedgerRow, ledgerPath: String) throws {
        id = try row.decode(atIndex: 0)
        path = try row.decode(atIndex: 1)
        sha256 = try row.decode(atIndex: 2)
        exchange = try row.decode(atIndex: 3)
        market = try row.decode(atIndex: 4)
        symbol = try row.decode(atIndex: 5)
        symbolId = try row.decode(atIndex: 6)
        timeframe = try row.decoded(7, path: ledgerPath)
        tStart = try row.decode(atIndex: 8)
        tEnd = try row.decode(atIndex: 9)
        rows = try row.decode(atIndex: 10)
        bytes = try row.decode(atIndex: 11)
        status = try row.decoded(12, path: ledgerPath)
        source = try row.decoded(13, path: ledgerPath)
        leaseOwner = try row.decode(atIndex: 14)
        leaseExpiresAt = try row.decode(atIndex: 15)
        createdAt = try row.decode(atIndex: 16)
        updatedAt = try row.decode(atIndex: 17)
    }
}

/// Which files `ledger files` lists.
package struct FileFilter: Sendable, Equatable {
    package var status: FileStatus?
    package var symbol: String?
    package var timeframe: Timeframe?
    package var limit: Int?

    package init(status: FileStatus? = nil, symbol: String? = nil, timeframe: Timeframe? = nil, limit: Int? = nil) {
        self.status = status
        self.symbol = symbol
        self.timeframe = timeframe
        self.limit = limit
    }
}

/// One series' counts, for `ledger status`.
package struct SeriesCounts: Sendable, Equatable {
    package var exchange: String
    package var market: MarketKind
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var byStatus: [FileStatus: Int] = [:]
    package var candles: Int64 = 0
    /// Processing files whose lease has run out (returned to `downloaded` by the next claim).
    package var expiredLeases = 0
}

extension Ledger {
    /// The consumer side (§6.3–6.4): leases are the only way a file becomes `processing`; an expired lease returns the
    /// file to `downloaded` (recorded in `status_events` with the reason), done by every claim before it picks files,
    /// so no file stays `processing` past its lease once anyone claims again.
    package static let defaultLeaseMs: Int64 = 10 * 60_000

    /// Returns every file whose lease ran out (at or before `now`) to `downloaded`; returns how many.
    @discardableResult
    package func expireLeases(actor: String, at now: Int64 = Ledger.nowMs()) throws -> Int {
        try write { db in try Self.expireLeases(actor: actor, at: now, db: db) }
    }

    static func expireLeases(actor: String, at now: Int64, db: any LedgerConnection) throws -> Int {
        try db.execute(
            sql: """
                UPDATE files INDEXED BY files_leases
                SET status = 'downloaded', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?, updated_by = ?,
                    status_reason = 'lease of ' || lease_owner || ' expired'
                WHERE status = 'processing' AND lease_expires_at <= ?
                """, arguments: [now, actor, now])
    }

    /// Claims the oldest `downloaded` files for `owner` with a lease, atomically (after returning expired leases).
    package func claim(
        owner: String, limit: Int, leaseMs: Int64, at now: Int64 = Ledger.nowMs()
    ) throws -> [LedgerFile] {
        let (expires, overflow) = now.addingReportingOverflow(leaseMs)
        let expiresAt = overflow ? Int64.max : expires
        // PostgreSQL: claimers on other hosts skip the rows one of them is taking instead of waiting for it.
        let skipLocked = backend == .postgresql ? " FOR UPDATE SKIP LOCKED" : ""
        return try write { db in
            _ = try Self.expireLeases(actor: owner, at: now, db: db)
            let rows = try db.fetchAll(
                sql: """
                    UPDATE files
                    SET status = 'processing', lease_owner = ?, lease_expires_at = ?, updated_at = ?, updated_by = ?,
                        status_reason = 'claimed'
                    WHERE id IN (SELECT id FROM files INDEXED BY files_queue WHERE status = 'downloaded'
                                 ORDER BY created_at, id LIMIT ?\(skipLocked))
                    RETURNING \(LedgerFile.columns)
                    """, arguments: [owner, expiresAt, now, owner, limit])
            return try rows.map { try LedgerFile(row: $0, ledgerPath: path) }.sorted {
                ($0.createdAt, $0.id) < ($1.createdAt, $1.id)
            }
        }
    }

    /// Moves files `owner` holds to `processed` (`complete`) or back to `downloaded` (`release`), all or none.
    /// - Throws: ``LedgerError/leaseNotHeld(fileId:owner:status:holder:)`` when one of them is not `processing` under
    ///   `owner`'s lease (never claimed, completed already, or taken over by another after the lease expired).
    package func finishLease(
        ids: [Int64], owner: String, to next: FileStatus, reason: String?, at now: Int64 = Ledger.nowMs()
    ) throws -> [LedgerFile] {
        precondition(next == .processed || next == .downloaded)
        return try write { db in
            var done: [LedgerFile] = []
            for id in ids {
                guard
                    let row = try db.fetchOne(
                        sql: "SELECT status, lease_owner FROM files WHERE id = ?", arguments: [id])
                else { throw LedgerError.unknownFile(id: id) }
                let status: FileStatus = try row.decoded(0, path: path)
                let holder: String? = try row.decode(atIndex: 1)
                guard status == .processing, holder == owner else {
                    throw LedgerError.leaseNotHeld(fileId: id, owner: owner, status: status, holder: holder)
                }
                let updated = try db.fetchOne(
                    sql: """
                        UPDATE files SET status = ?, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?,
                                         updated_by = ?, status_reason = ?
                        WHERE id = ?
                        RETURNING \(LedgerFile.columns)
                        """, arguments: [next, now, owner, reason, id])
                if let updated { done.append(try LedgerFile(row: updated, ledgerPath: path)) }
            }
            return done
        }
    }

    /// Registered files, oldest first, filtered.
    package func files(_ filter: FileFilter) throws -> [LedgerFile] {
        try read { db in
            var conditions: [String] = []
            var arguments: [(any LedgerBindable)?] = []
            if let status = filter.status {
                conditions.append("status = ?")
                arguments.append(status)
            }
            if let symbol = filter.symbol {
                conditions.append("symbol = ?")
                arguments.append(symbol)
            }
            if let timeframe = filter.timeframe {
                conditions.append("timeframe = ?")
                arguments.append(timeframe)
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let limit = filter.limit.map { " LIMIT \(max(0, $0))" } ?? ""
            return try db.fetchAll(
                sql: "SELECT \(LedgerFile.columns) FROM files \(whereClause) ORDER BY created_at, id\(limit)",
                arguments: arguments
            ).map { try LedgerFile(row: $0, ledgerPath: path) }
        }
    }

    /// Counts by status, candles and expired leases of every registered series.
    package func seriesCounts(at now: Int64 = Ledger.nowMs()) throws -> [SeriesCounts] {
        try read { db in
            var series: [String: SeriesCounts] = [:]
            var order: [String] = []
            let rows = try db.fetchAll(
                sql: """
                    SELECT exchange, market, symbol, MIN(symbol_id), timeframe, status, COUNT(*),
                           CAST(SUM(rows) AS BIGINT),
                           SUM(CASE WHEN status = 'processing' AND lease_expires_at <= ? THEN 1 ELSE 0 END)
                    FROM files GROUP BY exchange, market, symbol, timeframe, status
                    ORDER BY exchange, market, symbol, timeframe
                    """, arguments: [now])
            for row in rows {
                let key = [
                    try row.decode(atIndex: 0), try row.decode(atIndex: 1), try row.decode(atIndex: 2),
                    try row.decode(atIndex: 4),
                ].map { (value: String) in value }.joined(separator: "\u{1}")
                if series[key] == nil {
                    order.append(key)
                    series[key] = SeriesCounts(
                        exchange: try row.decode(atIndex: 0), market: try row.decoded(1, path: path),
                        symbol: try row.decode(atIndex: 2), symbolId: try row.decode(atIndex: 3),
                        timeframe: try row.decoded(4, path: path))
                }
                let status: FileStatus = try row.decoded(5, path: path)
                series[key]?.byStatus[status] = try row.decode(atIndex: 6)
                series[key]?.candles += try row.decode(atIndex: 7) ?? 0
                series[key]?.expiredLeases += try row.decode(atIndex: 8) ?? 0
            }
            return order.compactMap { series[$0] }
        }
    }

    /// Every watermark, by name.
    package func watermarks() throws -> [String: Int64] {
        try read { db in
            var values: [String: Int64] = [:]
            for row in try db.fetchAll(sql: "SELECT name, value_ms FROM watermarks") {
                values[try row.decode(atIndex: 0)] = try row.decode(atIndex: 1)
            }
            return values
        }
    }

    /// The id of the file registered at `path`, if any.
    package func fileId(path: String) throws -> Int64? {
        try read { db in try db.fetchOne(Int64.self, sql: "SELECT id FROM files WHERE path = ?", arguments: [path]) }
    }
}
