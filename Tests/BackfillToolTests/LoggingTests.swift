import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `--log-level` (§1): swift-log on stderr; `info` says what the run does, `debug` each request with its weight, the
/// default says nothing; `API_KEY`/`API_SECRET` appear at no level.
@Suite(.serialized)
struct LoggingTests {
    static let key = "key-6f1d2c-never-shown"
    static let secret = "secret-93ab77-never-shown"

    @Test func levelsShowWhatTheRunDoesAndNeverASecret() async throws {
        let now = CivilDate(year: 2024, month: 3, day: 1).epochMs
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: now))) { server in
            let tool = ToolRunner(environment: ["API_KEY": Self.key, "API_SECRET": Self.secret])
            var outputs: [String: ToolRunner.Result] = [:]
            for level in ["warning", "info", "debug"] {
                let dir = try TemporaryDirectory("log-\(level)")
                try dir.write(
                    """
                    version: 1
                    exchange: binance
                    base_url: \(server.baseURL)
                    landing: incoming
                    ledger: manifest.sqlite
                    defaults: {start: 2024-02-25, end: now}
                    targets:
                      - symbols: [BTC/USDT]
                        timeframes: [1h]
                    """, to: "plan.yaml")
                let result = try await tool.run(
                    ["apply", "plan.yaml", "--log-level", level, "--progress", "never"], in: dir.path)
                #expect(result.exitCode == 0, "\(level): \(result.stderr)")
                outputs[level] = result
            }
            let quiet = try #require(outputs["warning"]).stderr
            let info = try #require(outputs["info"]).stderr
            let debug = try #require(outputs["debug"]).stderr
            #expect(quiet.isEmpty, "\(quiet)")
            #expect(info.contains("info backfill-tool"))
            #expect(info.contains("markets from exchangeInfo"))
            #expect(info.contains("BTC/USDT 1h: 1 chunks to fetch (120 candles)"))
            #expect(info.contains("applying 1 chunks with parallelism"))
            #expect(!info.contains("GET /api/v3/klines"), "requests only at debug")
            #expect(debug.contains("GET /api/v3/klines?symbol=BTCUSDT&interval=1h"))
            #expect(debug.contains("weight 2, window "))
            #expect(debug.contains("GET /api/v3/exchangeInfo → 200, weight 20"))
            for (level, result) in outputs {
                for text in [result.stdout, result.stderr] {
                    #expect(!text.contains(Self.key) && !text.contains(Self.secret), "\(level)")
                }
            }
        }
    }
}
