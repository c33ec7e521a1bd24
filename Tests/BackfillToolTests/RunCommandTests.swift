import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillModel
@testable import BackfillSpec

/// `backfill-tool run` (§10): the seed's one-shot job configured by environment.
@Suite(.serialized)
struct RunCommandTests {
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs
    static let start = CivilDate(year: 2024, month: 2, day: 20).epochMs

    /// Only the knobs a test gives: the machine's own environment must not leak into `run`.
    static func tool(_ knobs: [String: String]) -> ToolRunner {
        var runner = ToolRunner(environment: knobs)
        for name in RunEnvironment.knobs + ["PLAN_FILE", "API_KEY", "API_SECRET"] where knobs[name] == nil {
            runner.environment[name] = nil
        }
        return runner
    }

    @Test func aRunThenAResumedRunThatAsksForNoCandles() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("run")
            let knobs = [
                "SYMBOLS": "BTC/USDT,ETH/USDT", "TIMEFRAME": "1h,15m", "START_TS": "\(Self.start)", "END_TS": "0",
                "BATCH_LIMIT": "500", "SLEEP_MS": "0", "MARKET": "spot", "LANDING_DIR": "incoming",
                "LEDGER_PATH": "state/manifest.sqlite", "BINANCE_BASE_URL": server.baseURL,
                "API_KEY": "run-key-never-shown", "API_SECRET": "run-secret-never-shown",
            ]
            let first = try await Self.tool(knobs).run(["run"], in: dir.path)
            #expect(first.exitCode == 0, "\(first.stderr)")
            // 2024-02-20 → 03-01 (a leap February): 240 hours and 960 quarters per symbol, in chunks of 500.
            #expect(first.stdout.contains(" files written (2400 candles)"), "\(first.stdout)")
            // Plain progress lines off a terminal (no carriage returns), the last one at 100 %; a run slower than the
            // progress interval (a loaded CI machine) prints earlier ones too.
            let lines = first.stderr.split(separator: "\n")
            #expect(!first.stderr.contains("\r") && lines.allSatisfy { $0.hasPrefix("progress: [") }, "\(first.stderr)")
            #expect(lines.last?.hasPrefix("progress: [100%]") == true, "\(first.stderr)")
            for text in [first.stdout, first.stderr] {
                #expect(!text.contains("run-key-never-shown") && !text.contains("run-secret-never-shown"))
            }
            #expect(FileManager.default.fileExists(atPath: dir.path("state/manifest.sqlite")))
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: dir.path("incoming/binance/spot/BTCUSDT/1h"))
                    .count >= 1)
            // START_TS=0: from the watermark, which the first run moved to now; no klines request at all.
            let before = server.state.stats.klinesRequests
            var resumed = knobs
            resumed["START_TS"] = "0"
            let second = try await Self.tool(resumed).run(["run"], in: dir.path)
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(second.stdout.hasPrefix("Apply complete: 0 files written (0 candles)"), "\(second.stdout)")
            #expect(server.state.stats.klinesRequests == before)
        }
    }

    /// `ARCHIVE` and `ARCHIVE_URL` (issue 14): the seed's job reads the archive where it is published — no candle
    /// request with `ARCHIVE=only` (only the listing probe of a new symbol) — and writes the files the REST run
    /// writes.
    @Test func runReadsTheArchiveWhenAskedTo() async throws {
        let now = CivilDate(year: 2023, month: 8, day: 10).epochMs
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: now))) { server in
            var trees: [[String: Data]] = []
            for archive in ["off", "only"] {
                let dir = try TemporaryDirectory("run-archive-\(archive)")
                let knobs = [
                    "SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h",
                    "START_TS": "\(CivilDate(year: 2023, month: 5, day: 1).epochMs)",
                    "END_TS": "\(CivilDate(year: 2023, month: 7, day: 1).epochMs)", "LANDING_DIR": "incoming",
                    "LEDGER_PATH": "manifest.sqlite", "BINANCE_BASE_URL": server.baseURL, "ARCHIVE": archive,
                    "ARCHIVE_URL": server.baseURL,
                ]
                let before = server.state.stats.klinesRequests
                let run = try await Self.tool(knobs).run(["run"], in: dir.path)
                #expect(run.exitCode == 0, "\(run.stderr)")
                #expect(run.stdout.contains(" files written (1464 candles)"), "\(run.stdout)")
                if archive == "only" {
                    #expect(run.stdout.contains(" 0 requests,"), "\(run.stdout)")
                    #expect(server.state.stats.klinesRequests <= before + 1, "the listing probe at most")
                    #expect(run.stdout.contains("chunks from 2 archive files"), "\(run.stdout)")
                }
                trees.append(try ArchiveApplyTests.files(dir, "incoming"))
            }
            #expect(!trees[0].isEmpty && trees[0] == trees[1])
        }
    }

    /// (variables, the variable the error must name, words of the reason).
    static let bad: [([String: String], String, String)] = [
        ([:], "SYMBOLS", "is not set"),
        (["SYMBOLS": ""], "SYMBOLS", "is empty"),
        (["SYMBOLS": "btcusdt", "TIMEFRAME": "1m"], "SYMBOLS", "is not a pair like BTC/USDT"),
        (["SYMBOLS": "BTC/USDT,,ETH/USDT", "TIMEFRAME": "1m"], "SYMBOLS", "is not a pair"),
        (["SYMBOLS": "BTC/USDT,BTC/USDT", "TIMEFRAME": "1m"], "SYMBOLS", "listed twice"),
        (["SYMBOLS": "../../etc/USDT", "TIMEFRAME": "1m"], "SYMBOLS", "is not a pair"),
        (["SYMBOLS": "BTC/USDT"], "TIMEFRAME", "is not set"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": " "], "TIMEFRAME", "is empty"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "2m"], "TIMEFRAME", "unknown timeframe '2m'"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m,1m"], "TIMEFRAME", "listed twice"),
        (["SYMBOLS": "BTC/USDT:USDT", "TIMEFRAME": "1s", "MARKET": "usdm"], "TIMEFRAME", "spot only"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "START_TS": "yesterday"], "START_TS", "not a whole number"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "START_TS": "-5"], "START_TS", "not a whole number"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "START_TS": ""], "START_TS", "is empty"),
        (
            ["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "START_TS": "1709251200000", "END_TS": "1709164800000"],
            "START_TS", "is not before END_TS"
        ),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "END_TS": "99999999999999999999"], "END_TS", "not a whole number"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "BATCH_LIMIT": "0"], "BATCH_LIMIT", "1...1000"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "BATCH_LIMIT": "1001"], "BATCH_LIMIT", "1...1000"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "BATCH_LIMIT": "lots"], "BATCH_LIMIT", "not a whole number"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "SLEEP_MS": "-1"], "SLEEP_MS", "not a whole number"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "SLEEP_MS": "3600001"], "SLEEP_MS", "0...3600000"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "MARKET": "margin"], "MARKET", "not one of spot, usdm, coinm"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "LANDING_DIR": ""], "LANDING_DIR", "is empty"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "LEDGER_PATH": ""], "LEDGER_PATH", "is empty"),
        (
            ["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "BINANCE_BASE_URL": "api.binance.com"], "BINANCE_BASE_URL",
            "base URL"
        ),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "BINANCE_BASE_URL": "ftp://x"], "BINANCE_BASE_URL", "base URL"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "ARCHIVE": "yes"], "ARCHIVE", "not auto, off or only"),
        (["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1m", "ARCHIVE_URL": "data.binance.vision"], "ARCHIVE_URL", "base URL"),
        (["PLAN_FILE": ""], "PLAN_FILE", "is empty"),
        (["PLAN_FILE": "plan.yaml", "SYMBOLS": "BTC/USDT"], "PLAN_FILE", "together with SYMBOLS"),
        (["PLAN_FILE": "plan.yaml", "END_TS": "0", "SLEEP_MS": "5"], "PLAN_FILE", "together with END_TS, SLEEP_MS"),
        (["PLAN_FILE": "missing.yaml"], "missing.yaml", "no such plan file"),
    ]

    @Test(arguments: bad)
    func aBadValueIsOneLineNamingTheVariableAndNothingIsCreated(
        knobs: [String: String], variable: String, words: String
    ) async throws {
        let dir = try TemporaryDirectory("run-bad")
        var knobs = knobs
        knobs["LANDING_DIR"] = knobs["LANDING_DIR"] ?? (knobs["PLAN_FILE"] == nil ? "incoming" : nil)
        knobs["LEDGER_PATH"] = knobs["LEDGER_PATH"] ?? (knobs["PLAN_FILE"] == nil ? "manifest.sqlite" : nil)
        knobs = knobs.compactMapValues { $0 }
        let before = try dir.inventory()
        let result = try await Self.tool(knobs).run(["run"], in: dir.path)
        #expect(result.exitCode == 64, "\(knobs): \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: \(variable)"), "\(result.stderr)")
        #expect(result.stderr.contains(words), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
        #expect(try dir.inventory() == before, "nothing created")
    }

    /// An unknown symbol is found at plan time, against the exchange: still one line naming SYMBOLS, exit 64, no
    /// ledger and no landing directory.
    @Test func anUnknownSymbolNamesTheVariable() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("run-unknown")
            let result = try await Self.tool([
                "SYMBOLS": "BTC/USDC", "TIMEFRAME": "1h", "LANDING_DIR": "incoming", "LEDGER_PATH": "manifest.sqlite",
                "BINANCE_BASE_URL": server.baseURL,
            ]).run(["run"], in: dir.path)
            #expect(result.exitCode == 64, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("error: SYMBOLS: unknown symbol 'BTC/USDC'"), "\(result.stderr)")
            #expect(try dir.inventory().isEmpty, "no ledger, no landing directory")
        }
    }
}
