import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Epoch ms of a UTC date.
func utc(_ y: Int64, _ m: Int64, _ d: Int64) -> Int64 { CivilDate(year: y, month: m, day: d).epochMs }

/// End-to-end `plan` runs of the built binary, compared with golden files in Snapshots/.
struct PlanCommandTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let snapshots = here.appendingPathComponent("Snapshots")
    /// 2024-07-03T12:30Z, frozen so the plans are reproducible.
    static let now = "1720009800000"

    let tool = ToolRunner()

    func workspace() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("plan")
        let yaml = try String(
            contentsOf: Self.here.appendingPathComponent("Fixtures/plans/golden.yaml"), encoding: .utf8)
        try dir.write(yaml, to: "golden.yaml")
        return dir
    }

    func expectSnapshot(_ text: String, _ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        if let difference = Snapshot.compare(text, name: name, directory: Self.snapshots) {
            Issue.record(Comment(rawValue: difference), sourceLocation: sourceLocation)
        }
    }

    @Test func emptyLedgerTextAndExitCodes() async throws {
        let dir = try workspace()
        let result = try await tool.run(
            ["plan", "golden.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(result.exitCode == 2)
        #expect(result.stderr.isEmpty)
        expectSnapshot(result.stdout, "plan-empty-ledger.txt")
        #expect(
            result.stdout.hasSuffix(
                "Plan: 15 chunks to fetch (6307 candles, ~15 requests, ~30 weight), 0 duplicates to delete, 0 drift findings.\n"
            ))
        // Without --detailed-exitcode, pending changes are still success.
        let plain = try await tool.run(["plan", "golden.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(plain.exitCode == 0)
        #expect(plain.stdout == result.stdout)
        // plan never creates the ledger or the landing directory.
        #expect(!FileManager.default.fileExists(atPath: dir.path("out")))
    }

    @Test func emptyLedgerJSON() async throws {
        let dir = try workspace()
        let result = try await tool.run(["plan", "golden.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        #expect(result.exitCode == 0)
        expectSnapshot(result.stdout, "plan-empty-ledger.json")
        let document = try PlanDocument.decode(Data(result.stdout.utf8))
        #expect(document.formatVersion == 1)
        #expect(document.summary.chunks == document.pairs.reduce(0) { $0 + $1.tasks.count })
    }

    /// A ledger with files of every status, a confirmed gap and a watermark: all of it counts as coverage.
    @Test func partialLedgerPlansOnlyTheHoles() async throws {
        let dir = try workspace()
        let ledger = try #require(try Ledger.open(path: dir.path("out/manifest.sqlite"), create: true))
        let btc = Pair(symbol: "BTC/USDT", timeframe: .h1)
        var ids: [Int64] = []
        let ranges: [TimeRange] = [
            TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2024, 1, 28)),
            TimeRange(uncheckedLower: utc(2024, 1, 28), upper: utc(2024, 2, 10)),
            TimeRange(uncheckedLower: utc(2024, 2, 20), upper: utc(2024, 2, 25)),
        ]
        for (n, range) in ranges.enumerated() {
            ids.append(
                try ledger.register(
                    NewFile(
                        sha256: String(repeating: "a", count: 63) + String(n),
                        path: "simulated/spot/BTCUSDT/1h/f\(n).csv",
                        exchange: .simulated, market: .spot, symbol: btc.symbol, symbolId: "BTCUSDT", timeframe: .h1,
                        range: range, rows: 1, bytes: 1, source: .rest), actor: "test"))
        }
        try ledger.transition(fileId: ids[0], to: .processing, actor: "trainer", lease: ("trainer", 9_999_999_999_999))
        try ledger.transition(fileId: ids[0], to: .processed, actor: "trainer")
        try ledger.transition(fileId: ids[1], to: .deleted, actor: "trainer", reason: "consumed")
        try ledger.recordGap(
            exchange: .simulated, market: .spot, pair: btc,
            range: TimeRange(uncheckedLower: utc(2024, 2, 25), upper: utc(2024, 2, 26)))
        try ledger.advanceWatermark("ingest:simulated:BTC/USDT:1h", to: utc(2024, 2, 10), actor: "test")
        let generation = try ledger.generation()
        let result = try await tool.run(
            ["plan", "golden.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(result.exitCode == 2)
        expectSnapshot(result.stdout, "plan-partial-ledger.txt")
        #expect(
            result.stdout.contains(
                "+ fetch BTC/USDT 1h [2024-02-10T00:00Z, 2024-02-20T00:00Z) 240 candles\n"))
        #expect(
            result.stdout.contains(
                "+ fetch BTC/USDT 1h [2024-02-26T00:00Z, 2024-03-01T00:00Z) 96 candles\n"))
        #expect(try ledger.generation() == generation, "plan wrote to the ledger")
    }

    @Test func completeCoverageSaysNoChangesAndExitsZero() async throws {
        let dir = try workspace()
        let json = try await tool.run(["plan", "golden.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        let document = try PlanDocument.decode(Data(json.stdout.utf8))
        let ledger = try #require(try Ledger.open(path: dir.path("out/manifest.sqlite"), create: true))
        try ledger.register(
            document.pairs.flatMap(\.tasks).enumerated().map { n, task in
                NewFile(
                    sha256: SHA256Hex.digest(Data(task.path.utf8)), path: task.path, exchange: .simulated,
                    market: .spot, symbol: task.symbol, symbolId: task.symbolId, timeframe: task.timeframe,
                    range: task.range, rows: Int(task.candles), bytes: n, source: .rest)
            }, actor: "test")
        // Whole coverage also means every file on disk at its size and every watermark at its end: no drift.
        for (n, task) in document.pairs.flatMap(\.tasks).enumerated() {
            let url = URL(fileURLWithPath: dir.path("out/landing/" + task.path))
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(repeating: 0x30, count: n).write(to: url)
        }
        for pair in document.pairs {
            guard let end = pair.tasks.map(\.range.upperBound).max() else { continue }
            let name = WatermarkName.make(
                exchange: .simulated, market: .spot, pair: Pair(symbol: pair.symbol, timeframe: pair.timeframe))
            try ledger.advanceWatermark(name, to: end, actor: "test")
        }
        let result = try await tool.run(
            ["plan", "golden.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(result.exitCode == 0)
        #expect(result.stdout == "No changes. Coverage is complete.\n")
        let again = try await tool.run(["plan", "golden.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        let empty = try PlanDocument.decode(Data(again.stdout.utf8))
        #expect(empty.summary.chunks == 0)
        #expect(empty.ledgerGeneration == Int64(document.summary.chunks + document.pairs.count))
    }

    @Test func savedPlanRecordsHashGenerationAndAbsolutePaths() async throws {
        let dir = try workspace()
        let result = try await tool.run(
            ["plan", "golden.yaml", "--now-ms", Self.now, "--out", "saved.json"], in: dir.path)
        #expect(result.exitCode == 0)
        #expect(result.stderr == "Saved plan to saved.json.\n")
        let saved = try PlanDocument.decode(Data(contentsOf: URL(fileURLWithPath: dir.path("saved.json"))))
        let yaml = try Data(contentsOf: URL(fileURLWithPath: dir.path("golden.yaml")))
        #expect(saved.planFileSHA256 == SHA256Hex.digest(yaml))
        #expect(saved.ledgerGeneration == 0)
        #expect(saved.config.ledger.hasPrefix("/"))
        #expect(saved.config.ledger.hasSuffix("/out/manifest.sqlite"))
        let json = try await PlanDocument.decode(
            Data(try tool.run(["plan", "golden.yaml", "--now-ms", Self.now, "--json"], in: dir.path).stdout.utf8))
        #expect(saved.pairs == json.pairs)
    }

    @Test func validateAcceptsEveryShippedPlan() async throws {
        let plans = Self.here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("plans")
        for name in try FileManager.default.contentsOfDirectory(atPath: plans.path) where name.hasSuffix(".yaml") {
            let result = try await tool.run(["validate", "plans/\(name)"], in: plans.deletingLastPathComponent().path)
            #expect(result.exitCode == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.hasPrefix("plans/\(name): valid ("))
        }
    }

    /// The issue's "done when": the demo plan on an empty ledger prints tasks and the summary line and exits 2.
    @Test func demoPlanOnAnEmptyLedger() async throws {
        let root = Self.here.deletingLastPathComponent().deletingLastPathComponent()
        let dir = try TemporaryDirectory("demo")
        let result = try await tool.run(
            [
                "plan", root.appendingPathComponent("plans/demo.yaml").path, "--detailed-exitcode", "--ledger",
                dir.path("manifest.sqlite"), "--landing", dir.path("incoming"),
            ], in: dir.path)
        #expect(result.exitCode == 2)
        #expect(result.stdout.contains("+ fetch BTC/USDT 1h [2024-01-01T00:00Z, 2024-01-28T00:00Z) 648 candles\n"))
        #expect(result.stdout.hasSuffix("0 duplicates to delete, 0 drift findings.\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func usageErrorsExit64() async throws {
        let dir = try workspace()
        #expect(try await tool.run(["plan"], in: dir.path).exitCode == 64)
        #expect(try await tool.run(["plan", "golden.yaml", "--bogus"], in: dir.path).exitCode == 64)
        #expect(try await tool.run(["plan", "golden.yaml", "--now-ms", "soon"], in: dir.path).exitCode == 64)
        let missing = try await tool.run(["plan", "nope.yaml"], in: dir.path)
        #expect(missing.exitCode == 64)
        #expect(missing.stderr == "error: nope.yaml: no such plan file\n")
    }
}
