import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillCore

/// The tool and the ccxt peer against the fake Binance on loopback.
@Suite(.serialized)
struct FakeBinanceToolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".venv-bench/bin/python").path
    static let peer = root.deletingLastPathComponent().appendingPathComponent("shared/bench/peer_ccxt_backfill.py").path
    static let peerAvailable =
        FileManager.default.isExecutableFile(atPath: python) && FileManager.default.fileExists(atPath: peer)
    static let now = utc(2024, 3, 1)

    @Test func planAgainstABannedIPExits75WithTheBansEnd() async throws {
        let config = FakeBinanceConfig(
            clock: .init(frozenMs: Self.now), weight: .init(limit: 5, windowMs: 60_000), bans: .init(strikes: 1))
        try await withFakeBinance(config) { server in
            let raw = AsyncHTTPClientTransport(connections: 1)
            for _ in 0..<8 { _ = try await raw.get(HTTPRequest(url: server.baseURL + "/api/v3/ping")) }
            await raw.shutdown()
            #expect(server.state.stats.bansIssued == 1)
            let dir = try TemporaryDirectory("ban")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                targets:
                  - symbols: [BTC/USDT]
                    timeframes: [1h]
                """, to: "plan.yaml")
            let result = try ToolRunner().run(["plan", "plan.yaml"], in: dir.path)
            #expect(result.exitCode == 75)
            #expect(result.stderr.hasPrefix("error: Binance banned this IP (418) until 20"))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func planAgainstTheFakeUsesTheClockExchangeInfoAndListing() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("binance")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: earliest, end: 2017-08-20}
                targets:
                  - symbols: [BTC/USDT]
                    timeframes: [1h]
                """, to: "plan.yaml")
            let result = try ToolRunner(environment: ["API_KEY": "secret-key-123"]).run(
                ["plan", "plan.yaml", "--detailed-exitcode"], in: dir.path)
            #expect(result.exitCode == 2)
            #expect(result.stdout.contains("+ fetch BTC/USDT 1h [2017-08-17T04:00Z, 2017-08-20T00:00Z) 68 candles"))
            #expect(!result.stdout.contains("secret-key-123") && !result.stderr.contains("secret-key-123"))
            // /time, exchangeInfo and one listing probe: nothing else.
            #expect(server.state.stats.requests == 3)
        }
    }

    /// The ccxt job of ../shared/bench runs against the fake unchanged, on every market family.
    @Test(
        .enabled(if: peerAvailable, "needs .venv-bench with ccxt (installed by .ci/run) and ../shared/bench"),
        arguments: [("spot", "BTCUSDT"), ("usdm", "BTCUSDT"), ("coinm", "BTCUSD_PERP")])
    func ccxtPeerRunsUnchanged(market: String, symbol: String) async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let out = try TemporaryDirectory("peer")
            let start = utc(2024, 1, 1)
            let end = utc(2024, 2, 1)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.python)
            process.arguments = [
                Self.peer, "--base-url", server.baseURL, "--market", market, "--symbols", symbol, "--timeframe", "1h",
                "--start-ms", String(start), "--end-ms", String(end), "--out-dir", out.path, "--no-ccxt-throttle",
            ]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            let summary = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(summary?["candles"] as? Int == 744, "\(line)")
            #expect(server.state.stats.klinesRequests >= 1)
        }
    }
}
