/// The result of planning: per pair, the chunk tasks missing from the ledger, and the totals.
///
/// A value (Codable, Equatable) so that text and JSON rendering, golden files and saved plans all start from the
/// same thing.
package struct Plan: Sendable, Equatable, Codable {
    package var exchange: ExchangeKind
    package var market: MarketKind
    /// The exchange's clock the plan was made at.
    package var nowMs: Int64
    /// The ledger generation the snapshot was read at (0 when there is no ledger yet).
    package var ledgerGeneration: Int64
    package var pairs: [PairPlan]
    package var findings: [Finding]
    /// Set when `plan` left the landing area's drift to `audit` (a ledger above
    /// ``PlanningSession/driftScanLimit`` files): the number of registered files. Not saved.
    package var landingNotScanned: Int?

    package init(
        exchange: ExchangeKind, market: MarketKind, nowMs: Int64, ledgerGeneration: Int64,
        pairs: [PairPlan], findings: [Finding] = []
    ) {
        self.exchange = exchange
        self.market = market
        self.nowMs = nowMs
        self.ledgerGeneration = ledgerGeneration
        self.pairs = pairs
        self.findings = findings
    }

    /// Every task of every pair, in plan order.
    package var tasks: [PlanTask] { pairs.flatMap(\.tasks) }

    /// The same, without building an array (`apply` keeps one copy of the tasks in memory, not several).
    package var lazyTasks: LazySequence<FlattenSequence<LazyMapSequence<[PairPlan], [PlanTask]>>> {
        pairs.lazy.flatMap(\.tasks)
    }

    package var taskCount: Int { pairs.reduce(0) { $0 + $1.tasks.count } }

    package var summary: PlanSummary {
        var summary = PlanSummary()
        for pair in pairs {
            for task in pair.tasks {
                summary.chunks += 1
                summary.candles += task.candles
                summary.requests += 1
                summary.weight += Int64(market.klinesWeight(limit: Int(task.candles)))
            }
        }
        summary.duplicates = findings.filter { $0.kind == .duplicateFile }.count
        summary.drift = findings.count - summary.duplicates
        return summary
    }

    /// Whether `apply` would change anything.
    package var hasChanges: Bool { pairs.contains { !$0.tasks.isEmpty } || !findings.isEmpty }

    private enum CodingKeys: String, CodingKey {
        case exchange, market, pairs, findings
        case nowMs = "now_ms"
        case ledgerGeneration = "ledger_generation"
    }
}

/// One pair's part of a plan.
package struct PairPlan: Sendable, Equatable, Codable {
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var batchLimit: Int
    /// `[start, end)` wanted, or `nil` when the resolved range is empty (e.g. a start in the future).
    package var desired: TimeRange?
    /// Candles of the desired range already covered by files or confirmed gaps.
    package var coveredCandles: Int64
    package var desiredCandles: Int64
    package var watermarkMs: Int64?
    package var tasks: [PlanTask]

    package var pair: Pair { Pair(symbol: symbol, timeframe: timeframe) }

    private enum CodingKeys: String, CodingKey {
        case symbol, timeframe, desired, tasks
        case symbolId = "symbol_id"
        case batchLimit = "batch_limit"
        case coveredCandles = "covered_candles"
        case desiredCandles = "desired_candles"
        case watermarkMs = "watermark_ms"
    }
}

/// One request's worth of work: a chunk of the grid ∩ a hole in coverage; at most one file.
package struct PlanTask: Sendable, Equatable, Hashable, Codable {
    package var symbol: String
    package var symbolId: String
    package var timeframe: Timeframe
    package var range: TimeRange
    /// Grid candles inside `range` (the exchange may have fewer: gaps).
    package var candles: Int64
    /// The file's path relative to the landing directory.
    package var path: String

    private enum CodingKeys: String, CodingKey {
        case symbol, timeframe, candles, path
        case symbolId = "symbol_id"
        case range
    }
}

/// The totals of the summary line.
package struct PlanSummary: Sendable, Equatable, Codable {
    package var chunks = 0
    package var candles: Int64 = 0
    package var requests = 0
    package var weight: Int64 = 0
    package var duplicates = 0
    package var drift = 0
}

/// Something `plan` or `audit` found besides missing coverage (§7). Detection arrives with `audit`; the type is
/// here so that plans, saved plans and their renderings already carry the section.
package struct Finding: Sendable, Equatable, Hashable, Codable {
    package enum Kind: String, Sendable, Codable, CaseIterable {
        case gap
        case missingFile = "missing_file"
        case modifiedFile = "modified_file"
        case duplicateFile = "duplicate_file"
        case orphanFile = "orphan_file"
        case strayPartial = "stray_partial"
        case overlap
        case invalidCandles = "invalid_candles"
        case watermark
        case remoteChanged = "remote_changed"
        case exchangeGap = "exchange_gap"
    }

    package var kind: Kind
    package var symbol: String?
    package var timeframe: Timeframe?
    package var range: TimeRange?
    package var path: String?
    package var detail: String
}
