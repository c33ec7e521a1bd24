import ArgumentParser
import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Synchronization

/// `backfill-tool apply PLAN.yaml`: fetches the missing chunks, exactly once.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Fetch the missing chunks into the landing area and register them in the ledger, exactly once.",
        discussion: "Creates a missing ledger and landing directory. Safe to run again: a second run has nothing to do."
    )

    @Argument(help: "The plan file (YAML); or give --plan-file.")
    var planPath: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Apply a plan saved by 'plan --out' (refused once the ledger changed).", valueName: "file"))
    var planFile: String?

    @Option(
        name: .long,
        help: "Tasks run at once (requests in flight); default: chosen from the exchange's rate budget and the cores.")
    var parallelism: Int?

    @Flag(name: .long, help: "Print one JSON document on stdout instead of text.")
    var json = false

    @Flag(name: .long, help: "Show what would be fetched and change nothing.")
    var dryRun = false

    @Option(name: .long, help: "Progress on stderr: a bar on a terminal (auto), always, or never.")
    var progress: ProgressMode = .auto

    @Option(
        name: .long,
        help: ArgumentHelp("Wait this long for another apply's ledger lock (30s, 2m, 500ms).", valueName: "duration"))
    var lockTimeout: DurationOption = DurationOption(milliseconds: 30_000)

    @OptionGroup var global: GlobalOptions
    @OptionGroup(visibility: .hidden) var debug: DebugOptions

    func validate() throws {
        guard (planPath == nil) != (planFile == nil) else {
            throw ValidationError("give either a plan file or --plan-file SAVED.json")
        }
        if let parallelism, !ApplyParallelism.allowed.contains(parallelism) {
            throw ValidationError("--parallelism must be 1...64")
        }
    }

    func run() async throws {
        try await ErrorReporting.run {
            let environment = ProcessInfo.processInfo.environment
            let input: ApplySession.Input
            if let planFile {
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: planFile))
                } catch {
                    throw ValidationError("cannot read saved plan \(planFile)")
                }
                guard var document = try? PlanDocument.decode(data), document.formatVersion == 1 else {
                    throw ValidationError("\(planFile) is not a saved plan of this tool (format_version 1)")
                }
                if let ledger = global.ledger { document.config.ledger = ledger }
                if let landing = global.landing { document.config.landing = landing }
                input = .saved(document, path: planFile)
            } else {
                input = .planFile(
                    try LoadedPlan.load(
                        path: planPath ?? "", environment: environment, ledger: global.ledger,
                        landing: global.landing))
            }
            let exchange: ExchangeKind
            switch input {
            case .saved(let document, _): exchange = document.config.exchange
            case .planFile(let loaded): exchange = loaded.file.exchange
            }
            if debug.nowMs != nil, exchange != .simulated {
                throw ValidationError(
                    "--now-ms is accepted by apply only with 'exchange: simulated': against a real exchange a frozen "
                        + "clock would register open candles and confirm future time as gaps")
            }
            var session = ApplySession(
                input: input, frozenNowMs: debug.nowMs, parallelism: parallelism, apiKey: environment["API_KEY"],
                lockTimeoutMs: lockTimeout.milliseconds)
            session.stageDelayMs = TestHooks.stageDelayMs(environment)
            session.taskLeaseMs = try TaskLeaseSetting.leaseMs(environment)
            session.logger = Bootstrap.logger(global.logLevel)
            let stop = StopSignals.install()
            session.shouldStop = { stop.requested }
            let display = ProgressDisplay(progress: session.progress, mode: progress)
            let ticker = display.start()
            let outcome: (plan: Plan, summary: ApplySummary?)
            do {
                outcome = try await session.run(dryRun: dryRun)
                ticker.cancel()
                await ticker.value
                display.finish()
            } catch {
                ticker.cancel()
                await ticker.value
                throw error
            }
            let (plan, summary) = outcome
            guard let summary else {
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    try Output.result(
                        try encoder.encode(DryRunDocument(plan: plan, summary: plan.summary)) + Data("\n".utf8))
                } else {
                    try Output.result(PlanRenderer.text(plan))
                    Output.note("Dry run: nothing was fetched or changed.")
                }
                return
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let document = ApplyDocument(summary: summary)
                try Output.result(try encoder.encode(document) + Data("\n".utf8))
            } else {
                try Output.result(summary.text + "\n")
            }
            // Interrupted: everything registered is whole; the rest is safe to do later.
            if summary.interrupted { throw ErrorReporting.temporary }
            // A pair the exchange refused for good: the others ran to the end; the run is still an error.
            guard summary.failedPairs.isEmpty else {
                for failure in summary.failedPairs { Output.error("\(failure.pair) stopped: \(failure.error)") }
                throw ExitCode.failure
            }
        }
    }
}

