import Foundation

/// Executes a plan's tasks (§5): fetch → keep closed candles inside the task → deterministic CSV → `.partial`,
/// fsync, rename → SHA-256 → one ledger transaction (file row, watermark, generation). Tasks of many pairs run
/// concurrently, bounded by `parallelism`; memory holds at most `parallelism` pages.
package struct Applier: Sendable {
    package var plan: Plan
    package var exchange: ExchangeKind
    package var market: MarketKind
    package var columns: ColumnSet
    package var ledger: Ledger
    package var landing: LandingArea
    package var source: any CandleSource
    package var parallelism: Int
    package var actor: String
    /// A pause after each stage (fetch, write, rename), for the crash tests' SIGKILLs to land in every stage.
    package var stageDelayMs: Int = 0
    /// Asked before each task starts: once it says stop, no new task starts and the in-flight ones finish.
    package var shouldStop: @Sendable () -> Bool = { false }
    /// Counters for the progress display.
    package var progress = ApplyProgress()

    package init(
        plan: Plan, exchange: ExchangeKind, market: MarketKind, columns: ColumnSet, ledger: Ledger,
        landing: LandingArea, source: any CandleSource, parallelism: Int, actor: String
    ) {
        self.plan = plan
        self.exchange = exchange
        self.market = market
        self.columns = columns
        self.ledger = ledger
        self.landing = landing
        self.source = source
        self.parallelism = max(1, parallelism)
        self.actor = actor
    }

    /// Runs every task; `coverage` is each pair's files ∪ gaps when the plan was made (for watermarks).
    package func run(coverage: [Pair: RangeSet]) async throws -> ApplySummary {
        let started = DispatchTime.now().uptimeNanoseconds
        // The exchange's clock when the plan was made: a candle is kept only when `closeTime < serverNow`.
        let serverNow = plan.nowMs
        let recorder = Recorder(
            ledger: ledger, exchange: exchange, market: market, coverage: coverage, actor: actor)
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for (index, task) in plan.tasks.enumerated() {
                if running >= parallelism {
                    try await group.next()
                    running -= 1
                }
                if shouldStop() {
                    await recorder.interrupt(remaining: plan.tasks.count - index)
                    break
                }
                group.addTask { try await execute(task, serverNow: serverNow, recorder: recorder) }
                running += 1
            }
            try await group.waitForAll()
        }
        var summary = await recorder.summary
        summary.elapsedMs = Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        return summary
    }

    /// How close to "now" a task may end and still be trusted when its newest candles are missing: Binance's
    /// klines come from a database that can lag the live stream, so a short tail is fetched again next run rather
    /// than recorded as a gap.
    static func freshnessMarginMs(_ timeframe: Timeframe) -> Int64 {
        max(2 * timeframe.nominalDurationMs, 5 * Timeframe.minuteMs)
    }

    func execute(_ task: PlanTask, serverNow: Int64, recorder: Recorder) async throws {
        var kept = 0
        defer {
            progress.finished(task, candles: kept, weight: market.klinesWeight(limit: Int(task.candles)))
        }
        let pair = Pair(symbol: task.symbol, timeframe: task.timeframe)
        // An unregistered file already under the task's name (a run killed between rename and commit, or a copy
        // put there by hand) is adopted when its content is valid for its name: no request needed.
        if let url = try? landing.url(for: task.path), let data = FileManager.default.contents(atPath: url.path) {
            let bytes = Array(data)
            if let count = CSVValidator.rows(in: bytes, range: task.range, columns: columns), count > 0 {
                let file = NewFile(
                    sha256: SHA256Hex.digest(bytes), path: task.path, exchange: exchange, market: market,
                    symbol: task.symbol, symbolId: task.symbolId, timeframe: task.timeframe, range: task.range,
                    rows: count, bytes: bytes.count, source: .adopted)
                if case .registered = try await recorder.commit(file, pair: pair, adopted: true) {
                    kept = count
                    return
                }
            }
        }
        let rows = try await source.fetch(task, market: market)
        await recorder.countRequest()
        try await pause()
        let closed = rows.filter { $0.closeTime < serverNow && task.range.contains($0.openTime) }
        let lastExpected = task.timeframe.floor(task.range.upperBound - 1)
        if task.range.upperBound > serverNow - Self.freshnessMarginMs(task.timeframe),
            closed.last.map({ $0.openTime < lastExpected }) ?? true
        {
            await recorder.defer()
            return
        }
        guard !closed.isEmpty else {
            try await recorder.gap(pair: pair, range: task.range)
            return
        }
        kept = closed.count
        let bytes = CSVFormat.render(closed, columns: columns)
        let partial = try landing.writePartial(bytes, for: task.path)
        try await pause()
        try landing.publish(partial, as: task.path)
        try await pause()
        let file = NewFile(
            sha256: SHA256Hex.digest(bytes), path: task.path, exchange: exchange, market: market, symbol: task.symbol,
            symbolId: task.symbolId, timeframe: task.timeframe, range: task.range, rows: closed.count,
            bytes: bytes.count, source: .rest)
        switch try await recorder.commit(file, pair: pair) {
        case .registered:
            break
        case .duplicate(let existing) where existing != task.path:
            try landing.remove(task.path)
        case .duplicate:
            break
        }
    }

    func pause() async throws {
        if stageDelayMs > 0 { try await Task.sleep(for: .milliseconds(stageDelayMs)) }
    }

    /// Serialises ledger commits and keeps each pair's coverage to move watermarks contiguously.
    actor Recorder {
        let ledger: Ledger
        let exchange: ExchangeKind
        let market: MarketKind
        var coverage: [Pair: RangeSet]
        let actor: String
        var summary = ApplySummary()

        init(ledger: Ledger, exchange: ExchangeKind, market: MarketKind, coverage: [Pair: RangeSet], actor: String) {
            self.ledger = ledger
            self.exchange = exchange
            self.market = market
            self.coverage = coverage
            self.actor = actor
        }

        func countRequest() { summary.requests += 1 }

        func `defer`() { summary.deferred += 1 }

        func interrupt(remaining: Int) {
            summary.interrupted = true
            summary.remaining = remaining
        }

        /// The watermark after adding `range`: the end of the coverage contiguous from its first candle.
        func watermark(pair: Pair, adding range: TimeRange) -> (RangeSet, (name: String, value: Int64)?) {
            var set = coverage[pair] ?? RangeSet()
            set.insert(range)
            let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
            guard let first = set.runs.first, let end = set.contiguousEnd(from: first.lowerBound) else {
                return (set, nil)
            }
            return (set, (name, end))
        }

        func commit(_ file: NewFile, pair: Pair, adopted: Bool = false) throws -> CommitResult {
            let (set, mark) = watermark(pair: pair, adding: file.range)
            let result = try ledger.commit(file, watermark: mark, actor: actor)
            switch result {
            case .registered:
                coverage[pair] = set
                if adopted {
                    summary.adopted += 1
                } else {
                    summary.filesWritten += 1
                }
                summary.candles += file.rows
            case .duplicate(let existing):
                if existing != file.path { summary.duplicatesDeleted += 1 }
            }
            return result
        }

        func gap(pair: Pair, range: TimeRange) throws {
            let (set, mark) = watermark(pair: pair, adding: range)
            try ledger.commitGap(
                exchange: exchange, market: market, pair: pair, range: range, watermark: mark, actor: actor)
            coverage[pair] = set
            summary.gapsConfirmed += 1
        }
    }
}
