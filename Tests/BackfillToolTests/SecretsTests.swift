import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

/// Issue 13 point 18: with `API_KEY` and `API_SECRET` set, nothing the tool leaves behind holds either — stdout and
/// stderr of every command at `--log-level trace` (successes and failures), the ledger with its WAL, the landing
/// files and a saved plan.
@Suite(.serialized)
struct SecretsTests {
    static let key = "kEy-9f3a1c-SHOULD-NEVER-APPEAR"
    static let secret = "sEcReT-77d2e0-SHOULD-NEVER-APPEAR"

    @Test func neitherSecretAppearsInOutputLogsLedgerOrLanding() async throws {
        let tool = ToolRunner(environment: ["API_KEY": Self.key, "API_SECRET": Self.secret])
        try await withFakeBinance { server in
            let dir = try TemporaryDirectory("secrets")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-01-01, end: 2024-01-02}
                targets:
                  - symbols: [BTC/USDT, ETH/USDT]
                    timeframes: [1h, 1m]
                """, to: "plan.yaml")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-01-01, end: 2024-01-02}
                targets:
                  - symbols: [NOPE/USDT]
                    timeframes: [1h]
                """, to: "unknown.yaml")
            let trace = ["--log-level", "trace"]
            var outputs: [String] = []
            var codes: [Int32] = []
            for arguments in [
                ["plan", "plan.yaml", "--out", "saved.json"] + trace,
                ["apply", "plan.yaml", "--progress", "always"] + trace,
                ["audit", "plan.yaml", "--deep", "--verify-remote", "3"] + trace,
                ["plan", "plan.yaml", "--json"] + trace,
                ["ledger", "status", "--ledger", "manifest.sqlite", "--json"],
                ["plan", "unknown.yaml"] + trace,
                ["apply", "unknown.yaml"] + trace,
            ] {
                let result = try await tool.run(arguments, in: dir.path)
                codes.append(result.exitCode)
                outputs.append(result.stdout + result.stderr)
            }
            #expect(codes == [0, 0, 0, 0, 0, 64, 64], "\(codes) \(outputs)")
            #expect(outputs[1].contains("GET /api/v3/klines"), "trace logs show the requests")
            // The run's environment for `run` (PLAN_FILE) with the secrets set, too.
            let run = try await ToolRunner(
                environment: ["API_KEY": Self.key, "API_SECRET": Self.secret, "PLAN_FILE": "plan.yaml"]
            ).run(["run"] + trace, in: dir.path)
            #expect(run.exitCode == 0, "\(run.stderr)")
            outputs.append(run.stdout + run.stderr)
            for text in outputs {
                #expect(!text.contains(Self.key) && !text.contains(Self.secret))
            }
            // Every byte on disk: ledger, WAL, landing files, the saved plan.
            var scanned = 0
            let enumerator = try #require(FileManager.default.enumerator(atPath: dir.path))
            for case let relative as String in enumerator {
                var isDirectory: ObjCBool = false
                let path = dir.path(relative)
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
                else { continue }
                let bytes = try #require(FileManager.default.contents(atPath: path))
                scanned += 1
                for needle in [Self.key, Self.secret] {
                    #expect(bytes.range(of: Data(needle.utf8)) == nil, "\(relative) holds a secret")
                }
            }
            #expect(scanned >= 8, "the ledger, the saved plan and the landing files were scanned: \(scanned)")
        }
    }
}
