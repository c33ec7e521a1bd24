import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Logging

/// Executes a plan's tasks (§5): fetch → keep closed candles inside the task → deterministic CSV → `.partial`,
/// fsync, rename → SHA-256 → directory fsync → ledger transaction (file row, watermark, generation). Tasks of many
/// pairs run concurrently, bounded by `parallelism`; memory holds at most `parallelism` pages.
///
/// Blocking file I/O runs on a thread pool of its own, so that while one task waits for its fsync the two cores
/// keep parsing, rendering and hashing others; results are registered by group commit (every result ready while the
/// previous transaction ran goes into the next one, after one fsync per directory), which keeps the ordering
/// file → rename → directory fsync → ledger row of §4.1 for every file.
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
    /// The plan's `sleep_ms` (the seed's `SLEEP_MS`): request starts are spaced at least this far apart across the
    /// whole run, whatever the parallelism.
    package var sleepMs: Int = 0
    /// Asked before each task starts: once it says stop, no new task starts and the in-flight ones finish.
    package var shouldStop: @Sendable () -> Bool = { false }
    /// Counters for the progress display.
    package var progress = ApplyProgress()
    /// `info`: deferred chunks, confirmed gaps, stopped pairs.
    package var logger: Logger = .silent
    /// Cooperating workers on a PostgreSQL ledger (§13): each task is claimed by lease before it runs, and marked
    /// done with its file; `nil` with the single-apply lock (SQLite).
    package var leases: TaskLeases?
    /// The plan's pairs whose market the exchange lists as not trading (delisted, halted).
    private var notTrading: Set<Pair> { Set(plan.pairs.lazy.filter { !$0.trading }.map(\.pair)) }

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
        let io = BlockingIOPool(threads: max(2, parallelism))
        let recorder = Recorder(
            ledger: ledger, exchange: exchange, market: market, landing: landing, io: io, coverage: coverage,
            actor: actor, leaseOwner: leases?.owner)
        // A worker's leases live while it does: extended every third of their length.
        let heartbeat = leases.map { leases in
            Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(max(50, leases.leaseMs / 3)))
                    if Task.isCancelled { return }
                    _ = try? leases.ledger.heartbeatTasks(owner: leases.owner, leaseMs: leases.leaseMs)
                }
            }
        }
        defer { heartbeat?.cancel() }
        do {
            try await runTasks(recorder: recorder, io: io)
        } catch {
            heartbeat?.cancel()
            _ = try? leases?.ledger.releaseTasks(owner: leases?.owner ?? "")
            await io.shutdown()
            throw error
        }
        heartbeat?.cancel()
        // What a stopped run leaves leased is given back for the others to take at once.
        if let leases { _ = try? leases.ledger.releaseTasks(owner: leases.owner) }
        await io.shutdown()
        var summary = await recorder.summary
        summary.elapsedMs = Int64((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        return summary
    }

    private func runTasks(recorder: Recorder, io: BlockingIOPool) async throws {
        // The exchange's clock when the plan was made: a candle is kept only when `closeTime < serverNow`.
        let serverNow = plan.nowMs
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            // Cooperating workers: tasks another worker holds, claimed again once the plan's others are done (they
            // end done by it, or expired and taken over).
            var waiting: [PlanTask] = []
            var tasks = AnyIterator(plan.lazyTasks.makeIterator())
            var index = -1
            while true {
                guard let task = tasks.next() else {
                    guard let leases, !waiting.isEmpty else { break }
                    // Everything else is started: wait for the others' leases, a fraction of their length.
                    while running > 0 {
                        try await group.next()
                        running -= 1
                    }
                    if shouldStop() {
                        await recorder.interrupt(remaining: waiting.count)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(max(50, min(250, leases.leaseMs / 4))))
                    let retry = waiting
                    waiting = []
                    tasks = AnyIterator(retry.makeIterator())
                    index = -1
                    continue
                }
                index += 1
                if running >= parallelism {
                    try await group.next()
                    running -= 1
                }
                if shouldStop() {
                    await recorder.interrupt(remaining: max(0, plan.taskCount - index) + waiting.count)
                    break
                }
                let pair = Pair(symbol: task.symbol, timeframe: task.timeframe)
                if await recorder.hasFailed(pair) {
                    await recorder.skip()
                    progress.finished(task, candles: 0, weight: 0)
                    continue
                }
                if let leases {
                    switch try leases.claim(task, exchange: exchange, market: market) {
                    case .claimed(let takeover):
                        if takeover {
                            logger.info("\(pair) \(task.range): lease of a stopped worker taken over")
                            await recorder.tookOver()
                        }
                    case .done:
                        await recorder.doneElsewhere()
                        progress.finished(task, candles: 0, weight: 0)
                        continue
                    case .leased:
                        waiting.append(task)
                        continue
                    }
                }
                await source.announce(task, market: market, serverNowMs: serverNow)
                group.addTask {
                    defer { Task { await source.finished(task, market: market, serverNowMs: serverNow) } }
                    do {
                        try await execute(task, serverNow: serverNow, recorder: recorder, io: io)
                    } catch let error as ExchangeError where error.stopsPair {
                        logger.info("\(pair) stopped: \(error)")
                        await recorder.fail(pair, error)
                    } catch  where Task.isCancelled && shouldStop() && Self.isWaitEnded(error) {
                        logger.info("\(pair) \(task.range): stopped before its request was answered")
                        await recorder.stoppedInFlight()
                    }
                }
                running += 1
            }
            try await group.waitForAll()
        }
    }

    /// How close to "now" a task may end and still be trusted when its newest candles are missing: Binance's
    /// klines come from a database that can lag the live stream, so a short tail is fetched again next run rather
    /// than recorded as a gap.
    static func freshnessMarginMs(_ timeframe: Timeframe) -> Int64 {
        max(2 * timeframe.nominalDurationMs, 5 * Timeframe.minuteMs)
    }

    /// An unregistered file already under the task's name (a run killed between rename and commit, or a copy put
    /// there by hand), when its content is valid for its name and complete.
    static func adoptable(
        _ task: PlanTask, landing: LandingArea, columns: ColumnSet, exchange: ExchangeKind, market: MarketKind
    ) -> NewFile? {
        guard let url = try? landing.url(for: task.path), let data = FileManager.default.contents(atPath: url.path)
        else { return nil }
        let bytes = Array(data)
        // Adopted only when it holds every candle of the range (§5 Adoption): a task never spans a confirmed gap
        // (gaps are coverage), so that is every grid slot. A sparse or truncated file is fetched over, never taken
        // as proof that candles are absent.
        guard let count = CSVValidator.rows(in: bytes, range: task.range, columns: columns), count > 0,
            Int64(count) == task.candles
        else { return nil }
        var file = NewFile(
            sha256: SHA256Hex.digest(bytes), path: task.path, exchange: exchange, market: market,
            symbol: task.symbol, symbolId: task.symbolId, timeframe: task.timeframe, range: task.range,
            rows: count, bytes: bytes.count, source: .adopted)
        file.stat = try? landing.entry(task.path)?.stat
        return file
    }

    func execute(_ task: PlanTask, serverNow: Int64, recorder: Recorder, io: BlockingIOPool) async throws {
        var kept = 0
        var weight = 0
        defer { progress.finished(task, candles: kept, weight: weight) }
        let pair = Pair(symbol: task.symbol, timeframe: task.timeframe)
        let key = leases.map { _ in self.key(task) }
        let (landing, columns, exchange, market) = (landing, columns, exchange, market)
        // Adoption needs no request.
        // A stop does not cut a file's stages short: from here to its commit, a task is finished (below too).
        let adopted = try await Self.uncancelled { () async throws -> Int? in
            guard
                let file = try await io.run({
                    Self.adoptable(task, landing: landing, columns: columns, exchange: exchange, market: market)
                }),
                case .registered = try await recorder.commit(
                    PendingCommit(.file(file), pair: pair, taskKey: key), adopted: true)
            else { return nil }
            return file.rows
        }
        if let adopted {
            kept = adopted
            return
        }
        if sleepMs > 0 {
            let wait = await recorder.requestSlot(spacingMs: sleepMs)
            if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
        }
        let closed: [Kline]
        var archives: [ArchiveFileRef] = []
        switch try await source.sourced(task, market: market, serverNowMs: serverNow) {
        case .rest(let rows):
            closed = rows
            weight = market.klinesWeight(limit: Int(task.candles))
            await recorder.countRequest()
        case .archive(let rows, let files):
            closed = rows
            archives = files
            await recorder.countArchive()
        case .unavailable(let reason):
            logger.info("\(pair) \(task.range): \(reason), left for a later run")
            await recorder.unavailable()
            return
        }
        let applier = self
        let files = archives
        kept = try await Self.uncancelled {
            try await applier.store(
                task, closed: closed, archives: files, serverNow: serverNow, recorder: recorder, io: io)
        }
    }

    /// Writes, publishes and registers what the exchange answered for `task`; returns the candles kept.
    func store(
        _ task: PlanTask, closed: [Kline], archives: [ArchiveFileRef] = [], serverNow: Int64, recorder: Recorder,
        io: BlockingIOPool
    ) async throws -> Int {
        let pair = Pair(symbol: task.symbol, timeframe: task.timeframe)
        let (landing, columns, exchange, market) = (landing, columns, exchange, market)
        let key = leases.map { _ in self.key(task) }
        try await pause()
        let grid = task.grid
        let lastExpected = grid.floor(task.range.upperBound - 1)
        let margin = Self.freshnessMarginMs(task.timeframe)
        var trailingGap: TimeRange?
        if task.range.upperBound > serverNow - margin, closed.last.map({ $0.openTime < lastExpected }) ?? true {
            // The newest candles are missing. For a market still trading they may only be late: fetched again next
            // run. For one the exchange says is not trading, the time after its last candle is a confirmed gap,
            // once that candle is older than the margin (a market halted a minute ago is still given the margin).
            let dataEnd = closed.last.map { grid.advance(grid.floor($0.openTime), by: 1) } ?? task.range.lowerBound
            guard notTrading.contains(pair), dataEnd <= serverNow - margin else {
                logger.info("\(pair) \(task.range): newest candles not there yet, deferred to the next run")
                await recorder.defer()
                return 0
            }
            trailingGap = TimeRange(dataEnd, task.range.upperBound)
            logger.info("\(pair): market not trading, no candles from \(dataEnd): recorded as an exchange gap")
        }
        guard !closed.isEmpty else {
            logger.info("\(pair) \(task.range): no candles, recorded as an exchange gap")
            _ = try await recorder.commit(PendingCommit(.gap(task.range), pair: pair, taskKey: key))
            return 0
        }
        let bytes = CSVFormat.render(closed, columns: columns)
        var file = NewFile(
            sha256: SHA256Hex.digest(bytes), path: task.path, exchange: exchange, market: market, symbol: task.symbol,
            symbolId: task.symbolId, timeframe: task.timeframe, range: task.range, rows: closed.count,
            bytes: bytes.count, source: archives.isEmpty ? .rest : .archive)
        file.archives = archives
        // An unregistered file under the name that is not complete by itself (its range holds a gap not yet
        // confirmed) is adopted once the exchange's bytes are the same (§5 Adoption); otherwise it is rewritten.
        let existing = try await io.run { () -> [UInt8]? in
            guard let url = try? landing.url(for: task.path) else { return nil }
            return FileManager.default.contents(atPath: url.path).map(Array.init)
        }
        if existing == bytes {
            var adopted = file
            adopted.source = .adopted
            adopted.stat = try await io.run { try landing.entry(task.path)?.stat }
            _ = try await recorder.commit(
                PendingCommit(.file(adopted), pair: pair, trailingGap: trailingGap, taskKey: key), adopted: true)
            return closed.count
        }
        let partial = try await io.run { try landing.writePartial(bytes, for: task.path) }
        try await pause()
        var written = file
        written.stat = try await io.run { () throws(LandingArea.Failure) -> FileStat? in
            try landing.publish(partial, as: task.path, syncDirectory: false)
            return try landing.entry(task.path)?.stat
        }
        try await pause()
        switch try await recorder.commit(
            PendingCommit(.file(written), pair: pair, trailingGap: trailingGap, taskKey: key))
        {
        case .duplicate(let existing) where existing != task.path:
            try await io.run { try landing.remove(task.path) }
        case .registered, .duplicate, .gap, .leaseLost:
            // A lost lease leaves the file: the worker that took the task over writes the same bytes there.
            break
        }
        return closed.count
    }

    /// The task's lease key (the same on every worker).
    func key(_ task: PlanTask) -> String {
        Ledger.taskKey(
            exchange: exchange, market: market, symbol: task.symbol, timeframe: task.timeframe, range: task.range)
    }

    /// Runs `body` in a task of its own, which the caller's cancellation (a stop) does not reach.
    static func uncancelled<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Task { try await body() }.value
    }

    /// Tests' delay between a file's stages; a stop does not cut it short of finishing the file.
    func pause() async throws {
        if stageDelayMs > 0 { try? await Task.sleep(for: .milliseconds(stageDelayMs)) }
    }

    /// What a cancelled wait for the exchange ends in: the cancellation itself, or the request it cut off.
    static func isWaitEnded(_ error: any Error) -> Bool {
        error is CancellationError || error is TransportError || error is ExchangeError
    }

    /// Registers results by group commit and keeps each pair's coverage to move watermarks contiguously.
    actor Recorder {
        let ledger: Ledger
        let exchange: ExchangeKind
        let market: MarketKind
        let landing: LandingArea
        let io: BlockingIOPool
        var coverage: [Pair: RangeSet]
        let actor: String
        let leaseOwner: String?
        var summary = ApplySummary()
        private var failed: Set<Pair> = []
        private var pending:
            [(entry: PendingCommit, adopted: Bool, done: CheckedContinuation<CommitResult, any Error>)] =
                []
        private var flushing = false

        init(
            ledger: Ledger, exchange: ExchangeKind, market: MarketKind, landing: LandingArea, io: BlockingIOPool,
            coverage: [Pair: RangeSet], actor: String, leaseOwner: String? = nil
        ) {
            self.ledger = ledger
            self.exchange = exchange
            self.market = market
            self.landing = landing
            self.io = io
            self.coverage = coverage
            self.actor = actor
            self.leaseOwner = leaseOwner
        }

        func tookOver() { summary.tasksTakenOver = (summary.tasksTakenOver ?? 0) + 1 }

        func doneElsewhere() { summary.tasksDoneElsewhere = (summary.tasksDoneElsewhere ?? 0) + 1 }

        func countRequest() { summary.requests += 1 }

        func countArchive() { summary.archiveTasks = (summary.archiveTasks ?? 0) + 1 }

        func unavailable() { summary.unavailable = (summary.unavailable ?? 0) + 1 }

        private var nextRequestAt: UInt64 = 0

        /// `sleep_ms`: how long to wait before sending the next request so that starts are `spacingMs` apart.
        func requestSlot(spacingMs: Int) -> Int64 {
            let now = DispatchTime.now().uptimeNanoseconds / 1_000_000
            let slot = max(now, nextRequestAt)
            nextRequestAt = slot + UInt64(spacingMs)
            return Int64(slot - now)
        }

        func `defer`() { summary.deferred += 1 }

        func interrupt(remaining: Int) {
            summary.interrupted = true
            summary.remaining += remaining
        }

        /// A task cut off by a stop while it waited for the exchange: nothing of it was written; planned again.
        func stoppedInFlight() {
            summary.interrupted = true
            summary.remaining += 1
        }

        func hasFailed(_ pair: Pair) -> Bool { failed.contains(pair) }

        func skip() { summary.skipped += 1 }

        /// A permanent exchange error: the pair's remaining tasks are skipped (the first error is the one reported).
        func fail(_ pair: Pair, _ error: ExchangeError) {
            guard failed.insert(pair).inserted else { return }
            summary.failedPairs.append(PairFailure(pair: pair.description, error: error.description))
        }

        /// Queues one result for the next group commit and waits for it.
        func commit(_ entry: PendingCommit, adopted: Bool = false) async throws -> CommitResult {
            try await withCheckedThrowingContinuation { continuation in
                pending.append((entry, adopted, continuation))
                if !flushing {
                    flushing = true
                    Task { await self.flush() }
                }
            }
        }

        /// Commits everything pending, batch after batch, until nothing is left.
        private func flush() async {
            while !pending.isEmpty {
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                do {
                    let paths = batch.compactMap { item -> String? in
                        if case .file(let file) = item.entry.kind { file.path } else { nil }
                    }
                    let landing = landing
                    if !paths.isEmpty { try await io.run { try landing.syncDirectories(of: paths) } }
                    let (results, after) = try await ledger.commit(
                        batch.map(\.entry), coverage: coverage, exchange: exchange, market: market, actor: actor,
                        leaseOwner: leaseOwner)
                    coverage = after
                    for (item, result) in zip(batch, results) {
                        switch (result, item.entry.kind) {
                        case (.registered, .file(let file)):
                            if item.adopted { summary.adopted += 1 } else { summary.filesWritten += 1 }
                            summary.candles += file.rows
                        case (.duplicate(let existing), .file(let file)):
                            if existing != file.path { summary.duplicatesDeleted += 1 }
                        case (.gap, _):
                            summary.gapsConfirmed += 1
                        case (.leaseLost, _):
                            summary.tasksDoneElsewhere = (summary.tasksDoneElsewhere ?? 0) + 1
                        default:
                            break
                        }
                        item.done.resume(returning: result)
                    }
                } catch {
                    for item in batch { item.done.resume(throwing: error) }
                }
            }
            flushing = false
        }
    }
}

extension ExchangeError {
    /// Errors that retrying will not fix for this pair (unknown symbol, bad interval, 403/451, data that breaks the
    /// rules): `apply` stops the pair and carries on with the others.
    var stopsPair: Bool {
        switch self {
        case .rejected, .refused, .invalidResponse: true
        case .banned, .unavailable, .pauseTooLong: false
        }
    }
}