/// `apply --dry-run --json`.
struct DryRunDocument: Encodable {
    var formatVersion = 1
    var command = "apply"
    var dryRun = true
    var plan: Plan
    var summary: PlanSummary

    enum CodingKeys: String, CodingKey {
        case command, plan, summary
        case formatVersion = "format_version"
        case dryRun = "dry_run"
    }
}

/// `apply --json`.
struct ApplyDocument: Encodable {
    var formatVersion = 1
    var command = "apply"
    var summary: ApplySummary

    enum CodingKeys: String, CodingKey {
        case command, summary
        case formatVersion = "format_version"
    }
}

/// A duration flag: `30s`, `2m`, `500ms`, `1h`, or plain seconds.
struct DurationOption: ExpressibleByArgument {
    var milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        var number = Substring(argument)
        var factor: Int64 = 1000
        for (suffix, unit) in units where argument.hasSuffix(suffix) {
            number = argument.dropLast(suffix.count)
            factor = unit
            break
        }
        // Checked arithmetic, and at most a year: no value can trap or push a deadline past Int64 (issue 13).
        guard let value = Int64(number), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow, product <= Self.maximumMs else { return nil }
        milliseconds = product
    }

    /// 366 days.
    static let maximumMs: Int64 = 366 * 86_400_000

    var defaultValueDescription: String { "\(milliseconds / 1000)s" }
}

/// SIGINT/SIGTERM for `apply`: the first asks for a clean stop (in-flight files are finished, nothing new starts);
/// a second one exits at once with 75 — every commit is a transaction and `.partial` files are cleaned next run.
final class StopSignals: Sendable {
    private let count = Mutex(0)
    /// Kept alive for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    var requested: Bool { count.withLock { $0 > 0 } }

    static func install() -> StopSignals {
        let stop = StopSignals()
        var installed: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let seen = stop.count.withLock { value in
                    value += 1
                    return value
                }
                if seen == 1 {
                    FileHandle.standardError.write(
                        Data("Stopping: finishing the chunks in flight (signal again to abort at once)…\n".utf8))
                } else {
                    FileHandle.standardError.write(Data("Aborted.\n".utf8))
                    exit(75)
                }
            }
            source.resume()
            installed.append(source)
        }
        sources = installed
        return stop
    }
}

/// `--progress`.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// Draws `apply`'s progress on stderr: a redrawn bar on a terminal, a plain line every 10 s otherwise.
struct ProgressDisplay: Sendable {
    let progress: ApplyProgress
    let bar: Bool
    let enabled: Bool

    init(progress: ApplyProgress, mode: ProgressMode) {
        self.progress = progress
        let terminal = isatty(STDERR_FILENO) == 1
        bar = mode == .always || (mode == .auto && terminal)
        enabled = mode != .never
    }

    func start() -> Task<Void, Never> {
        let display = self
        return Task {
            guard display.enabled else { return }
            var lastPlain = DispatchTime.now().uptimeNanoseconds
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                guard !Task.isCancelled else { return }
                let snapshot = display.progress.snapshot
                guard snapshot.tasksTotal > 0 else { continue }
                if display.bar {
                    FileHandle.standardError.write(Data("\r\u{1B}[2K\(ApplyProgress.line(snapshot))".utf8))
                } else if DispatchTime.now().uptimeNanoseconds - lastPlain > 10_000_000_000 {
                    lastPlain = DispatchTime.now().uptimeNanoseconds
                    FileHandle.standardError.write(Data("progress: \(ApplyProgress.line(snapshot))\n".utf8))
                }
            }
        }
    }

    /// The last state, once, ending the bar's line.
    func finish() {
        let snapshot = progress.snapshot
        guard enabled, snapshot.tasksTotal > 0 else { return }
        let text = bar ? "\r\u{1B}[2K\(ApplyProgress.line(snapshot))\n" : "progress: \(ApplyProgress.line(snapshot))\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
