import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillLedger

/// Issue 13 point 15: everything on one ledger at once, sustained. Two `apply`s of a plan that keeps growing (one
/// waits for the other's lock, then finds the rest done), two Python schedulers claiming and completing through
/// Documentation/Ledger.md's SQL (abandoning every 9th claim), and `audit` and `plan` in loops — for
/// `BACKFILL_SOAK_SECONDS` (30 in `bash .ci/run`; the figure in Documentation/Reliability.md is from a longer run).
/// No command fails, none reports `database is locked`, no update is lost (every file ends `processed`, completed
/// exactly once; the files equal one uninterrupted apply's), nothing is claimed twice at once.
@Suite(.serialized)
struct SoakTests {
    static let now = "1720009800000"

    static func plan(hours: Int) -> String {
        let end = 1_704_067_200_000 + Int64(hours) * 3_600_000
        return """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: \(end), batch_limit: 10}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1m]
            """
    }

    /// Counts of what ran, for the figure.
    actor Tally {
        var runs: [String: Int] = [:]
        var failures: [String] = []
        func add(_ command: String, _ result: ToolRunner.Result, allowed: Set<Int32>) {
            runs[command, default: 0] += 1
            if !allowed.contains(result.exitCode) || result.stderr.contains("locked") {
                failures.append("\(command) exit \(result.exitCode): \(result.stderr.prefix(6000))")
            }
        }
    }

    @Test func applyConsumersAuditAndPlanTogetherForAWhile() async throws {
        let seconds = Double(ProcessInfo.processInfo.environment["BACKFILL_SOAK_SECONDS"] ?? "") ?? 30
        let dir = try TemporaryDirectory("soak")
        try dir.write(Self.plan(hours: 6), to: "plan.yaml")
        _ = try Ledger.open(path: dir.path("manifest.sqlite"), create: true)
        let schedulers = try Schedulers(in: dir)
        let tally = Tally()
        let deadline = Date().addingTimeInterval(seconds)
        let slow = ToolRunner(environment: ["BACKFILL_TEST_STAGE_DELAY_MS": "1"])
        let tool = ToolRunner()
        var hours = 6
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Readers, in loops until the deadline.
            group.addTask {
                while Date() < deadline {
                    let result = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now], in: dir.path)
                    await tally.add("audit", result, allowed: [0, 2])
                }
            }
            group.addTask {
                while Date() < deadline {
                    let result = try await tool.run(
                        ["plan", "plan.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
                    await tally.add("plan", result, allowed: [0, 2])
                }
            }
            // Writers: the plan grows by six hours, two applies of it at once.
            while Date() < deadline {
                hours += 6
                // Replaced by rename, as an operator's deploy would: readers never see a half-written plan.
                try Data(Self.plan(hours: hours).utf8).write(
                    to: URL(fileURLWithPath: dir.path("plan.yaml")), options: .atomic)
                async let first = slow.run(
                    ["apply", "plan.yaml", "--now-ms", Self.now, "--lock-timeout", "2m"], in: dir.path)
                async let second = slow.run(
                    ["apply", "plan.yaml", "--now-ms", Self.now, "--lock-timeout", "2m"], in: dir.path)
                let (a, b) = try await (first, second)
                await tally.add("apply", a, allowed: [0])
                await tally.add("apply", b, allowed: [0])
            }
            try await group.waitForAll()
        }
        let outcome = try schedulers.stop()
        let failures = await tally.failures
        let runs = await tally.runs
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        for failure in failures { print("SOAKFAIL", failure) }
        #expect((runs["apply"] ?? 0) >= 4 && (runs["audit"] ?? 0) >= 2 && (runs["plan"] ?? 0) >= 2, "\(runs)")

        // Nothing lost: the files are those one uninterrupted apply of the final plan writes.
        let reference = try TemporaryDirectory("soak-ref")
        try reference.write(Self.plan(hours: hours), to: "plan.yaml")
        #expect(try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: reference.path).exitCode == 0)
        func files(_ dir: TemporaryDirectory) async throws -> [String] {
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            return try await ledger.writer.read { db in
                try String.fetchAll(
                    db, sql: "SELECT path || ' ' || sha256 || ' ' || rows FROM files ORDER BY path")
                    + String.fetchAll(db, sql: "SELECT name || ' ' || value_ms FROM watermarks ORDER BY name")
            }
        }
        #expect(try await files(dir) == files(reference))
        // Every file processed, completed exactly once, never held by two claims at once.
        for (owner, errors) in outcome.errors { #expect(errors == [], "\(owner): \(errors)") }
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let statuses = try await ledger.writer.read { db in
            try String.fetchAll(db, sql: "SELECT status FROM files")
        }
        #expect(Set(statuses) == ["processed"])
        #expect(outcome.completed.count == statuses.count && outcome.completed.values.allSatisfy { $0 == 1 })
        #expect(outcome.overlapping == 0)
        print(
            "soak: \(Int(seconds)) s, \(runs["apply"] ?? 0) applies, \(runs["audit"] ?? 0) audits, "
                + "\(runs["plan"] ?? 0) plans, \(outcome.claims.count) claims (\(outcome.abandoned) abandoned), "
                + "\(statuses.count) files "
                + "processed, 0 failures")
    }
}
