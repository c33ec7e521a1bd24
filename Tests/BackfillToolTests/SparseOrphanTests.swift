import BackfillTestSupport
import Foundation
import Testing

/// Issue 13 point 5: a sparse orphan — a header and one row under a task's canonical name — is never adopted as full
/// coverage: apply fetches the range and the file ends complete.
@Suite(.serialized)
struct SparseOrphanTests {
    static let plan = """
        version: 1
        exchange: simulated
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: 2024-01-01, end: 2024-01-03, batch_limit: 24}
        targets:
          - symbols: [BTC/USDT]
            timeframes: [1h]
        """

    @Test func aSparseOrphanIsFetchedOverNotAdopted() async throws {
        let reference = try TemporaryDirectory("orphan-reference")
        try reference.write(Self.plan, to: "plan.yaml")
        let first = try await ToolRunner().run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: reference.path)
        #expect(first.exitCode == 0)
        let directory = "incoming/simulated/spot/BTCUSDT/1h"
        let names = try FileManager.default.contentsOfDirectory(atPath: reference.path(directory)).sorted()
        #expect(names.count == 2)
        let full = try String(contentsOfFile: reference.path(directory + "/" + names[0]), encoding: .utf8)

        let dir = try TemporaryDirectory("orphan")
        try dir.write(Self.plan, to: "plan.yaml")
        let sparse = full.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n"
        try dir.write(sparse, to: directory + "/" + names[0])
        let audit = try await ToolRunner().run(["audit", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(audit.stdout.contains("holds 1 of the 24 candles of its name"), "\(audit.stdout)")
        let apply = try await ToolRunner().run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(apply.exitCode == 0, "\(apply.stderr)")
        #expect(apply.stdout.hasPrefix("Apply complete: 2 files written (48 candles)"), "\(apply.stdout)")
        #expect(!apply.stdout.contains("adopted"), "\(apply.stdout)")
        #expect(try String(contentsOfFile: dir.path(directory + "/" + names[0]), encoding: .utf8) == full)
        let deep = try await ToolRunner().run(
            ["audit", "plan.yaml", "--deep", "--now-ms", "1709251200000"], in: dir.path)
        #expect(deep.exitCode == 0, "\(deep.stdout)")
    }
}
