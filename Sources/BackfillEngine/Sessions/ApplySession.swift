import BackfillArchive
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Logging

/// Everything `apply` does around the ``Applier``: create the ledger, take its lock, plan against the exchange's
/// clock (or take a saved plan, refused when the ledger moved since), clean leftovers, execute the tasks, record
/// the run.
package struct ApplySession: Sendable {
    /// What to apply: a plan file (planned now) or a saved plan from `plan --out`.
    package enum Input: Sendable {
        case planFile(LoadedPlan)
        /// `path`: where the saved plan was read from (messages name it).
        case saved(PlanDocument, path: String)
    }

    package var input: Input
    package var frozenNowMs: Int64?
    /// Tasks at once; `nil` = chosen from the rate budget (``ApplyParallelism``).
    package var parallelism: Int?
    package var apiKey: String?
    /// How long to wait for another `apply` to release the ledger lock.
    package var lockTimeoutMs: Int64
    /// Test hook (hidden `--stage-delay-ms`): pause after each stage of each task.
    package var stageDelayMs = 0
    /// Cooperating workers (PostgreSQL ledger): how long a chunk task's lease lasts without a heartbeat.
    package var taskLeaseMs = TaskLeases.defaultLeaseMs
    /// Set by the first SIGINT/SIGTERM: no new task starts.
    package var shouldStop: @Sendable () -> Bool = { false }
    /// Counters for the progress display.
    package var progress = ApplyProgress()
    /// The run's log (`info`: pairs, tasks, repairs, gaps, deferrals; `debug`: each request).
    package var logger: Logger = .silent

    package init(
        input: Input, frozenNowMs: Int64?, parallelism: Int?, apiKey: String?, lockTimeoutMs: Int64 = 30_000
    ) {
        self.input = input
        self.frozenNowMs = frozenNowMs
        self.parallelism = parallelism.map { max(1, $0) }
        self.apiKey = apiKey
        self.lockTimeoutMs = lockTimeoutMs
    }

    package init(
        loaded: LoadedPlan, frozenNowMs: Int64?, parallelism: Int?, apiKey: String?, lockTimeoutMs: Int64 = 30_000
    ) {
        self.init(
            input: .planFile(loaded), frozenNowMs: frozenNowMs, parallelism: parallelism, apiKey: apiKey,
            lockTimeoutMs: lockTimeoutMs)
    }

    /// The configuration `apply` runs with.
    var config: PlanDocument.Config {
        switch input {
        case .saved(let document, _): return document.config
        case .planFile(let loaded): return PlanDocument.Config(loaded.file)
        }
    }

    var planSHA256: String {
        switch input {
        case .saved(let document, _): document.planFileSHA256
        case .planFile(let loaded): loaded.sha256
        }
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

    /// Plans (or loads the saved plan), and unless `dryRun`, applies. Returns the plan and (when applied) the
    /// summary.
    ///
    /// Once ``shouldStop`` says so, every wait on the exchange (a 429's pause, the next weight window, a retry's
    /// backoff, a request in flight) is cancelled: files already being written are finished and registered, the
    /// tasks still waiting count as not run, and a stop before any task started is ``ApplyStopped``.
    package func run(dryRun: Bool) async throws -> (plan: Plan, summary: ApplySummary?) {
        let session = self
        let work = Task { try await session.runUnstopped(dryRun: dryRun) }
        let shouldStop = shouldStop
        let watcher = Task {
            while !Task.isCancelled {
                if shouldStop() {
                    work.cancel()
                    return
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { watcher.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await work.value
            } onCancel: {
                work.cancel()
            }
        } catch  where shouldStop() && Applier.isWaitEnded(error) {
            throw ApplyStopped()
        }
    }

    private func runUnstopped(dryRun: Bool) async throws -> (plan: Plan, summary: ApplySummary?) {
        let config = config
        let owner = "backfill-tool apply \(UUID().uuidString.prefix(8).lowercased())"
        // The ledger is opened once: as it is, for the stale check (a stale saved plan is refused before anything is
        // written, even the lock row or a new ledger file); created only then, and only to apply.
        // Every wait on another program's write transaction is bounded by the lock timeout (at least a second).
        let busyTimeoutMs = max(lockTimeoutMs, 1_000)
        var ledger = try CommandRoot.openLedger(path: config.ledger, create: false, busyTimeoutMs: busyTimeoutMs)
        if case .saved(let document, _) = input {
            let generation = try ledger?.generation() ?? 0
            guard generation == document.ledgerGeneration else {
                throw StalePlan(saved: document.ledgerGeneration, current: generation)
            }
        }
        let exchange = ExchangeBundle.make(
            exchange: config.exchange, market: config.market, baseURL: config.baseURL, frozenNowMs: frozenNowMs,
            apiKey: apiKey, connections: parallelism ?? ApplyParallelism.maximumConnections,
            archive: config.effectiveArchive, logger: logger)
        // A landing area that cannot be used (a file where a directory should be, a parent not writable) is
        // refused before anything is created: no new ledger is left behind.
        if !dryRun {
            try LandingArea(path: config.landing).preflight(
                LandingPath.base(exchange: config.exchange, market: config.market))
        }
        if !dryRun, ledger == nil {
            do {
                // A plan naming a symbol the exchange does not list, or an exchange whose clock is not believed,
                // leaves no trace: the clock is read and the symbols are resolved before a new ledger is created
                // (one /time and one exchangeInfo, on the first run only).
                _ = try await exchange.markets.serverTime()
                if case .planFile(let loaded) = input, exchange.markets.usesMarketCache {
                    var known: [String: Market] = [:]
                    for market in try await exchange.markets.markets() where market.market == config.market {
                        known[market.symbol] = market
                    }
                    for pair in loaded.file.pairs { _ = try Planner.resolve(pair.symbol, in: known) }
                }
                guard
                    let created = try CommandRoot.openLedger(
                        path: config.ledger, create: true, busyTimeoutMs: busyTimeoutMs)
                else {
                    throw LedgerError.cannotOpen(
                        path: LedgerLocation.redacted(config.ledger), reason: "could not be created")
                }
                ledger = created
            } catch {
                await exchange.close()
                throw error
            }
        }
        // SQLite: one apply at a time (the lock). PostgreSQL: any number of workers, on any hosts, each task claimed
        // by lease (§13).
        let lockedLedger = dryRun || ledger?.coordinatesWorkers == true ? nil : ledger
        if let lockedLedger { try await Self.lock(lockedLedger, owner: owner, timeoutMs: lockTimeoutMs) }
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                try? lockedLedger?.heartbeat(owner: owner)
            }
        }
        defer {
            heartbeat.cancel()
            try? lockedLedger?.unlock(owner: owner)
        }
        let root = CommandRoot(
            ledger: LedgerAccess(opened: ledger, path: config.ledger), landing: LandingArea(path: config.landing),
            exchange: exchange, logger: logger)
        do {
            let result = try await apply(config: config, root: root, dryRun: dryRun)
            await root.exchange.close()
            return result
        } catch {
            await root.exchange.close()
            throw error
        }
    }

    /// A saved plan is untrusted (§11): its pairs are planned again at its own `now` against today's ledger and
    /// markets, and it is applied only when that gives exactly its pairs.
    /// - Throws: ``SavedPlanMismatch`` naming the first difference.
    static func replan(
        _ document: PlanDocument, path: String, root: CommandRoot
    ) async throws -> (Plan, LedgerSnapshot) {
        if let reason = SavedPlanCheck.precheck(document) { throw SavedPlanMismatch(path: path, reason: reason) }
        var session = PlanningSession(
            plan: SavedPlanCheck.planFile(for: document, path: path), planSHA256: document.planFileSHA256, root: root)
        session.planAtMs = document.nowMs
        let (plan, snapshot): (Plan, LedgerSnapshot)
        do {
            (plan, snapshot) = try await session.runWithSnapshot()
        } catch let error as PlanFileError {
            throw SavedPlanMismatch(path: path, reason: error.reason)
        }
        if let reason = SavedPlanCheck.difference(saved: document.pairs, derived: plan.pairs) {
            throw SavedPlanMismatch(path: path, reason: reason)
        }
        return (plan, snapshot)
    }

    private func apply(
        config: PlanDocument.Config, root: CommandRoot, dryRun: Bool
    ) async throws -> (plan: Plan, summary: ApplySummary?) {
        var plan: Plan
        var snapshot: LedgerSnapshot
        switch input {
        case .planFile(let loaded):
            let session = PlanningSession(plan: loaded.file, planSHA256: loaded.sha256, root: root)
            (plan, snapshot) = try await session.runWithSnapshot()
        case .saved(let document, let path):
            (plan, snapshot) = try await Self.replan(document, path: path, root: root)
        }
        guard !dryRun else { return (plan, nil) }
        // Every directory a task writes to can be made, and stays inside the landing area: checked before anything
        // is fetched or written, so a file in the way of one pair does not leave the others half-done.
        var directories: Set<String> = []
        for task in plan.lazyTasks {
            let directory = (task.path as NSString).deletingLastPathComponent
            if directories.insert(directory).inserted { try root.landing.preflight(directory) }
        }
        guard let ledger = try root.ledger() else {
            throw LedgerError.cannotOpen(path: LedgerLocation.redacted(config.ledger), reason: "missing")
        }
        let landing = root.landing
        let candleSource = root.exchange.candles
        do {
            try DirectoryMaker.create(landing.root.path)
        } catch {
            throw LandingArea.Failure.unusable(path: config.landing, reason: error.description)
        }
        let actor = "backfill-tool apply pid \(ProcessInfo.processInfo.processIdentifier)"
        // exchangeInfo once per run, whether restores, tasks or both need the exchange.
        var prepared = false
        func prepareOnce() async throws {
            guard !prepared else { return }
            try await root.exchange.prepare()
            prepared = true
        }
        // Drift first (§7): a quick audit of the landing area, then what apply repairs. A saved plan is applied as
        // saved: its orphans are reported, not adopted (adoption changes coverage under the saved tasks).
        var auditor = Auditor(plan: plan, snapshot: snapshot, ledger: ledger, landing: landing, columns: config.columns)
        auditor.statFiles = true
        var audit = try await auditor.run()
        if case .saved = input {
            audit.repairs.removeAll { if case .adopt = $0 { true } else { false } }
        }
        if ledger.coordinatesWorkers {
            // Another worker's `.partial` may be a file it is writing right now: left alone (one left by a killed
            // worker is written over when its task is run again).
            audit.repairs.removeAll { if case .delete(let path) = $0 { path.hasSuffix(".partial") } else { false } }
        }
        try ledger.recordStat(audit.statsSeen.map { (id: $0.key, stat: $0.value) })
        var repairs = Repairer.Outcome()
        if !audit.repairs.isEmpty {
            if audit.repairs.contains(where: { if case .restore = $0 { true } else { false } }) {
                try await prepareOnce()
            }
            var repairer = Repairer(
                report: audit, ledger: ledger, landing: landing, exchange: config.exchange, market: config.market,
                columns: config.columns, source: candleSource(plan.nowMs), serverNowMs: plan.nowMs, actor: actor)
            repairer.coverage = snapshot.pairs.mapValues(\.covered)
            repairer.listings = snapshot.listings
            repairer.logger = logger
            repairs = try await repairer.run()
            // Adopted files are coverage: plan again so that no task fetches what they hold.
            if repairs.adopted > 0, case .planFile(let loaded) = input {
                logger.info("\(repairs.adopted) files adopted: planning again")
                let session = PlanningSession(plan: loaded.file, planSHA256: loaded.sha256, root: root)
                (plan, snapshot) = try await session.runWithSnapshot()
            }
        }
        let coverage = snapshot.pairs.mapValues(\.covered)
        if plan.taskCount > 0 { try await prepareOnce() }
        let run = try ledger.startRun(command: "apply", planSHA256: planSHA256)
        // Consumers' leases that ran out return to `downloaded` (as any claim would do) so none stays `processing`.
        let expired = try ledger.expireLeases(actor: "backfill-tool apply")
        if expired > 0 { root.logger.info("\(expired) expired leases returned to downloaded") }
        let limit = await root.exchange.weightLimit()
        let parallelism =
            parallelism
            ?? ApplyParallelism.automatic(
                weightLimitPerMinute: limit,
                weightPerRequest: config.market.klinesWeight(limit: Int(plan.lazyTasks.map(\.candles).max() ?? 1)),
                cores: ProcessInfo.processInfo.activeProcessorCount)
        var applier = Applier(
            plan: plan, exchange: config.exchange, market: config.market, columns: config.columns, ledger: ledger,
            landing: landing, source: candleSource(plan.nowMs), parallelism: parallelism, actor: actor)
        applier.stageDelayMs = stageDelayMs
        applier.sleepMs = config.sleepMs
        applier.shouldStop = shouldStop
        applier.progress = progress
        applier.logger = logger
        if ledger.coordinatesWorkers {
            applier.leases = TaskLeases(ledger: ledger, owner: TaskLeases.owner(), leaseMs: taskLeaseMs)
        }
        logger.info("applying \(plan.taskCount) chunks with parallelism \(parallelism)")
        progress.start(plan: plan, weightLimit: limit, counters: applier.source.counters)
        do {
            var summary = try await applier.run(coverage: coverage)
            summary.parallelism = parallelism
            summary.driftRepaired = repairs.repaired
            summary.adopted += repairs.adopted
            summary.requests += repairs.requests
            summary.notRepaired = repairs.notRepaired
            let changed = audit.findings.filter { $0.kind == .remoteChanged }.count
            if changed > 0 { summary.remoteChanged = changed }
            // Over the network, the figures are the client's own counts (every attempt, the repairs' too).
            if let counters = applier.source.counters { summary.count(counters.snapshot) }
            if let archive = root.exchange.archiveCounters?.snapshot {
                summary.count(archive: archive.files, fallbacks: archive.fallbacks)
            }
            let json = (try? JSONEncoder().encode(summary)).map { String(decoding: $0, as: UTF8.self) }
            try ledger.finishRun(run, outcome: summary.interrupted ? .interrupted : .succeeded, summaryJSON: json)
            return (plan, summary)
        } catch {
            try? ledger.finishRun(run, outcome: .failed, summaryJSON: nil)
            throw error
        }
    }
}

/// SIGINT/SIGTERM before any chunk ran (while planning, or waiting on the exchange): nothing was written; exit 75.
package struct ApplyStopped: Error, Equatable, CustomStringConvertible {
    package var description: String {
        "apply stopped by a signal before any chunk was written; nothing is half-done: run apply again to continue"
    }
}

/// `apply --plan-file` on a ledger that changed since `plan --out` (terraform's stale plan).
package struct StalePlan: Error, Equatable, CustomStringConvertible {
    package var saved: Int64
    package var current: Int64

    package var description: String {
        "saved plan is stale: the ledger changed since it was made (generation \(saved) → \(current)); run plan again"
    }
}
