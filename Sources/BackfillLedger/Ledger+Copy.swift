import BackfillModel
import Foundation

/// What ``Ledger/copy(into:actor:)`` moved.
package struct LedgerCopySummary: Sendable, Equatable, Codable {
    package var files = 0
    package var statusEvents = 0
    package var watermarks = 0
    package var exchangeGaps = 0
    package var markets = 0
    package var runs = 0
    package var archiveFiles = 0

    private enum CodingKeys: String, CodingKey {
        case files, watermarks, markets, runs
        case statusEvents = "status_events"
        case exchangeGaps = "exchange_gaps"
        case archiveFiles = "archive_files"
    }
}

extension Ledger {
    /// Copies this ledger into `destination`, a new (empty) ledger of either backend: SQLite into PostgreSQL and
    /// back (§13 migration). In one write transaction on the destination, from one read snapshot of this ledger:
    /// the destination holds all of it or none.
    ///
    /// Nothing bypasses the destination's invariants: each file is inserted with its first status and its later
    /// status changes are replayed in order with their times, actors and reasons, so the destination's own triggers
    /// write the same `status_events` (with new event ids); ids of files, runs and archive files are kept. Locks and
    /// task leases are not copied (no run is in progress in a copy); the destination's generation is its own (a
    /// saved plan made against the source is stale there).
    /// - Throws: ``LedgerError/foreign(path:reason:)`` when the destination is not empty.
    package func copy(into destination: Ledger) throws -> LedgerCopySummary {
        try read { source in
            try destination.write { target in
                try Self.checkEmpty(target, path: destination.path)
                var summary = LedgerCopySummary()
                try Self.copyFiles(from: source, to: target, summary: &summary, path: path)
                summary.watermarks = try Self.copyRows(
                    "watermarks", columns: ["name", "value_ms", "updated_at", "updated_by"], from: source, to: target)
                summary.exchangeGaps = try Self.copyRows(
                    "exchange_gaps",
                    columns: ["exchange", "market", "symbol", "timeframe", "t_start", "t_end", "confirmed_at"],
                    from: source, to: target)
                summary.markets = try Self.copyRows(
                    "markets",
                    columns: ["exchange", "market", "symbol", "symbol_id", "listed_at_ms", "status", "fetched_at"],
                    from: source, to: target)
                summary.runs = try Self.copyRows(
                    "runs",
                    columns: ["id", "command", "started_at", "finished_at", "plan_sha256", "outcome", "summary_json"],
                    from: source, to: target)
                summary.archiveFiles = try Self.copyRows(
                    "archive_files", columns: ["id", "url", "sha256", "t_start", "t_end", "verified_at"], from: source,
                    to: target)
                _ = try Self.copyRows(
                    "file_archives", columns: ["file_id", "archive_file_id"], from: source, to: target)
                if destination.backend == .postgresql {
                    // Identity columns continue after the copied ids.
                    for table in ["files", "runs", "archive_files"] {
                        try target.execute(
                            sql: """
                                SELECT setval(pg_get_serial_sequence('\(table)', 'id'),
                                              COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)
                                """)
                    }
                }
                return summary
            }
        }
    }

    private static func checkEmpty(_ db: any LedgerConnection, path: String) throws {
        for table in ["files", "watermarks", "exchange_gaps", "runs", "archive_files"] {
            if let count = try db.fetchOne(Int.self, sql: "SELECT COUNT(*) FROM \(table)"), count > 0 {
                throw LedgerError.foreign(
                    path: path, reason: "it is not empty (\(count) row(s) in \(table)); copy into a new ledger")
            }
        }
    }

