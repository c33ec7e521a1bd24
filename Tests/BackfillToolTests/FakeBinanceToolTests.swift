import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

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
            // The pings must land in one weight window (a window starting between them would forgive the first
            // and leave the IP unbanned): start them early in a window.
            while FakeBinanceState.wallMs() % 60_000 > 30_000 { try await Task.sleep(for: .milliseconds(200)) }
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
            let result = try await ToolRunner().run(["plan", "plan.yaml"], in: dir.path)
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
            let result = try await ToolRunner(environment: ["API_KEY": "secret-key-123"]).run(
                ["plan", "plan.yaml", "--detailed-exitcode"], in: dir.path)
            #expect(result.exitCode == 2)
            #expect(result.stdout.contains("+ fetch BTC/USDT 1h [2017-08-17T04:00Z, 2017-08-20T00:00Z) 68 candles"))
            #expect(!result.stdout.contains("secret-key-123") && !result.stderr.contains("secret-key-123"))
            // /time, exchangeInfo and one listing probe: nothing else.
            #expect(server.state.stats.requests == 3)
        }
    }

    @Test func applyAgainstTheFakeWritesTheServersClosedCandlesOnceAndANoOpCostsOneRequest() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("apply-binance")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-02-10, end: now}
                targets:
                  - symbols: [BTC/USDT, ETH/USDT]
                    timeframes: [1h, 15m]
                """, to: "plan.yaml")
            let first = try await ToolRunner().run(["apply", "plan.yaml", "--json"], in: dir.path)
            #expect(first.exitCode == 0, "\(first.stderr)")
            let document = try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any]
            let summary = document?["summary"] as? [String: Any]
            #expect(document?["format_version"] as? Int == 1)
            // No --parallelism: chosen from the fake's 6000 weight/min at 2 per request (45 requests/s × 250 ms).
            #expect(summary?["parallelism"] as? Int == 12)
            // 2024-02-10 → 2024-03-01 minus the 2024-02-14 maintenance: per symbol 478 hours and 1910 quarters.
            #expect(summary?["candles"] as? Int == 2 * (480 - 2) + 2 * (1920 - 10))
            // Every file's rows are exactly the server's closed candles for its range.
            let exchange = SimulatedExchange(config: server.state.config.market)
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            #expect(try ledger.fileCount() == summary?["files_written"] as? Int)
            for symbolId in ["BTCUSDT", "ETHUSDT"] {
                let instrument = try #require(exchange.instrument(.spot, symbolId: symbolId))
                for timeframe in [Timeframe.h1, .m15] {
                    let folder = dir.path("incoming/binance/spot/\(symbolId)/\(timeframe.rawValue)")
                    var seen: [String] = []
                    for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() {
                        let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
                        seen += text.split(separator: "\n").dropFirst().map(String.init)
                    }
                    let expected = exchange.klines(
                        instrument, timeframe, startTime: utc(2024, 2, 10), endTime: Self.now - 1, limit: 100_000,
                        serverTime: Self.now
                    ).filter { $0.closeTime < Self.now }
                    let rendered = String(decoding: CSVFormat.render(expected, columns: .basic), as: UTF8.self)
                        .split(separator: "\n").dropFirst().map(String.init)
                    #expect(seen.sorted() == rendered.sorted(), "\(symbolId) \(timeframe)")
                    #expect(Set(seen).count == seen.count, "no candle twice")
                }
            }
            let before = server.state.stats.requests
            let second = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(second.exitCode == 0)
            #expect(second.stdout.hasPrefix("Apply complete: 0 files written (0 candles)"))
            #expect(
                server.state.stats.requests - before == 1,
                "a no-op apply asks only for the server time: \(server.state.stats.recent.suffix(3))")
            // One klines request per chunk, plus one listing probe per symbol on the first run.
            #expect(server.state.stats.klinesRequests == (summary?["requests"] as? Int ?? 0) + 2)
        }
    }

    /// §8: a permanent error (here -1121 "Invalid symbol" for a market delisted since the ledger cached it) stops
    /// that pair with a clear message, without retries; the other pairs run to the end and the run exits 1.
    @Test func aPairTheExchangeRefusesStopsAloneAndTheOthersFinish() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("refused-pair")
            let plan = { (symbols: String, timeframe: String) in
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-02-10, end: now}
                targets:
                  - symbols: [\(symbols)]
                    timeframes: [\(timeframe)]
                """
            }
            // A first run creates the ledger and caches the exchange's markets...
            try dir.write(plan("BTC/USDT", "1h"), to: "plan.yaml")
            #expect(try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path).exitCode == 0)
            // ...among which, as far as the ledger knows, GONE/USDT (delisted since).
            _ = try Ledger.open(path: dir.path("manifest.sqlite"), create: false)?.cacheMarkets(
                [
                    Market(
                        symbol: "GONE/USDT", symbolId: "GONEUSDT", market: .spot, status: "TRADING",
                        listedAtMs: utc(2024, 1, 1))
                ], exchange: .binance)
            try dir.write(plan("GONE/USDT, BTC/USDT", "15m"), to: "plan.yaml")
            let before = server.state.stats.klinesRequests
            let result = try await ToolRunner().run(
                ["apply", "plan.yaml", "--json", "--parallelism", "1"], in: dir.path)
            #expect(result.exitCode == 1)
            #expect(result.stderr.contains("error: GONE/USDT 15m stopped: Binance rejected"))
            #expect(result.stderr.contains("Invalid symbol"))
            let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let summary = document?["summary"] as? [String: Any]
            let failures = summary?["failed_pairs"] as? [[String: Any]]
            #expect(failures?.count == 1)
            #expect(failures?.first?["pair"] as? String == "GONE/USDT 15m")
            // Three chunks per pair (the 1000-candle grid cuts at Feb 17 20:00 and Feb 28 06:00). GONE's first
            // failed once, without retries, and its other two were skipped; BTC ran to the end.
            #expect(summary?["skipped"] as? Int == 2)
            #expect(summary?["retries"] as? Int == 0)
            #expect(summary?["candles"] as? Int == 1920 - 10)
            #expect(server.state.stats.klinesRequests - before == 1 + 3)
            let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
            #expect(try ledger.fileCount() == 1 + 3)
            // Nothing of GONE's was written; the next run tries it again and still completes nothing twice.
            #expect(!FileManager.default.fileExists(atPath: dir.path("incoming/binance/spot/GONEUSDT")))
            let again = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(again.exitCode == 1)
            #expect(again.stdout.hasPrefix("Apply complete: 0 files written (0 candles)"))
            #expect(try ledger.fileCount() == 1 + 3)
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
