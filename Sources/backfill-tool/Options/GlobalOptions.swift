import ArgumentParser
import BackfillEngine
import BackfillModel
import Foundation

/// Options every command that reads a plan accepts.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Ledger: a SQLite path or a postgresql:// URL; overrides the plan's 'ledger'.", valueName: "path|url"))
    var ledger: String?

    @Option(name: .long, help: ArgumentHelp("Landing directory; overrides the plan's 'landing'.", valueName: "dir"))
    var landing: String?

    @Option(name: .long, help: "Log level on stderr: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelOption = .warning

    /// An empty path would silently mean the current directory (§11): refused.
    func validate() throws {
        if ledger == "" { throw ValidationError("--ledger must name a file, not be empty") }
        if landing == "" { throw ValidationError("--landing must name a directory, not be empty") }
    }
}

/// `--log-level` values.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// Hidden options for tests and reproducible plans (like argument-parser's `roll --seed`). `apply` accepts `--now-ms`
/// only with `exchange: simulated`: against a real exchange a frozen clock would register open candles and confirm
/// future time as gaps.
struct DebugOptions: ParsableArguments {
    @Option(name: .customLong("now-ms"), help: .hidden)
    var nowMs: Int64?

    func validate() throws {
        if let nowMs, !ServerClock.plausibleRange.contains(nowMs) {
            throw ValidationError("--now-ms must be an epoch time in ms from 2017 to 2100")
        }
    }
}

/// Test hooks that are not options of the shipped binary: enabled by environment variables the tests set.
enum TestHooks {
    /// Crash tests: pause this long after each stage of each task (fetch, partial write, rename) so a SIGKILL can
    /// land in every stage.
    static let stageDelayVariable = "BACKFILL_TEST_STAGE_DELAY_MS"

    static func stageDelayMs(_ environment: [String: String]) -> Int {
        environment[stageDelayVariable].flatMap { Int($0) }.map { min(max(0, $0), 10_000) } ?? 0
    }
}

/// Cooperating workers on a PostgreSQL ledger (§13): how long a chunk task's lease lasts without a heartbeat
/// (`BACKFILL_TASK_LEASE_MS`, 1 s to 1 h; default 60 s). A worker killed mid-run holds its tasks this long.
enum TaskLeaseSetting {
    static let variable = "BACKFILL_TASK_LEASE_MS"

    static func leaseMs(_ environment: [String: String]) throws -> Int64 {
        guard let text = environment[variable] else { return TaskLeases.defaultLeaseMs }
        guard let value = Int64(text.trimmingCharacters(in: .whitespaces)), (1_000...3_600_000).contains(value) else {
            throw ValidationError("\(variable) must be 1000...3600000 (milliseconds), not '\(text.prefix(20))'")
        }
        return value
    }
}
