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
    /// The archive `apply` will read (§12), for the summary's estimate: tasks inside published archive periods cost
    /// no request. Not saved (a saved plan's configuration carries it).
    package var archive: ArchiveMode?

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
                if archive != nil,
                    ArchiveLayout.periods(for: task.range, timeframe: task.timeframe, nowMs: nowMs) != nil
                {
                    summary.archiveChunks = (summary.archiveChunks ?? 0) + 1
                    continue
                }
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
    /// The pair's candle grid (its timeframe, and for `3d` the pair's origin).
    package var grid: CandleGrid
    package var batchLimit: Int
    /// `[start, end)` wanted, or `nil` when the resolved range is empty (e.g. a start in the future).
    package var desired: TimeRange?
    /// Candles of the desired range already covered by files or confirmed gaps.
    package var coveredCandles: Int64
    package var desiredCandles: Int64
    package var watermarkMs: Int64?
    /// Whether the exchange lists the market as trading. The time after the last candle of a market that is not
    /// trading (delisted, halted) is a confirmed exchange gap rather than data that is late (§3).
    package var trading: Bool
    package var tasks: [PlanTask]

    package var timeframe: Timeframe { grid.timeframe }
    package var pair: Pair { Pair(symbol: symbol, timeframe: timeframe) }

    package init(
        symbol: String, symbolId: String, grid: CandleGrid, batchLimit: Int, desired: TimeRange?,
        coveredCandles: Int64, desiredCandles: Int64, watermarkMs: Int64?, trading: Bool = true, tasks: [PlanTask]
    ) {
        self.symbol = symbol
        self.symbolId = symbolId
        self.grid = grid
        self.batchLimit = batchLimit
        self.desired = desired
        self.coveredCandles = coveredCandles
        self.desiredCandles = desiredCandles
        self.watermarkMs = watermarkMs
        self.trading = trading
        self.tasks = tasks
    }

    private enum CodingKeys: String, CodingKey {
        case symbol, timeframe, desired, tasks, trading
        case symbolId = "symbol_id"
        case batchLimit = "batch_limit"
        case coveredCandles = "covered_candles"
        case desiredCandles = "desired_candles"
        case watermarkMs = "watermark_ms"
        case gridOriginMs = "grid_origin_ms"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decode(String.self, forKey: .symbol)
        symbolId = try c.decode(String.self, forKey: .symbolId)
        let timeframe = try c.decode(Timeframe.self, forKey: .timeframe)
        grid =
            try c.decodeIfPresent(Int64.self, forKey: .gridOriginMs).map { CandleGrid(timeframe, originMs: $0) }
            ?? CandleGrid(timeframe, listedAtMs: nil)
        batchLimit = try c.decode(Int.self, forKey: .batchLimit)
        desired = try c.decodeIfPresent(TimeRange.self, forKey: .desired)
        coveredCandles = try c.decode(Int64.self, forKey: .coveredCandles)
        desiredCandles = try c.decode(Int64.self, forKey: .desiredCandles)
        watermarkMs = try c.decodeIfPresent(Int64.self, forKey: .watermarkMs)
        trading = try c.decodeIfPresent(Bool.self, forKey: .trading) ?? true
        tasks = try c.decode([PlanTask].self, forKey: .tasks)
    }

    /// `grid_origin_ms` is written only for `3d` and `trading` only when false, so other documents are as before.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(symbolId, forKey: .symbolId)
        try c.encode(timeframe, forKey: .timeframe)
        if timeframe == .d3 { try c.encode(grid.originMs, forKey: .gridOriginMs) }
        try c.encode(batchLimit, forKey: .batchLimit)
        try c.encodeIfPresent(desired, forKey: .desired)
        try c.encode(coveredCandles, forKey: .coveredCandles)
        try c.encode(desiredCandles, forKey: .desiredCandles)
        try c.encodeIfPresent(watermarkMs, forKey: .watermarkMs)
        if !trading { try c.encode(false, forKey: .trading) }
        try c.encode(tasks, forKey: .tasks)
    }
}

