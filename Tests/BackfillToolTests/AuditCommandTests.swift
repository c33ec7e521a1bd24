import BackfillTestSupport
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `audit` end to end through the built binary: text, JSON, exit codes, and that it changes nothing.
@Suite(.serialized)
struct AuditCommandTests {
    static let now = "1720009800000"

    func workspace() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("audit-cli")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-06-20, end: 2024-07-01}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1h, 15m]
            """, to: "plan.yaml")
        return dir
    }

    @Test func beforeAnythingEverythingIsAGapAndNothingIsCreated() async throws {
        let dir = try workspace()
        let result = try await ToolRunner().run(["audit", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(result.exitCode == 2)
        #expect(
            result.stdout.contains("gap BTC/USDT 1h [2024-06-20T00:00Z, 2024-07-01T00:00Z): 264 candles not covered"))
        #expect(result.stdout.hasSuffix("Audit: 4 findings (4 gap) in 0 registered files, 4 planned pairs.\n"))
        #expect(!FileManager.default.fileExists(atPath: dir.path("manifest.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: dir.path("incoming")))
    }

    @Test func cleanAfterApplyThenFindingsInTextAndJSON() async throws {
        let dir = try workspace()
        let tool = ToolRunner()
        #expect(try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path).exitCode == 0)
        let clean = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now, "--deep"], in: dir.path)
        #expect(clean.exitCode == 0, "\(clean.stdout)\(clean.stderr)")
        #expect(clean.stdout.hasPrefix("Audit clean: "))
        // Delete one file, leave a partial.
        let folder = dir.path("incoming/simulated/spot/ETHUSDT/15m")
        let victim = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).sorted().first)
        try FileManager.default.removeItem(atPath: folder + "/" + victim)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/.\(victim).partial"))
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let before = (try ledger.generation(), try ledger.fileCount())
        let text = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(text.exitCode == 2)
        #expect(text.stdout.contains("missing_file ETH/USDT 15m ["))
        #expect(text.stdout.contains("simulated/spot/ETHUSDT/15m/\(victim): registered as downloaded, absent on disk"))
        #expect(text.stdout.contains("stray_partial ETH/USDT 15m simulated/spot/ETHUSDT/15m/.\(victim).partial"))
        #expect(text.stdout.contains("Audit: 2 findings (1 missing_file, 1 stray_partial)"))
        let json = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        #expect(json.exitCode == 2)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["format_version"] as? Int == 1)
        #expect(document["command"] as? String == "audit")
        #expect(document["clean"] as? Bool == false)
        let findings = (document["report"] as? [String: Any])?["findings"] as? [[String: Any]]
        // Sorted by pair, then start (a partial has no range), then kind.
        #expect(findings?.map { $0["kind"] as? String } == ["stray_partial", "missing_file"])
        #expect(findings?.last?["path"] as? String == "simulated/spot/ETHUSDT/15m/\(victim)")
        #expect(findings?.last?["symbol"] as? String == "ETH/USDT")
        // audit changed nothing: the partial is still there, the ledger's generation and rows are the same.
        #expect(FileManager.default.fileExists(atPath: folder + "/.\(victim).partial"))
        #expect(try ledger.generation() == before.0 && ledger.fileCount() == before.1)
    }

    @Test func badInputExits64() async throws {
        let dir = try workspace()
        let result = try await ToolRunner().run(["audit", "missing.yaml"], in: dir.path)
        #expect(result.exitCode == 64)
        #expect(result.stderr.hasPrefix("error: "))
        let negative = try await ToolRunner().run(["audit", "plan.yaml", "--verify-remote", "-1"], in: dir.path)
        #expect(negative.exitCode == 64)
    }
}
