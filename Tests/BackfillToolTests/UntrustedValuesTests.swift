import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillModel

/// Issue 13 point 3: no input may trap. A server clock near Int64.max, `--now-ms 9223372036854775807` and
/// `--lock-timeout 99999999999999999h` each end in one clear error, nothing created; a server clock outside
/// 2017 … local time + 1 day is not believed (exit 75 after the retries, like any broken answer).
@Suite(.serialized)
struct UntrustedValuesTests {
    let tool = ToolRunner()

    @Test func hugeFlagValuesAreUsageErrorsNotTraps() async throws {
        let dir = try TemporaryDirectory("untrusted")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: -2d, end: now}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        let before = try dir.inventory()
        for arguments in [
            ["plan", "plan.yaml", "--now-ms", "9223372036854775807"],
            ["plan", "plan.yaml", "--now-ms", "-5"],
            ["apply", "plan.yaml", "--lock-timeout", "99999999999999999h"],
            ["apply", "plan.yaml", "--lock-timeout", "9223372036854775807"],
            ["ledger", "claim", "--owner", "x", "--lease", "99999999999999999h", "--ledger", "manifest.sqlite"],
        ] {
            let result = try await tool.run(arguments, in: dir.path)
            #expect(result.exitCode == 64, "\(arguments): \(result.exitCode) \(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: "), "\(arguments): \(result.stderr)")
            #expect(try dir.inventory() == before, "\(arguments) created something")
        }
    }

    @Test(arguments: [Int64.max - 1000, 4_102_444_800_000, 1_000])
    func anImplausibleServerClockIsOneErrorLine(serverMs: Int64) async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: serverMs))) { server in
            let dir = try TemporaryDirectory("server-clock")
            for (name, start) in [("relative", "-7d"), ("fixed", "2024-01-01")] {
                try dir.write(
                    """
                    version: 1
                    exchange: binance
                    base_url: \(server.baseURL)
                    landing: incoming
                    ledger: manifest.sqlite
                    defaults: {start: \(start), end: now}
                    targets:
                      - symbols: [BTC/USDT]
                        timeframes: [1m]
                    """, to: "\(name).yaml")
            }
            let before = try dir.inventory()
            for name in ["relative", "fixed"] {
                for command in ["plan", "apply"] {
                    let result = try await tool.run([command, "\(name).yaml"], in: dir.path)
                    // A broken server is a temporary failure: retried, then exit 75 (safe to retry later).
                    #expect(result.exitCode == 75, "\(command) \(name): \(result.exitCode) \(result.stderr)")
                    #expect(
                        result.stderr.contains(
                            "serverTime \(serverMs) is outside 2017 … local time + 1 day; the server's clock is not believed"
                        ),
                        "\(result.stderr)")
                    #expect(result.stderr.split(separator: "\n").count == 1)
                }
            }
            let after = try dir.inventory()
            #expect(after == before, "nothing created: \(Set(after.keys).subtracting(before.keys).sorted())")
        }
    }
}