/// One request's worth of work: a chunk of the grid ∩ a hole in coverage; at most one file.
package struct PlanTask: Sendable, Equatable, Hashable, Codable {
    package var symbol: String
    package var symbolId: String
    /// The pair's candle grid (its timeframe, and for `3d` the pair's origin).
    package var grid: CandleGrid
    package var range: TimeRange
    /// Grid candles inside `range` (the exchange may have fewer: gaps).
    package var candles: Int64
    /// The file's path relative to the landing directory.
    package var path: String

    package var timeframe: Timeframe { grid.timeframe }

    package init(symbol: String, symbolId: String, grid: CandleGrid, range: TimeRange, candles: Int64, path: String) {
        self.symbol = symbol
        self.symbolId = symbolId
        self.grid = grid
        self.range = range
        self.candles = candles
        self.path = path
    }

    private enum CodingKeys: String, CodingKey {
        case symbol, timeframe, candles, path
        case symbolId = "symbol_id"
        case range
        case gridOriginMs = "grid_origin_ms"
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decode(String.self, forKey: .symbol)
        symbolId = try c.decode(String.self, forKey: .symbolId)
        let timeframe = try c.decode(Timeframe.self, forKey: .timeframe)
        grid =
            try c.decodeIfPresent(Int64.self, forKey: .gridOriginMs).map { CandleGrid(timeframe, originMs: $0) }
            ?? CandleGrid(timeframe, listedAtMs: nil)
        range = try c.decode(TimeRange.self, forKey: .range)
        candles = try c.decode(Int64.self, forKey: .candles)
        path = try c.decode(String.self, forKey: .path)
    }

    /// The `3d` origin is written only for `3d`, so other timeframes' documents are as before.
    package func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(symbolId, forKey: .symbolId)
        try c.encode(timeframe, forKey: .timeframe)
        if timeframe == .d3 { try c.encode(grid.originMs, forKey: .gridOriginMs) }
        try c.encode(range, forKey: .range)
        try c.encode(candles, forKey: .candles)
        try c.encode(path, forKey: .path)
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
    /// Chunks expected from the archive (not counted in `requests` and `weight`); `nil` when the archive is off.
    package var archiveChunks: Int?

    private enum CodingKeys: String, CodingKey {
        case chunks, candles, requests, weight, duplicates, drift
        case archiveChunks = "archive_chunks"
    }
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

    /// What `apply` does about a finding (§7's table), decided where the finding is made; renderers and `apply`
    /// read this value, never the detail's words.
    package enum Disposition: String, Sendable, Codable, CaseIterable {
        /// A gap: apply fetches it.
        case fetch
        /// Apply repairs it (restores, adopts, deletes a stray partial, moves a watermark forward).
        case repair
        /// Apply deletes it (a byte-identical duplicate).
        case delete
        /// Reported only.
        case report
        /// Information (a confirmed exchange gap): nothing to do.
        case info

        /// What a finding of `kind` gets unless the place that makes it says otherwise.
        package static func usual(for kind: Kind) -> Disposition {
            switch kind {
            case .gap: .fetch
            case .exchangeGap: .info
            case .duplicateFile: .delete
            case .missingFile, .modifiedFile, .orphanFile, .strayPartial, .watermark: .repair
            case .overlap, .invalidCandles, .remoteChanged: .report
            }
        }
    }

    package var kind: Kind
    package var symbol: String?
    package var timeframe: Timeframe?
    package var range: TimeRange?
    package var path: String?
    package var detail: String
    package var disposition: Disposition

    package init(
        kind: Kind, symbol: String? = nil, timeframe: Timeframe? = nil, range: TimeRange? = nil, path: String? = nil,
        detail: String, disposition: Disposition? = nil
    ) {
        self.kind = kind
        self.symbol = symbol
        self.timeframe = timeframe
        self.range = range
        self.path = path
        self.detail = detail
        self.disposition = disposition ?? .usual(for: kind)
    }

    private enum CodingKeys: String, CodingKey {
        case kind, symbol, timeframe, range, path, detail, disposition
    }

    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        symbol = try c.decodeIfPresent(String.self, forKey: .symbol)
        timeframe = try c.decodeIfPresent(Timeframe.self, forKey: .timeframe)
        range = try c.decodeIfPresent(TimeRange.self, forKey: .range)
        path = try c.decodeIfPresent(String.self, forKey: .path)
        detail = try c.decode(String.self, forKey: .detail)
        disposition = try c.decodeIfPresent(Disposition.self, forKey: .disposition) ?? .usual(for: kind)
    }
}
