import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// SIGKILL `apply` at many moments, run it again, and compare with an uninterrupted run: same files (bytes), same
/// ledger rows, same watermarks and gaps, no `.partial`, no row without its file.
@Suite(.serialized)
struct CrashTests {
    static let now = "1720009800000"

    static func workspace(_ label: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(label)
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-02-13T12:00Z, end: 2024-02-14T12:00Z, batch_limit: 90}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1m]
            """, to: "plan.yaml")
        return dir
    }

    /// Everything that must be equal: landing files with their bytes, and the ledger's rows (not its timestamps).
    /// A file renamed but not yet committed when the kill came is adopted by the re-run: the same bytes and row,
    /// with provenance `adopted` instead of `rest`, which is the one difference allowed.
    static func state(_ dir: TemporaryDirectory) async throws -> [String] {
        var lines = try dir.inventory().filter { $0.key.hasPrefix("/incoming/") && !$0.key.hasSuffix("/") }
            .map { "file \($0.key) \($0.value)" }
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        lines += try await ledger.writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT 'row ' || path || ' ' || sha256 || ' ' || t_start || ' ' || t_end || ' ' || rows || ' '
                           || bytes || ' ' || status || ' '
                           || CASE source WHEN 'adopted' THEN 'rest' ELSE source END FROM files
                    UNION ALL SELECT 'watermark ' || name || ' ' || value_ms FROM watermarks
                    UNION ALL SELECT 'gap ' || symbol || ' ' || t_start || ' ' || t_end FROM exchange_gaps
                    UNION ALL SELECT 'lock ' || owner FROM locks
                    """)
        }
        return lines.sorted()
    }

    @Test func killedAtTwentyFourMomentsEndsLikeAnUninterruptedRun() async throws {
        // The stage pauses are a test hook of the environment, not an option of the shipped binary.
        let tool = ToolRunner(environment: ["BACKFILL_TEST_STAGE_DELAY_MS": "10"])
        let reference = try Self.workspace("crash-ref")
        // 16 chunks per pair, 2 at a time, 3 pauses of 10 ms each: a run lasts well over 500 ms, so kills from 10 to
        // 240 ms all land mid-run, however loaded the machine, and every stage is crossed many times before them.
        let arguments = ["apply", "plan.yaml", "--now-ms", Self.now, "--parallelism", "2"]
        let clean = try await tool.run(arguments, in: reference.path)
        #expect(clean.exitCode == 0)
        let expected = try await Self.state(reference)
        // 2 pairs × 16 chunks of 90 minutes, one per pair wholly inside the 2024-02-14 maintenance window.
        #expect(expected.filter { $0.hasPrefix("row ") }.count == 30)
        #expect(expected.filter { $0.hasPrefix("gap ") }.count == 2)
        var killedBeforeEnd = 0
        var adoptions = 0
        for moment in 0..<24 {
            let dir = try Self.workspace("crash-\(moment)")
            let process = try tool.start(arguments, in: dir.url)
            try await Task.sleep(for: .milliseconds(10 + moment * 10))
            if process.isRunning { killedBeforeEnd += 1 }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let rerun = try await tool.run(
                ["apply", "plan.yaml", "--now-ms", Self.now, "--lock-timeout", "5s"], in: dir.path)
            #expect(rerun.exitCode == 0, "moment \(moment): \(rerun.stderr)")
            let state = try await Self.state(dir)
            #expect(state == expected, "moment \(moment)")
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            adoptions += try await ledger.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files WHERE source = 'adopted'") ?? 0
            }
            let partials = try dir.inventory().keys.filter { $0.hasSuffix(".partial") }
            #expect(partials.isEmpty, "moment \(moment)")
        }
        #expect(killedBeforeEnd >= 20, "at least 20 kills landed mid-run")
        #expect(adoptions > 0, "some kills landed between rename and commit")
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalStopsCleanlyAndTheNextApplyCarriesOn(signal number: Int32) async throws {
        let tool = ToolRunner()
        let reference = try Self.workspace("signal-ref")
        #expect(try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: reference.path).exitCode == 0)
        let expected = try await Self.state(reference)
        let dir = try Self.workspace("signal")
        let process = Process()
        process.executableURL = tool.executable
        // 60 ms per stage: the run lasts some 3 s, so a test process slowed by the suite's other tests still signals
        // it mid-run (at 20 ms a loaded CI run finished before the signal).
        process.environment = ToolRunner(environment: ["BACKFILL_TEST_STAGE_DELAY_MS": "60"]).environment
        process.arguments = ["apply", "plan.yaml", "--now-ms", Self.now, "--parallelism", "2"]
        process.currentDirectoryURL = dir.url
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Signal once the run is under way (its first file is on disk), however slow the machine's start.
        for _ in 0..<250 {
            let found = FileManager.default.enumerator(atPath: dir.path)?.contains {
                ($0 as? String)?.hasSuffix(".csv") == true
            }
            if found == true { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(100))
        kill(process.processIdentifier, number)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 75)
        #expect(stderr.hasPrefix("Stopping: finishing the chunks in flight"))
        #expect(stdout.hasPrefix("Apply interrupted: "))
        #expect(stdout.contains("chunks left: run apply again to continue."))
        // What was registered is whole: every row's file is there with its bytes; no lock, no partial.
        let partial = try await Self.state(dir)
        let rows = partial.filter { $0.hasPrefix("row ") }
        #expect(!rows.isEmpty && rows.count < 30)
        #expect(partial.filter { $0.hasPrefix("file ") }.count == rows.count)
        #expect(!partial.contains { $0.hasPrefix("lock ") })
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let outcome = try await ledger.writer.read { db in
            try String.fetchOne(db, sql: "SELECT outcome FROM runs")
        }
        #expect(outcome == "interrupted")
        #expect(try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path).exitCode == 0)
        #expect(try await Self.state(dir) == expected)
    }
}
