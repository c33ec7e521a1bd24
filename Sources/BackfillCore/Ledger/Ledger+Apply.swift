import Foundation
import GRDB

/// What registering one task's result did.
package enum CommitResult: Sendable, Equatable {
    /// A new file row.
    case registered(id: Int64)
    /// The content was already registered under `existingPath`: the new file must be deleted.
    case duplicate(existingPath: String)
}

extension Ledger {
    /// Registers a written file and moves the pair's watermark, in one transaction (§5). The generation is bumped by
    /// the schema's triggers.
    package func commit(
        _ file: NewFile, watermark: (name: String, value: Int64)?, actor: String,
        at now: Int64 = Ledger.nowMs()
    ) throws -> CommitResult {
        try writer.write { db in
            if let existing = try String.fetchOne(
                db, sql: "SELECT path FROM files WHERE sha256 = ?", arguments: [file.sha256])
            {
                return .duplicate(existingPath: existing)
            }
            let id = try Self.insert(file, actor: actor, at: now, db: db)
            if let watermark {
                _ = try Self.advanceWatermark(watermark.name, to: watermark.value, actor: actor, at: now, db: db)
            }
            return .registered(id: id)
        }
    }

    /// Records a task that came back empty as a confirmed exchange gap, with the watermark, in one transaction.
    package func commitGap(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, range: TimeRange,
        watermark: (name: String, value: Int64)?, actor: String, at now: Int64 = Ledger.nowMs()
    )
        throws
    {
        try writer.write { db in
            try Self.insertGap(exchange: exchange, market: market, pair: pair, range: range, at: now, db: db)
            if let watermark {
                _ = try Self.advanceWatermark(watermark.name, to: watermark.value, actor: actor, at: now, db: db)
            }
        }
    }

    /// Opens a run record; returns its id.
    package func startRun(command: String, planSHA256: String?, at now: Int64 = Ledger.nowMs()) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: "INSERT INTO runs (command, started_at, plan_sha256, outcome) VALUES (?, ?, ?, 'running')",
                arguments: [command, now, planSHA256])
            return db.lastInsertedRowID
        }
    }

    /// Closes a run record with its outcome and summary.
    package func finishRun(_ id: Int64, outcome: String, summaryJSON: String?, at now: Int64 = Ledger.nowMs()) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE runs SET finished_at = ?, outcome = ?, summary_json = ? WHERE id = ?",
                arguments: [now, outcome, summaryJSON, id])
        }
    }
}
