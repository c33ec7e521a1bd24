import BackfillModel
import Foundation

/// What registering one task's result did.
package enum CommitResult: Sendable, Equatable {
    /// A new file row.
    case registered(id: Int64)
    /// The content was already registered under `existingPath`: the new file must be deleted.
    case duplicate(existingPath: String)
    /// An empty task recorded as a confirmed exchange gap.
    case gap
    /// Cooperating workers: this worker's lease on the task was taken over (it had expired); nothing was
    /// registered, the other worker's result counts.
    case leaseLost
}

/// One task's result waiting for the next group commit (``Ledger/commit(_:coverage:exchange:market:actor:at:)``).
package struct PendingCommit: Sendable {
    package enum Kind: Sendable {
        /// A written (or adopted) file to register.
        case file(NewFile)
        /// A task the exchange had no candles for.
        case gap(TimeRange)
    }

    package var kind: Kind
    package var pair: Pair
    /// With a file of a market that is not trading: the end of the task after its last candle, recorded as a
    /// confirmed exchange gap in the same transaction (the planner continues it while the market stays so).
    package var trailingGap: TimeRange?
    /// Cooperating workers: the chunk task this result is for, marked done in the same transaction.
    package var taskKey: String?

    package init(_ kind: Kind, pair: Pair, trailingGap: TimeRange? = nil, taskKey: String? = nil) {
        self.kind = kind
        self.pair = pair
        self.trailingGap = trailingGap
        self.taskKey = taskKey
    }

    var range: TimeRange {
        switch kind {
        case .file(let file): file.range
        case .gap(let range): range
        }
    }
}

extension Ledger {
    /// Registers a written file and moves the pair's watermark, in one transaction (§5). The generation is bumped by
    /// the schema's triggers.
    package func commit(
        _ file: NewFile, watermark: (name: String, value: Int64)?, actor: String,
        at now: Int64 = Ledger.nowMs()
    ) throws -> CommitResult {
        try write { db in
            if let existing = try Self.registeredPath(
                sha256: file.sha256, exchange: file.exchange, market: file.market, symbol: file.symbol,
                timeframe: file.timeframe, db: db)
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

    /// Group commit: registers several tasks' results in one transaction, in order, each exactly as
    /// ``commit(_:watermark:actor:at:)`` or ``commitGap(exchange:market:pair:range:watermark:actor:at:)`` would, and
    /// moves each pair's watermark to the end of its coverage contiguous from its first candle. The write runs off
    /// the caller's thread.
    ///
    /// With `leaseOwner` (cooperating workers, §13), each entry's task is marked done in the same transaction, and
    /// an entry whose lease was taken over is not registered (``CommitResult/leaseLost``); each watermark is moved
    /// under its row lock by the pair's coverage as the ledger holds it (every worker's files), not by this
    /// worker's view.
    /// - Parameter coverage: each pair's files ∪ gaps before the batch.
    /// - Returns: one result per entry, and the coverage after the batch (duplicates add none).
    package func commit(
        _ batch: [PendingCommit], coverage: [Pair: RangeSet], exchange: ExchangeKind, market: MarketKind,
        actor: String, leaseOwner: String? = nil, at now: Int64 = Ledger.nowMs()
    ) async throws -> (results: [CommitResult], coverage: [Pair: RangeSet]) {
        let rowLock = backend == .postgresql ? " FOR UPDATE" : ""
        return try await write { db in
            var coverage = coverage
            var results: [CommitResult] = []
            results.reserveCapacity(batch.count)
            var moved: Set<Pair> = []
            for entry in batch {
                if let leaseOwner, let key = entry.taskKey {
                    guard try Self.finishTask(key, owner: leaseOwner, at: now, db: db) else {
                        results.append(.leaseLost)
                        continue
                    }
                }
                switch entry.kind {
                case .file(let file):
                    if let existing = try Self.registeredPath(
                        sha256: file.sha256, exchange: file.exchange, market: file.market, symbol: file.symbol,
                        timeframe: file.timeframe, db: db)
                    {
                        results.append(.duplicate(existingPath: existing))
                        continue
                    }
                    results.append(.registered(id: try Self.insert(file, actor: actor, at: now, db: db)))
                    if let tail = entry.trailingGap {
                        try Self.insertGap(
                            exchange: exchange, market: market, pair: entry.pair, range: tail, at: now, db: db)
                    }
                case .gap(let range):
                    try Self.insertGap(
                        exchange: exchange, market: market, pair: entry.pair, range: range, at: now, db: db)
                    results.append(.gap)
                }
                coverage[entry.pair, default: RangeSet()].insert(entry.range)
                moved.insert(entry.pair)
            }
            for pair in moved.sorted() {
                let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
                if leaseOwner != nil {
                    _ = try db.fetchOne(
                        sql: "SELECT value_ms FROM watermarks WHERE name = ?\(rowLock)", arguments: [name])
                    coverage[pair] = try Self.coverage(exchange: exchange, market: market, pair: pair, db: db)
                }
                guard let set = coverage[pair], let first = set.runs.first,
                    let end = set.contiguousEnd(from: first.lowerBound)
                else { continue }
                _ = try Self.advanceWatermark(name, to: end, actor: actor, at: now, db: db)
            }
            return (results, coverage)
        }
    }

    /// Records a task that came back empty as a confirmed exchange gap, with the watermark, in one transaction.
    package func commitGap(
        exchange: ExchangeKind, market: MarketKind, pair: Pair, range: TimeRange,
        watermark: (name: String, value: Int64)?, actor: String, at now: Int64 = Ledger.nowMs()
    )
        throws
    {
        try write { db in
            try Self.insertGap(exchange: exchange, market: market, pair: pair, range: range, at: now, db: db)
            if let watermark {
                _ = try Self.advanceWatermark(watermark.name, to: watermark.value, actor: actor, at: now, db: db)
            }
        }
    }

    /// Opens a run record; returns its id.
    package func startRun(command: String, planSHA256: String?, at now: Int64 = Ledger.nowMs()) throws -> Int64 {
        try write { db in
            guard
                let id = try db.fetchOne(
                    Int64.self,
                    sql: """
                        INSERT INTO runs (command, started_at, plan_sha256, outcome) VALUES (?, ?, ?, 'running')
                        RETURNING id
                        """, arguments: [command, now, planSHA256])
            else { throw LedgerError.sqlite("\(path): no id for the new run") }
            return id
        }
    }

    /// Closes a run record with its outcome and summary.
    package func finishRun(
        _ id: Int64, outcome: RunOutcome, summaryJSON: String?, at now: Int64 = Ledger.nowMs()
    ) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE runs SET finished_at = ?, outcome = ?, summary_json = ? WHERE id = ?",
                arguments: [now, outcome.rawValue, summaryJSON, id])
        }
    }
}
