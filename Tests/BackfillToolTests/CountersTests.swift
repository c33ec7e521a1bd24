import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Every figure `apply` prints is counted (§1): retries, 429s, requests and weight come from the HTTP client and the
/// rate governor, and agree with what the fake Binance itself served.
@Suite(.serialized)
struct CountersTests {
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs

    static func writePlan(_ dir: TemporaryDirectory, baseURL: String) throws {
        try dir.write(
            """
            version: 1
            exchange: binance
            base_url: \(baseURL)
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-02-10, end: now, batch_limit: 100}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1h, 15m]
            """, to: "plan.yaml")
    }

    static func summary(_ stdout: String) throws -> [String: Any] {
        let document = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        return try #require(document?["summary"] as? [String: Any])
    }

    @Test func retriesAreTheFaultsTheServerInjected() async throws {
        // 5xx with JSON and HTML bodies and truncated bodies: each is one failed attempt, and one retry.
        let faults = FakeBinanceConfig.Faults(seed: 3, serverErrorJSON: 0.05, serverErrorHTML: 0.05, truncated: 0.05)
        let config = FakeBinanceConfig(clock: .init(frozenMs: Self.now), faults: faults)
        try await withFakeBinance(config) { server in
            let dir = try TemporaryDirectory("retries")
            try Self.writePlan(dir, baseURL: server.baseURL)
            let result = try await ToolRunner().run(
                ["apply", "plan.yaml", "--json", "--progress", "always"], in: dir.path)
            #expect(result.exitCode == 0, "\(result.stderr)")
            let summary = try Self.summary(result.stdout)
            // The progress line's weight is the IP's window (the server's x-mbx-used-weight-1m) against its limit,
            // not the run's total: the fake's window is one minute of 6000.
            let line = try #require(result.stderr.split(separator: "\r").last.map(String.init))
            let window = try #require(line.split(separator: "· ").first { $0.hasPrefix("weight ") })
            let figures = window.dropFirst("weight ".count).split(separator: " ").first?.split(separator: "/")
            #expect(figures?.last == "6000", "\(line)")
            let used = Int(figures?.first ?? "") ?? -1
            #expect(used > 0 && used <= 6000 && used <= server.state.stats.weightUsed, "\(line)")
            let served = server.state.stats
            #expect(served.faults > 0, "the run met faults")
            #expect(summary["retries"] as? Int == served.faults)
            #expect(summary["rate_limited"] as? Int == 0)
            // Every klines attempt for data; the two listing probes (and their retries, if any) are not data.
            let requests = try #require(summary["requests"] as? Int)
            #expect(requests >= 50 && requests < served.klinesRequests)
            #expect((summary["weight_used"] as? Int ?? 0) >= 2 * requests)
            let text = try await ToolRunner().run(["plan", "plan.yaml"], in: dir.path)
            #expect(text.stdout.contains("No changes. Coverage is complete."))
        }
    }

    /// Test hooks are not options of the shipped binary, and a frozen clock is refused against a real exchange.
    @Test func nowMsIsRefusedAgainstARealExchangeAndStageDelayIsNoOption() async throws {
        let dir = try TemporaryDirectory("now-ms")
        try dir.write(
            """
            version: 1
            exchange: binance
            base_url: http://127.0.0.1:9
            landing: incoming
            ledger: manifest.sqlite
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        let frozen = try await ToolRunner().run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(frozen.exitCode == 64)
        #expect(frozen.stderr.contains("--now-ms is accepted by apply only with 'exchange: simulated'"))
        #expect(frozen.stderr.split(separator: "\n").count <= 2, "\(frozen.stderr)")
        let hook = try await ToolRunner().run(["apply", "plan.yaml", "--stage-delay-ms", "10"], in: dir.path)
        #expect(hook.exitCode == 64)
        #expect(try dir.inventory().keys.map { $0.hasSuffix("plan.yaml") } == [true], "nothing created")
    }
}