    /// Copies a table's rows column for column; returns how many.
    private static func copyRows(
        _ table: String, columns: [String], from source: any LedgerConnection, to target: any LedgerConnection
    ) throws -> Int {
        let list = columns.joined(separator: ", ")
        let insert =
            "INSERT INTO \(table) (\(list)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
        var count = 0
        try source.forEachRow(sql: "SELECT \(list) FROM \(table) ORDER BY \(columns[0])", arguments: []) { row in
            try target.execute(sql: insert, arguments: (0..<columns.count).map { row.value(atIndex: $0) })
            count += 1
        }
        return count
    }

    /// Files with their status histories replayed (see ``copy(into:)``).
    private static func copyFiles(
        from source: any LedgerConnection, to target: any LedgerConnection, summary: inout LedgerCopySummary,
        path: String
    ) throws {
        struct Event {
            var to: String
            var at: LedgerValue
            var actor: LedgerValue
            var reason: LedgerValue
        }
        var events: [Int64: [Event]] = [:]
        try source.forEachRow(
            sql: "SELECT file_id, to_status, at, actor, reason FROM status_events ORDER BY file_id, id", arguments: []
        ) { row in
            let id: Int64 = try row.decode(atIndex: 0)
            events[id, default: []].append(
                Event(
                    to: try row.decode(atIndex: 1), at: row.value(atIndex: 2), actor: row.value(atIndex: 3),
                    reason: row.value(atIndex: 4)))
        }
        let columns = [
            "id", "sha256", "path", "exchange", "market", "symbol", "symbol_id", "timeframe", "t_start", "t_end",
            "rows", "bytes", "status", "source", "lease_owner", "lease_expires_at", "created_at", "updated_at",
            "updated_by", "status_reason", "mtime_ns", "inode",
        ]
        let insert = """
            INSERT INTO files (id, sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end, rows,
                               bytes, status, source, lease_owner, lease_expires_at, created_at, updated_at,
                               updated_by, status_reason, mtime_ns, inode)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        let move = """
            UPDATE files SET status = ?, lease_owner = ?, lease_expires_at = ?, updated_at = ?, updated_by = ?,
                             status_reason = ?
            WHERE id = ?
            """
        try source.forEachRow(
            sql: "SELECT \(columns.joined(separator: ", ")) FROM files ORDER BY id", arguments: []
        ) { row in
            let id: Int64 = try row.decode(atIndex: 0)
            var values = (0..<columns.count).map { row.value(atIndex: $0) }
            let history = events[id] ?? []
            let final = values
            // Inserted as it was first registered: its first event's status, time, actor and reason.
            if let first = history.first {
                values[12] = .text(first.to)
                values[17] = first.at
                values[18] = first.actor
                values[19] = first.reason
                if first.to == FileStatus.processing.rawValue {
                    values[14] = first.actor == .null ? .text("copy") : first.actor
                    values[15] = first.at
                } else {
                    values[14] = .null
                    values[15] = .null
                }
            }
            try target.execute(sql: insert, arguments: values)
            for (index, event) in history.enumerated().dropFirst() {
                let last = index == history.count - 1
                let processing = event.to == FileStatus.processing.rawValue
                let owner: LedgerValue =
                    processing ? (last ? final[14] : (event.actor == .null ? .text("copy") : event.actor)) : .null
                let expires: LedgerValue = processing ? (last ? final[15] : event.at) : .null
                try target.execute(
                    sql: move,
                    arguments: [.text(event.to), owner, expires, event.at, event.actor, event.reason, .integer(id)])
            }
            // The row as it is now (lease, last change, stat), history aside.
            try target.execute(
                sql: """
                    UPDATE files SET lease_owner = ?, lease_expires_at = ?, updated_at = ?, updated_by = ?,
                                     status_reason = ?
                    WHERE id = ? AND status = ?
                    """,
                arguments: [final[14], final[15], final[17], final[18], final[19], .integer(id), final[12]])
            summary.files += 1
            summary.statusEvents += max(history.count, 1)
        }
        _ = path
    }
}

extension LedgerValue: LedgerBindable {
    package var ledgerValue: LedgerValue { self }
}
