import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `apply` end to end through the built binary, on the simulated exchange.
@Suite(.serialized)
struct ApplyCommandTests {
    static let now = "1720009800000"

    func workspace(batch: Int = 1000, start: String = "2024-06-20") throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("apply-cli")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: \(start), end: 2024-07-01, batch_limit: \(batch)}
            targets:
              - symbols: [BTC/USDT, ETH/USDT, SOL/USDT]
                timeframes: [1m, 1h]
            """, to: "plan.yaml")
        return dir
    }

    @Test func lockBusyExits75NamingTheHolderAndUnlockBreaksIt() async throws {
        let dir = try workspace()
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: true))
        #expect(try ledger.tryLock(owner: "nightly job on ci-7") == nil)
        let tool = ToolRunner()
        let busy = try await tool.run(
            ["apply", "plan.yaml", "--now-ms", Self.now, "--lock-timeout", "1s"], in: dir.path)
        #expect(busy.exitCode == 75)
        #expect(
            busy.stderr.contains("is locked by nightly job on ci-7 (pid \(ProcessInfo.processInfo.processIdentifier)"))
        #expect(try ledger.fileCount() == 0)
        // The holder (this test's process) is alive on this host: unlock refuses (issue 13 point 8) unless forced.
        let refused = try await tool.run(["ledger", "unlock", "--ledger", "manifest.sqlite"], in: dir.path)
        #expect(refused.exitCode == 1)
        #expect(
            refused.stderr.hasPrefix("error: not unlocking: the lock is held by nightly job on ci-7"),
            "\(refused.stderr)")
        #expect(refused.stderr.contains("is alive on this host; --force breaks it anyway"))
        let stillBusy = try await tool.run(
            ["apply", "plan.yaml", "--now-ms", Self.now, "--lock-timeout", "1s"], in: dir.path)
        #expect(stillBusy.exitCode == 75, "the lock stayed")
        let unlock = try await tool.run(["ledger", "unlock", "--force", "--ledger", "manifest.sqlite"], in: dir.path)
        #expect(unlock.exitCode == 0)
        #expect(unlock.stdout.hasPrefix("Unlocked: removed the lock held by nightly job on ci-7"))
        let done = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(done.exitCode == 0, "\(done.stderr)")
        #expect(try ledger.fileCount() > 0)
        let locks = try await ledger.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM locks")
        }
        #expect(locks == 0, "apply releases its lock")
    }

    @Test func twoConcurrentAppliesDoNoWorkTwice() async throws {
        let dir = try workspace(batch: 200)
        let tool = ToolRunner()
        let results = try await withThrowingTaskGroup(of: ToolRunner.Result.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var written = 0
        for result in results {
            #expect(result.exitCode == 0, "\(result.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            written += (document?["summary"] as? [String: Any])?["files_written"] as? Int ?? -1_000
        }
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        #expect(written == (try ledger.fileCount()))
        let events = try await ledger.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM status_events")
        }
        #expect(events == written, "every file registered exactly once")
    }

    @Test func dryRunChangesNothingAndApplyCreatesLedgerAndLanding() async throws {
        let dir = try workspace()
        let tool = ToolRunner()
        let dry = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--dry-run"], in: dir.path)
        #expect(dry.exitCode == 0)
        #expect(dry.stdout.contains("+ fetch BTC/USDT 1m"))
        #expect(try dir.inventory().keys.sorted() == ["/plan.yaml"])
        let run = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(run.exitCode == 0)
        #expect(run.stdout.hasPrefix("Apply complete: "))
        #expect(FileManager.default.fileExists(atPath: dir.path("incoming/simulated/spot/BTCUSDT/1m")))
        let again = try await tool.run(
            ["plan", "plan.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(again.exitCode == 0)
        #expect(again.stdout == "No changes. Coverage is complete.\n")
    }

    @Test func savedPlansApplyUntilTheLedgerMoves() async throws {
        let dir = try workspace()
        let tool = ToolRunner()
        #expect(
            try await tool.run(["plan", "plan.yaml", "--now-ms", Self.now, "--out", "saved.json"], in: dir.path)
                .exitCode == 0
        )
        #expect(
            try await tool.run(["plan", "plan.yaml", "--now-ms", Self.now, "--out", "stale.json"], in: dir.path)
                .exitCode == 0
        )
        let saved = try PlanDocument.decode(Data(contentsOf: URL(fileURLWithPath: dir.path("saved.json"))))
        let applied = try await tool.run(["apply", "--plan-file", "saved.json", "--json"], in: dir.path)
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        let document = try JSONSerialization.jsonObject(with: Data(applied.stdout.utf8)) as? [String: Any]
        #expect((document?["summary"] as? [String: Any])?["files_written"] as? Int == saved.summary.chunks)
        // The ledger has moved since stale.json was made: refused, nothing written (landing or ledger).
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let generation = try ledger.generation()
        let landing = try dir.inventory().filter { $0.key.hasPrefix("/incoming") }
        let stale = try await tool.run(["apply", "--plan-file", "stale.json"], in: dir.path)
        #expect(stale.exitCode == 1)
        #expect(
            stale.stderr.hasPrefix("error: saved plan is stale: the ledger changed since it was made (generation 0 → "))
        #expect(try ledger.generation() == generation)
        #expect(try dir.inventory().filter { $0.key.hasPrefix("/incoming") } == landing)
        let runs = try await ledger.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs") }
        #expect(runs == 1)
        #expect(try await tool.run(["apply", "plan.yaml", "--plan-file", "saved.json"], in: dir.path).exitCode == 64)
        #expect(try await tool.run(["apply"], in: dir.path).exitCode == 64)
        #expect(try await tool.run(["apply", "--plan-file", "plan.yaml"], in: dir.path).exitCode == 64)
    }

    @Test func progressIsABarOnRequestPlainLinesOtherwiseAndNothingWhenAsked() async throws {
        let tool = ToolRunner()
        let always = try workspace()
        let bar = try await tool.run(
            ["apply", "plan.yaml", "--now-ms", Self.now, "--progress", "always"], in: always.path)
        #expect(bar.exitCode == 0)
        #expect(
            bar.stderr.hasSuffix(
                "\r\u{1B}[2K[100%] pairs 6/6 · candles 48312/48312 · requests 54 · weight 108 · ETA 0s\n"))
        let auto = try workspace()
        let plain = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: auto.path)
        #expect(
            plain.stderr == "progress: [100%] pairs 6/6 · candles 48312/48312 · requests 54 · weight 108 · ETA 0s\n")
        let never = try workspace()
        let quiet = try await tool.run(
            ["apply", "plan.yaml", "--now-ms", Self.now, "--progress", "never"], in: never.path)
        #expect(quiet.stderr.isEmpty)
        #expect(quiet.stdout.hasPrefix("Apply complete: 54 files written (48312 candles)"))
    }
}
