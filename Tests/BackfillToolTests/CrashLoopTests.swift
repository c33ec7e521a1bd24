import BackfillTestSupport
import FakeBinance
import Foundation
import GRDB
import Testing

@testable import BackfillLedger

/// Issue 13 point 13: one long `apply` against the fake Binance (four pairs, 2,016 requests) killed with SIGKILL at
/// 50 random moments, restarted after each, then run to its end, ends byte-identical to an uninterrupted run: the
/// same files with the same bytes, the same ledger rows, watermarks and gaps; no `.partial`, no stray file, no row
/// without its file, no candle lost or twice. Every kill lands mid-run: work is still left after the last one.
@Suite(.serialized)
struct CrashLoopTests {
    static let kills = 50

    static func plan(_ baseURL: String) -> String {
        """
        version: 1
        exchange: binance
        base_url: \(baseURL)
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: 2024-02-01, end: 2024-02-15, batch_limit: 40}
        targets:
          - symbols: [BTC/USDT, ETH/USDT, BNB/USDT, SOL/USDT]
            timeframes: [1m]
        """
    }

    /// A small deterministic generator (SplitMix64), so a failing sequence of kill moments can be replayed.
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func fiftyKillsAtRandomMomentsEndLikeAnUninterruptedRun() async throws {
        var config = FakeBinanceConfig(clock: .init(frozenMs: 1_709_251_200_000))
        config.weight = .init(limit: 10_000_000, windowMs: 60_000)
        try await withFakeBinance(config) { server in
            let arguments = [
                "apply", "plan.yaml", "--parallelism", "4", "--lock-timeout", "10s", "--progress", "never",
            ]
            let reference = try TemporaryDirectory("crash-loop-ref")
            try reference.write(Self.plan(server.baseURL), to: "plan.yaml")
            let started = Date()
            let clean = try await ToolRunner().run(arguments, in: reference.path)
            let referenceSeconds = Date().timeIntervalSince(started)
            #expect(clean.exitCode == 0, "\(clean.stderr)")
            let expected = try await CrashTests.state(reference)
            #expect(expected.filter { $0.hasPrefix("row ") }.count > 1_900, "4 pairs × 504 chunks, less the gaps")

            let dir = try TemporaryDirectory("crash-loop")
            try dir.write(Self.plan(server.baseURL), to: "plan.yaml")
            // Each task pauses 5 ms after each of its stages (fetched, written, renamed): the whole run needs about
            // 8 s of them at parallelism 4, more than the 50 runs below can do between their starts and their kills.
            let slowed = ToolRunner(environment: ["BACKFILL_TEST_STAGE_DELAY_MS": "5"])
            let seed = UInt64(ProcessInfo.processInfo.environment["CRASH_LOOP_SEED"] ?? "") ?? 20_261_203
            var random = SplitMix(state: seed)
            var killedRunning = 0
            for kill in 0..<Self.kills {
                let process = try slowed.start(arguments, in: dir.url)
                let delay = 60 + Int(random.next() % 190)
                try await Task.sleep(for: .milliseconds(delay))
                if process.isRunning { killedRunning += 1 }
                Foundation.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                #expect(process.terminationReason == .uncaughtSignal, "kill \(kill) (seed \(seed)): the run had ended")
            }
            #expect(killedRunning == Self.kills, "seed \(seed)")
            let loopSeconds = Date().timeIntervalSince(started) - referenceSeconds
            // The last run: work is still left (every kill landed before the end), and it finishes.
            let lastStarted = Date()
            let last = try await ToolRunner().run(arguments + ["--json"], in: dir.path)
            let lastSeconds = Date().timeIntervalSince(lastStarted)
            #expect(last.exitCode == 0, "\(last.stderr)")
            let summary =
                (try JSONSerialization.jsonObject(with: Data(last.stdout.utf8)) as? [String: Any])?["summary"]
                as? [String: Any]
            let written = summary?["files_written"] as? Int ?? 0
            let adopted = summary?["adopted"] as? Int ?? 0
            #expect(written + adopted > 0, "seed \(seed): the 50 kills left no work, so not all of them were mid-run")
            let state = try await CrashTests.state(dir)
            #expect(state == expected, "seed \(seed): \(Set(state).symmetricDifference(expected).sorted().prefix(6))")
            let stray = try dir.inventory().keys.filter {
                $0.hasSuffix(".partial") || $0.contains(".creating-")
                    || ($0.hasPrefix("/incoming/") && $0.contains("/."))
            }
            #expect(stray.isEmpty, "\(stray.prefix(5))")
            // Every row's file is there and holds its registered bytes; no candle is in two files.
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            let overlaps = try await ledger.writer.read { db in
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM files a JOIN files b ON a.symbol = b.symbol AND a.timeframe = b.timeframe
                        AND a.id < b.id AND a.t_start < b.t_end AND b.t_start < a.t_end
                        """)
            }
            #expect(overlaps == 0)
            let audit = try await ToolRunner().run(["audit", "plan.yaml", "--deep"], in: dir.path)
            #expect(audit.exitCode == 0, "\(audit.stdout)")
            print(
                "crash loop: \(Self.kills) SIGKILLs mid-run (seed \(seed)), last run wrote \(written) files and adopted "
                    + "\(adopted); reference run \(Int(referenceSeconds)) s, kills \(Int(loopSeconds)) s, last run "
                    + "\(Int(lastSeconds)) s, total "
                    + "\(Int(Date().timeIntervalSince(started))) s")
        }
    }
}
