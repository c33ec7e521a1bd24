import BackfillTestSupport
import Foundation
import Testing

@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// A saved plan is untrusted (§11, issue 13 point 4): `apply --plan-file` plans its pairs again and refuses one that
/// planning does not give, before anything is fetched or written.
@Suite(.serialized)
struct SavedPlanTamperTests {
    static let now = "1720009800000"

    /// A ledger with BTC/USDT and ETH/USDT 1h up to 2024-06-25, and a saved plan for the rest of June.
    func workspace() async throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("saved-tamper")
        func plan(end: String) -> String {
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-06-20, end: \(end), batch_limit: 24}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1h]
            """
        }
        try dir.write(plan(end: "2024-06-25"), to: "first.yaml")
        try dir.write(plan(end: "2024-07-01"), to: "plan.yaml")
        let tool = ToolRunner()
        let first = try await tool.run(["apply", "first.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(first.exitCode == 0, "\(first.stderr)")
        let saved = try await tool.run(
            ["plan", "plan.yaml", "--now-ms", Self.now, "--out", "saved.json"], in: dir.path)
        #expect(saved.exitCode == 0, "\(saved.stderr)")
        return dir
    }

    typealias Edit = @Sendable (inout [String: Any]) -> Void

    static func pairs(_ document: inout [String: Any], _ change: (inout [[String: Any]]) -> Void) {
        var pairs = document["pairs"] as? [[String: Any]] ?? []
        change(&pairs)
        document["pairs"] = pairs
    }

    static func firstTasks(_ document: inout [String: Any], _ change: (inout [[String: Any]]) -> Void) {
        pairs(&document) { pairs in
            var tasks = pairs[0]["tasks"] as? [[String: Any]] ?? []
            change(&tasks)
            pairs[0]["tasks"] = tasks
        }
    }

    /// Each edit, the words its refusal must contain.
    static let cases: [(name: String, edit: Edit, expected: String)] = [
        (
            "tasks carry another market's id",
            { d in firstTasks(&d) { t in for i in t.indices { t[i]["symbol_id"] = "ETHUSDT" } } },
            "BTC/USDT 1h task 1: symbol_id ETHUSDT, planning gives BTCUSDT"
        ),
        (
            "the pair carries another market's id",
            { d in pairs(&d) { p in p[0]["symbol_id"] = "ETHUSDT" } },
            "BTC/USDT 1h: symbol_id ETHUSDT, planning gives BTCUSDT"
        ),
        (
            "a task moved by one candle",
            { d in
                firstTasks(&d) { t in
                    var range = t[0]["range"] as? [String: Any] ?? [:]
                    range["start_ms"] = (range["start_ms"] as? Int ?? 0) + 3_600_000
                    range["end_ms"] = (range["end_ms"] as? Int ?? 0) + 3_600_000
                    t[0]["range"] = range
                }
            }, "BTC/USDT 1h task 1: range"
        ),
        (
            "a task's count", { d in firstTasks(&d) { t in t[0]["candles"] = 1000 } },
            "BTC/USDT 1h task 1: candles 1000, planning gives 24"
        ),
        (
            "a path leading out", { d in firstTasks(&d) { t in t[0]["path"] = "../../outside.csv" } },
            "BTC/USDT 1h task 1: path ../../outside.csv, planning gives"
        ),
        (
            "a task dropped", { d in firstTasks(&d) { t in t.removeLast() } }, "BTC/USDT 1h: task count"
        ),
        (
            "the desired range beyond now",
            { d in
                pairs(&d) { p in
                    var desired = p[1]["desired"] as? [String: Any] ?? [:]
                    desired["end_ms"] = 4_102_444_800_000
                    p[1]["desired"] = desired
                }
            }, "ETH/USDT 1h: desired range"
        ),
        (
            "a now after the exchange's clock", { d in d["now_ms"] = 4_102_444_800_000 },
            "its now_ms 4102444800000 is after the exchange's clock"
        ),
        (
            "an impossible batch size", { d in pairs(&d) { p in p[0]["batch_limit"] = 5000 } },
            "BTC/USDT 1h: batch_limit 5000 is outside 1…1000"
        ),
        ("a pair twice", { d in pairs(&d) { p in p[1] = p[0] } }, "BTC/USDT 1h is there twice"),
        (
            "a symbol the exchange does not list",
            { d in pairs(&d) { p in p[0]["symbol"] = "BTC/XYZ" } }, "unknown symbol 'BTC/XYZ'"
        ),
        (
            "a counter", { d in pairs(&d) { p in p[0]["covered_candles"] = 0 } }, "BTC/USDT 1h: covered_candles 0"
        ),
    ]

    @Test func everyEditIsRefusedAndNothingChanges() async throws {
        let dir = try await workspace()
        let tool = ToolRunner()
        let original = try Data(contentsOf: URL(fileURLWithPath: dir.path("saved.json")))
        let ledgerBefore = StateDump.ledger(dir.path("manifest.sqlite"))
        let filesBefore = StateDump.files(dir.path("incoming"))
        #expect(filesBefore.count > 2)
        #expect(ledgerBefore.contains("table files\n"), "\(ledgerBefore.prefix(300))")
        for (name, edit, expected) in Self.cases {
            var document = try JSONSerialization.jsonObject(with: original) as? [String: Any] ?? [:]
            edit(&document)
            try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir.path("bad.json")))
            let run = try await tool.run(["apply", "--plan-file", "bad.json"], in: dir.path)
            #expect(run.exitCode == 1, "\(name): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(name)")
            let lines = run.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(name): \(run.stderr)")
            #expect(run.stderr.hasPrefix("error: saved plan bad.json is not what planning gives now ("), "\(name)")
            #expect(run.stderr.contains(expected), "\(name): \(run.stderr)")
            #expect(StateDump.ledger(dir.path("manifest.sqlite")) == ledgerBefore, "\(name)")
            #expect(StateDump.files(dir.path("incoming")) == filesBefore, "\(name)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path("outside.csv")))
        // The saved plan as it was made still applies, and leaves exactly the coverage planning asked for.
        let applied = try await tool.run(["apply", "--plan-file", "saved.json"], in: dir.path)
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        let after = try await tool.run(
            ["plan", "plan.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(after.stdout == "No changes. Coverage is complete.\n")
        let audit = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now, "--deep"], in: dir.path)
        #expect(audit.exitCode == 0, "\(audit.stdout)")
    }

    /// On the simulated exchange a bogus id used to be fetched as an empty market and recorded as exchange gaps,
    /// after which `plan` said coverage was complete: refused now, and no gap is recorded.
    @Test func aBogusIdRecordsNoGap() async throws {
        let dir = try await workspace()
        let tool = ToolRunner()
        var document =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path("saved.json"))))
            as? [String: Any] ?? [:]
        Self.pairs(&document) { pairs in
            pairs[0]["symbol_id"] = "NOSUCH"
            var tasks = pairs[0]["tasks"] as? [[String: Any]] ?? []
            for i in tasks.indices {
                tasks[i]["symbol_id"] = "NOSUCH"
                tasks[i]["path"] = (tasks[i]["path"] as? String ?? "").replacingOccurrences(
                    of: "BTCUSDT", with: "NOSUCH")
            }
            pairs[0]["tasks"] = tasks
        }
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir.path("bad.json")))
        let before = StateDump.ledger(dir.path("manifest.sqlite"))
        let run = try await tool.run(["apply", "--plan-file", "bad.json"], in: dir.path)
        #expect(run.exitCode == 1)
        #expect(run.stderr.contains("BTC/USDT 1h: symbol_id NOSUCH, planning gives BTCUSDT"), "\(run.stderr)")
        #expect(StateDump.ledger(dir.path("manifest.sqlite")) == before)
        let plan = try await tool.run(["plan", "plan.yaml", "--now-ms", Self.now, "--detailed-exitcode"], in: dir.path)
        #expect(plan.exitCode == 2)
        #expect(plan.stdout.contains("+ fetch BTC/USDT 1h"))
    }
}

/// What an edited saved plan could do before it was refused: ETH/USDT candles registered as BTC/USDT under the id
/// ETHUSDT. `audit --verify-remote` fetches by the id the exchange gives BTC/USDT today, so it sees them.
@Suite(.serialized)
struct ForeignIdAuditTests {
    @Test func verifyRemoteFetchesByTheSymbolsIdNotTheLedgers() async throws {
        let source = try TemporaryDirectory("foreign-id-source")
        let plan = """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-06-20, end: 2024-06-22, batch_limit: 24}
            targets:
              - symbols: [ETH/USDT]
                timeframes: [1h]
            """
        try source.write(plan, to: "plan.yaml")
        let tool = ToolRunner()
        #expect(
            try await tool.run(["apply", "plan.yaml", "--now-ms", SavedPlanTamperTests.now], in: source.path).exitCode
                == 0)
        let dir = try TemporaryDirectory("foreign-id")
        try dir.write(plan.replacingOccurrences(of: "[ETH/USDT]", with: "[BTC/USDT]"), to: "plan.yaml")
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: true))
        let relative = "simulated/spot/ETHUSDT/1h"
        try FileManager.default.createDirectory(
            atPath: dir.path("incoming/" + relative), withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path("incoming/" + relative)).sorted() {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: source.path("incoming/\(relative)/\(name)")))
            try bytes.write(to: URL(fileURLWithPath: dir.path("incoming/\(relative)/\(name)")))
            let bounds = name.dropFirst("ETHUSDT__1h__".count).dropLast(4).split(separator: "_").map { Int64($0)! }
            try ledger.register(
                NewFile(
                    sha256: SHA256Hex.digest(bytes), path: "\(relative)/\(name)", exchange: .simulated, market: .spot,
                    symbol: "BTC/USDT", symbolId: "ETHUSDT", timeframe: .h1,
                    range: TimeRange(bounds[0], bounds[1])!, rows: 24, bytes: bytes.count, source: .rest),
                actor: "a tampered plan")
        }
        let audit = try await tool.run(
            ["audit", "plan.yaml", "--now-ms", SavedPlanTamperTests.now, "--verify-remote", "10", "--json"],
            in: dir.path)
        #expect(audit.exitCode == 2, "\(audit.stderr)")
        #expect(audit.stdout.contains("\"kind\" : \"remote_changed\""), "\(audit.stdout)")
        #expect(audit.stdout.contains("bytes for BTCUSDT"))
    }
}
