import Foundation

/// Everything `apply` does around the ``Applier``: create the ledger and landing directory, plan against the
/// exchange's clock, then execute the tasks and record the run.
package struct ApplySession: Sendable {
    package var loaded: LoadedPlan
    package var frozenNowMs: Int64?
    package var parallelism: Int
    package var apiKey: String?
    /// How long to wait for another `apply` to release the ledger lock.
    package var lockTimeoutMs: Int64
    /// Test hook (hidden `--stage-delay-ms`): pause after each stage of each task.
    package var stageDelayMs = 0

    package init(
        loaded: LoadedPlan, frozenNowMs: Int64?, parallelism: Int, apiKey: String?,
        lockTimeoutMs: Int64 = 30_000
    ) {
        self.loaded = loaded
        self.frozenNowMs = frozenNowMs
        self.parallelism = max(1, parallelism)
        self.apiKey = apiKey
        self.lockTimeoutMs = lockTimeoutMs
    }

    /// Takes the ledger's apply lock, waiting up to `lockTimeoutMs`.
    /// - Throws: ``LockBusy`` naming the holder.
    static func lock(_ ledger: Ledger, owner: String, timeoutMs: Int64) async throws {
        let deadline = WallClock.nowMs() + timeoutMs
        while true {
            guard let holder = try ledger.tryLock(owner: owner) else { return }
            guard WallClock.nowMs() < deadline else { throw LockBusy(path: ledger.path, holder: holder) }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// Plans, and unless `dryRun`, applies. Returns the plan and (when applied) the summary.
    package func run(dryRun: Bool) async throws -> (plan: Plan, summary: ApplySummary?) {
        let file = loaded.file
        let owner = "backfill-tool apply \(UUID().uuidString.prefix(8).lowercased())"
        var lockedLedger: Ledger?
        if !dryRun {
            guard let ledger = try Ledger.open(path: file.ledger, create: true) else {
                throw LedgerError.cannotOpen(path: file.ledger, reason: "could not be created")
            }
            try await Self.lock(ledger, owner: owner, timeoutMs: lockTimeoutMs)
            lockedLedger = ledger
        }
        let beating = lockedLedger
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                try? beating?.heartbeat(owner: owner)
            }
        }
        defer {
            heartbeat.cancel()
            try? lockedLedger?.unlock(owner: owner)
        }
        let marketSource: any MarketSource
        let candleSource: (Int64) -> any CandleSource
        // Before fetching from Binance, read the weight limit from exchangeInfo (planning may have used the cache).
        var prepare: @Sendable () async throws -> Void = {}
        switch file.exchange {
        case .simulated:
            marketSource = SimulatedMarketSource(market: file.market, frozenNowMs: frozenNowMs)
            candleSource = { now in SimulatedCandleSource(nowMs: now) }
        case .binance:
            let binance = BinanceMarketSource(
                plan: file, frozenNowMs: frozenNowMs, apiKey: apiKey, connections: parallelism)
            marketSource = binance
            candleSource = { _ in BinanceCandleSource(client: binance.client) }
            prepare = { _ = try await binance.client.exchangeInfo() }
        }
        do {
            let result = try await apply(
                marketSource: marketSource, candleSource: candleSource, prepare: prepare, dryRun: dryRun)
            await marketSource.close()
            return result
        } catch {
            await marketSource.close()
            throw error
        }
    }

    private func apply(
        marketSource: any MarketSource, candleSource: (Int64) -> any CandleSource,
        prepare: @Sendable () async throws -> Void, dryRun: Bool
    )
        async throws -> (plan: Plan, summary: ApplySummary?)
    {
        let file = loaded.file
        let session = PlanningSession(plan: file, planSHA256: loaded.sha256, source: marketSource)
        let (plan, snapshot) = try await session.runWithSnapshot()
        guard !dryRun else { return (plan, nil) }
        guard let ledger = try Ledger.open(path: file.ledger, create: true) else {
            throw LedgerError.cannotOpen(path: file.ledger, reason: "missing")
        }
        let landing = LandingArea(path: file.landing)
        do {
            try FileManager.default.createDirectory(at: landing.root, withIntermediateDirectories: true)
        } catch {
            throw LandingArea.Failure.io(path: file.landing, reason: "cannot create the landing directory")
        }
        if !plan.tasks.isEmpty { try await prepare() }
        var coverage: [Pair: RangeSet] = [:]
        for (pair, pairCoverage) in snapshot.pairs { coverage[pair] = pairCoverage.covered }
        // Leftovers of an interrupted run: `.partial` files go.
        for pair in plan.pairs {
            let directory = landing.root.appendingPathComponent(
                "\(file.exchange.rawValue)/\(file.market.rawValue)/\(pair.symbolId)/\(pair.timeframe.rawValue)")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
        }
        let run = try ledger.startRun(command: "apply", planSHA256: loaded.sha256)
        var applier = Applier(
            plan: plan, exchange: file.exchange, market: file.market, columns: file.columns, ledger: ledger,
            landing: landing, source: candleSource(plan.nowMs), parallelism: parallelism,
            actor: "backfill-tool apply pid \(ProcessInfo.processInfo.processIdentifier)")
        applier.stageDelayMs = stageDelayMs
        do {
            let summary = try await applier.run(coverage: coverage)
            let json = (try? JSONEncoder().encode(summary)).map { String(decoding: $0, as: UTF8.self) }
            try ledger.finishRun(run, outcome: "succeeded", summaryJSON: json)
            return (plan, summary)
        } catch {
            try? ledger.finishRun(run, outcome: "failed", summaryJSON: nil)
            throw error
        }
    }
}
