import BackfillTestSupport
import FakeBinance
import Foundation
import GRDB
import Testing

@testable import BackfillLedger

/// Issue 13 point 7: nothing waits on the exchange past what a run can sit out. A 429 whose `Retry-After` is beyond
/// 15 minutes ends the run at once with exit 75 naming the wait; a SIGTERM while requests wait for the next weight
/// window stops the run within seconds, with what was registered whole.
@Suite(.serialized)
struct LongWaitTests {
    let tool = ToolRunner()

    static func planText(_ server: FakeBinanceServer, start: String, end: String) -> String {
        """
        version: 1
        exchange: binance
        base_url: \(server.baseURL)
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: \(start), end: \(end)}
        targets:
          - symbols: [BTC/USDT]
            timeframes: [1m]
        """
    }

    @Test func aRetryAfterBeyondFifteenMinutesEndsTheRunAtOnce() async throws {
        // A budget of 5 in a window of ~31 years: exchangeInfo (weight 20) is answered 429 with a Retry-After of
        // years, as a server that wants a client gone would.
        let config = FakeBinanceConfig(weight: .init(limit: 5, windowMs: 1_000_000_000_000))
        try await withFakeBinance(config) { server in
            let dir = try TemporaryDirectory("retry-after")
            try dir.write(Self.planText(server, start: "2024-01-01", end: "2024-01-02"), to: "plan.yaml")
            let before = try dir.inventory()
            for command in ["plan", "apply"] {
                let started = Date()
                let result = try await tool.run([command, "plan.yaml"], in: dir.path)
                let elapsed = Date().timeIntervalSince(started)
                #expect(result.exitCode == 75, "\(command): \(result.exitCode) \(result.stderr)")
                #expect(result.stderr.contains("Retry-After"), "\(result.stderr)")
                #expect(result.stderr.contains("beyond the 15 minutes a run waits"), "\(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                // Without the cap the run would sit out the whole Retry-After (years).
                #expect(elapsed < 60, "\(command) took \(elapsed) s")
            }
            #expect(server.state.stats.banned == 0, "nothing was sent during the pause")
            let after = try dir.inventory()
            #expect(after == before, "nothing created: \(Set(after.keys).subtracting(before.keys).sorted())")
        }
    }

    @Test func aSigtermDuringAWindowWaitStopsWithinSeconds() async throws {
        // 60 weight per 10-minute window: after exchangeInfo and a dozen chunks the run must wait for the next
        // window, minutes away.
        let config = FakeBinanceConfig(weight: .init(limit: 60, windowMs: 600_000))
        try await withFakeBinance(config) { server in
            let dir = try TemporaryDirectory("window-wait")
            try dir.write(Self.planText(server, start: "2024-01-01", end: "2024-03-01"), to: "plan.yaml")
            let process = Process()
            process.executableURL = tool.executable
            process.environment = tool.environment
            process.arguments = ["apply", "plan.yaml", "--parallelism", "2", "--progress", "never"]
            process.currentDirectoryURL = dir.url
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            // Wait until the run has stopped writing files: it is waiting for the window (or, on a slow start, for
            // the exchange's answers).
            var files = -1
            var stableFor = 0
            for step in 0..<600 where step < 30 || stableFor < 10 {
                try await Task.sleep(for: .milliseconds(100))
                let now = try dir.inventory().keys.filter { $0.hasSuffix(".csv") }.count
                stableFor = now == files ? stableFor + 1 : 0
                files = now
            }
            #expect(files < 86, "the run is waiting mid-way: \(files) files")
            let signalled = Date()
            kill(process.processIdentifier, SIGTERM)
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let stopTime = Date().timeIntervalSince(signalled)
            #expect(process.terminationStatus == 75, "\(stderr)")
            #expect(stopTime < 20, "stopped \(stopTime) s after SIGTERM")
            #expect(stderr.contains("Stopping: finishing the chunks in flight"), "\(stderr)")
            // Stopped mid-apply: the summary; stopped before any chunk: one line saying nothing is half-done.
            #expect(
                stdout.hasPrefix("Apply interrupted: ") || stderr.contains("nothing is half-done"), "\(stdout)\(stderr)"
            )
            // What was registered is whole: every row has its file, nothing half-written, no lock held.
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            let (rows, locks, outcome) = try await ledger.writer.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM locks") ?? -1,
                    try String.fetchOne(db, sql: "SELECT outcome FROM runs ORDER BY id DESC LIMIT 1")
                )
            }
            let inventory = try dir.inventory()
            #expect(rows == inventory.keys.filter { $0.hasSuffix(".csv") }.count)
            #expect(!inventory.keys.contains { $0.hasSuffix(".partial") })
            #expect(locks == 0)
            #expect(outcome == nil || outcome == "interrupted", "\(String(describing: outcome))")
            // No ban: whatever the run met (a window wait, or a 429's pause on a loaded machine), it waited.
            #expect(server.state.stats.bansIssued == 0)
        }
    }
}
