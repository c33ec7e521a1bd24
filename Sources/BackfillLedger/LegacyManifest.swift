import BackfillModel
import Foundation
import GRDB

/// The ledger of the Python/CCXT job this tool replaces (`manifest.sqlite` with tables `manifest` and `watermark`,
/// `../shared/bench/peer_ccxt_backfill.py`), opened read-only: importing never changes it.
package struct LegacyManifest: Sendable {
    /// One row of its `manifest` table.
    package struct Row: Sendable, Equatable {
        package var id: Int64
        package var sha256: String
        package var path: String
        /// The exchange id (`BTCUSDT`), as the old job stored it.
        package var symbolId: String
        package var timeframe: String
        package var tStart: Int64
        /// The last open time in the file (inclusive), as the old job named its files.
        package var tEnd: Int64
        package var rows: Int64
        package var status: String
    }

    /// One row of its `watermark` table: the last open time written per series.
    package struct Watermark: Sendable, Equatable {
        package var symbolId: String
        package var timeframe: String
        package var lastOpenMs: Int64
    }

    package var rows: [Row]
    package var watermarks: [Watermark]

    /// Reads the old job's manifest at `path`.
    /// - Throws: ``LedgerError`` when it is not such a manifest (not SQLite, no `manifest` table).
    package static func read(path: String) throws -> LegacyManifest {
        guard FileManager.default.fileExists(atPath: path) else {
            throw LedgerError.cannotOpen(path: path, reason: "no such file")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "legacy manifest"
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                guard try db.tableExists("manifest") else {
                    throw LedgerError.cannotOpen(
                        path: path, reason: "it has no 'manifest' table (not the ccxt job's manifest)")
                }
                let rows = try GRDB.Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, sha256, path, symbol, timeframe, t_start, t_end, rows, status FROM manifest
                        ORDER BY id
                        """
                ).map { row in
                    Row(
                        id: try row.decode(atIndex: 0), sha256: try row.decode(atIndex: 1),
                        path: try row.decode(atIndex: 2), symbolId: try row.decode(atIndex: 3),
                        timeframe: try row.decode(atIndex: 4), tStart: try row.decode(atIndex: 5),
                        tEnd: try row.decode(atIndex: 6), rows: try row.decode(atIndex: 7),
                        status: try row.decode(atIndex: 8))
                }
                var watermarks: [Watermark] = []
                if try db.tableExists("watermark") {
                    watermarks = try GRDB.Row.fetchAll(
                        db, sql: "SELECT symbol, timeframe, last_ts FROM watermark ORDER BY symbol, timeframe"
                    ).map {
                        Watermark(
                            symbolId: try $0.decode(atIndex: 0), timeframe: try $0.decode(atIndex: 1),
                            lastOpenMs: try $0.decode(atIndex: 2))
                    }
                }
                return LegacyManifest(rows: rows, watermarks: watermarks)
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError(error, path: path)
        }
    }
}

/// A file carried over from another ledger with its status.
package struct ImportedFile: Sendable, Equatable {
    package var file: NewFile
    package var status: FileStatus
    package var reason: String

    package init(file: NewFile, status: FileStatus, reason: String) {
        self.file = file
        self.status = status
        self.reason = reason
    }
}

extension Ledger {
    /// Registers imported files with their statuses in one transaction; a file whose path or content is registered
    /// already is left as it is (an import run twice changes nothing). Returns the ids of the files inserted.
    package func importFiles(_ files: [ImportedFile], actor: String, at now: Int64 = Ledger.nowMs()) throws -> [Int64?]
    {
        try write { db in
            var ids: [Int64?] = []
            for entry in files {
                let file = entry.file
                let samePath = try db.fetchOne(
                    Int64.self, sql: "SELECT id FROM files WHERE path = ?", arguments: [file.path])
                let sameContent = try Self.registeredPath(
                    sha256: file.sha256, exchange: file.exchange, market: file.market, symbol: file.symbol,
                    timeframe: file.timeframe, db: db)
                if samePath != nil || sameContent != nil {
                    ids.append(nil)
                    continue
                }
                ids.append(
                    try db.fetchOne(
                        Int64.self,
                        sql: """
                            INSERT INTO files (sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end,
                                               rows, bytes, status, source, created_at, updated_at, updated_by,
                                               status_reason, mtime_ns, inode)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            RETURNING id
                            """,
                        arguments: [
                            file.sha256, file.path, file.exchange.rawValue, file.market.rawValue, file.symbol,
                            file.symbolId, file.timeframe.rawValue, file.range.lowerBound, file.range.upperBound,
                            file.rows, file.bytes, entry.status.rawValue, file.source.rawValue, now, now, actor,
                            entry.reason, file.stat?.modifiedNs, file.stat?.inodeBits,
                        ]))
            }
            return ids
        }
    }
}
