import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import FakeBinance
import Foundation

// Benchmarks, built only with BACKFILL_BENCHMARKS=1 (see BENCHMARKS.md):
//
//   BACKFILL_BENCHMARKS=1 swift build -c release
//   .build/release/backfill-bench plan [--files 1000000] [--runs 5] [--dir DIR]
//
// `plan` builds a ledger of N registered files (16 simulated spot pairs, one-hour files, a hole every 5000 files),
// then times the real `backfill-tool plan` binary on it, end to end (process start, plan load, ledger snapshot,
// planning, rendering), and the in-process planner alone.

struct Arguments {
    var command = "plan"
    var files = 1_000_000
    var runs = 5
    var dir: String?
    /// A PostgreSQL ledger URL (`plan --ledger`, `ledger-ops --postgres`).
    var ledger: String?

    init(_ argv: [String]) {
        var rest = argv.dropFirst()
        if let first = rest.first, !first.hasPrefix("--") {
            command = first
            rest = rest.dropFirst()
        }
        while let flag = rest.popFirst() {
            let value = rest.popFirst() ?? ""
            switch flag {
            case "--files": files = Int(value) ?? files
            case "--runs": runs = Int(value) ?? runs
            case "--dir": dir = value
            case "--ledger", "--postgres": ledger = value
            default:
                FileHandle.standardError.write(Data("unknown flag \(flag)\n".utf8))
                exit(64)
            }
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

/// Wall times of `runs` runs of a binary (output discarded); stops the benchmark on an unexpected exit status.
func timeProcess(_ tool: URL, _ arguments: [String], runs: Int, allowed: Set<Int32>) throws -> [Double] {
    var times: [Double] = []
    for _ in 0..<runs {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        times.append(
            try seconds {
                try process.run()
                process.waitUntilExit()
            })
        guard allowed.contains(process.terminationStatus) else {
            fatalError("\(arguments.first ?? "") exited \(process.terminationStatus)")
        }
    }
    return times
}

func benchmarkPlan(_ args: Arguments) async throws {
    let dir = args.dir ?? NSTemporaryDirectory() + "backfill-bench-\(ProcessInfo.processInfo.processIdentifier)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let ledgerPath = args.ledger ?? dir + "/manifest.sqlite"
    let symbols = SimulatedExchange().markets(.spot).prefix(8)
    let timeframes: [Timeframe] = [.m1, .m3]
    let pairs = symbols.flatMap { market in timeframes.map { (market, $0) } }
    let perPair = args.files / pairs.count
    let origin = CivilDate(year: 2017, month: 9, day: 1).epochMs
    let now = CivilDate(year: 2025, month: 1, day: 1).epochMs

    let empty =
        args.ledger == nil
        ? !FileManager.default.fileExists(atPath: ledgerPath)
        : ((try Ledger.open(path: ledgerPath, create: false)?.fileCount()) ?? 0) == 0
    if empty {
        guard let ledger = try Ledger.open(path: ledgerPath, create: true) else { fatalError("cannot create ledger") }
        let build = try seconds {
            var serial = 0
            for (market, timeframe) in pairs {
                // The landing files first (sparse, at their registered size), so that they predate their rows as
                // apply's own files do: a file modified after its registration is hashed by audit.
                let folder = "\(dir)/incoming/simulated/spot/\(market.symbolId)/\(timeframe.rawValue)"
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                for i in 0..<perPair where i % 5000 != 4999 {
                    let lower = origin + Int64(i) * Timeframe.hourMs
                    let name = LandingPath.fileName(
                        symbolId: market.symbolId, timeframe: timeframe,
                        range: TimeRange(uncheckedLower: lower, upper: lower + Timeframe.hourMs))
                    let fd = open(folder + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                    guard fd >= 0, ftruncate(fd, 4000) == 0 else { fatalError("cannot create \(name)") }
                    close(fd)
                }
                let files = (0..<perPair).lazy.filter { $0 % 5000 != 4999 }.map { i -> NewFile in
                    serial += 1
                    let lower = origin + Int64(i) * Timeframe.hourMs
                    let range = TimeRange(uncheckedLower: lower, upper: lower + Timeframe.hourMs)
                    let hex = String(serial, radix: 16)
                    return NewFile(
                        sha256: String(repeating: "0", count: 64 - hex.count) + hex,
                        path: LandingPath.relativePath(
                            exchange: .simulated, market: .spot, symbolId: market.symbolId, timeframe: timeframe,
                            range: range),
                        exchange: .simulated, market: .spot, symbol: market.symbol, symbolId: market.symbolId,
                        timeframe: timeframe, range: range, rows: 60, bytes: 4000, source: .rest)
                }
                try ledger.register(files, actor: "bench")
            }
        }
        let count = try ledger.fileCount()
        print("built ledger: \(count) files in \(String(format: "%.1f", build)) s")
    }
    let targets = symbols.map { "  - symbols: [\($0.symbol)]\n    timeframes: [1m, 3m]\n" }.joined()
    let yaml = """
        version: 1
        exchange: simulated
        landing: \(dir)/incoming
        ledger: \(ledgerPath)
        defaults:
          start: 2017-09-01
          end: 2025-01-01
        targets:
        \(targets)
        """
    let planPath = dir + "/bench.yaml"
    try yaml.write(toFile: planPath, atomically: true, encoding: .utf8)

    // In-process: load + snapshot + plan.
    let plan = try PlanLoader(environment: [:]).load(path: planPath)
    var inProcess: [Double] = []
    var taskCount = 0
    for _ in 0..<args.runs {
        var result: Plan?
        let start = DispatchTime.now().uptimeNanoseconds
        let root = try CommandRoot.make(
            config: PlanDocument.Config(plan), createLedger: false, frozenNowMs: now, apiKey: nil)
        let session = PlanningSession(plan: plan, planSHA256: "", root: root)
        result = try await session.run()
        inProcess.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        taskCount = result?.tasks.count ?? 0
    }

    // End to end: the release binary beside this one.
    let tool = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("backfill-tool")
    let endToEnd = try timeProcess(tool, ["plan", planPath, "--now-ms", String(now)], runs: args.runs, allowed: [0])
    let fmt = { (v: Double) in String(format: "%.3f", v) }
    print("plan on \(args.files) files, \(pairs.count) pairs, \(taskCount) tasks")
    print("  in-process (snapshot + plan): median \(fmt(median(inProcess))) s, min \(fmt(inProcess.min() ?? 0)) s")
    print("  backfill-tool plan (process): median \(fmt(median(endToEnd))) s, min \(fmt(endToEnd.min() ?? 0)) s")

    // audit without --deep: every registered file's presence, every directory listed.
    let audits = try timeProcess(tool, ["audit", planPath, "--now-ms", String(now)], runs: args.runs, allowed: [0, 2])
    print(
        "  backfill-tool audit (process, exit 0 or 2): median \(fmt(median(audits))) s, "
            + "min \(fmt(audits.min() ?? 0)) s")
}

/// Decoder throughput: 1000-candle pages from the simulated market, decoded by the dedicated parser and by
/// Foundation's JSONSerialization.
func benchmarkDecode(_ args: Arguments) throws {
    let exchange = SimulatedExchange()
    guard let btc = exchange.instrument(.spot, symbolId: "BTCUSDT") else { fatalError("no BTCUSDT") }
    let rows = exchange.klines(
        btc, .m1, startTime: CivilDate(year: 2023, month: 1, day: 1).epochMs, endTime: nil, limit: 1000,
        serverTime: CivilDate(year: 2025, month: 1, day: 1).epochMs)
    let body = Array(FakeBinanceRouter.encode(rows).utf8)
    let pages = max(1, args.files / 1000)
    let fmt = { (v: Double) in String(format: "%.0f", v) }
    var fastRates: [Double] = []
    var genericRates: [Double] = []
    for _ in 0..<args.runs {
        let fast = try seconds { for _ in 0..<pages { _ = try KlinesDecoder.decode(body) } }
        let generic = try seconds { for _ in 0..<pages { _ = try JSONKlinesDecoder.decode(body) } }
        fastRates.append(Double(pages * rows.count) / fast)
        genericRates.append(Double(pages * rows.count) / generic)
    }
    print("decode \(pages) pages of \(rows.count) klines (\(body.count) bytes each), \(args.runs) runs")
    print("  KlinesDecoder:      median \(fmt(median(fastRates))) candles/s")
    print("  JSONSerialization:  median \(fmt(median(genericRates))) candles/s")
    print("  ratio: \(String(format: "%.1f", median(fastRates) / median(genericRates)))x")
}

/// Client throughput against the fake on loopback (no weight limit): one connection fetching one pair, and
/// several connections fetching several pairs at once.
func benchmarkClient(_ args: Arguments) async throws {
    let now = CivilDate(year: 2024, month: 6, day: 1).epochMs
    let server = try await FakeBinanceServer.start(
        config: FakeBinanceConfig(clock: .init(frozenMs: now), weight: .init(limit: 0)))
    let candlesPerPair = max(1000, args.files)
    let fmt = { (v: Double) in String(format: "%.0f", v) }
    let symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT"]
    for connections in [1, 4] {
        var rates: [Double] = []
        for _ in 0..<args.runs {
            let transport = AsyncHTTPClientTransport(connections: connections)
            let client = BinanceClient(
                transport: transport, market: .spot, baseURL: server.baseURL,
                governor: RateGovernor(limit: 0, time: SystemTimeSource()))
            let range = TimeRange(uncheckedLower: now - Int64(candlesPerPair) * 60_000, upper: now)
            let start = DispatchTime.now().uptimeNanoseconds
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for symbol in symbols.prefix(connections) {
                    group.addTask {
                        try await client.klines(
                            symbolId: symbol, grid: Timeframe.m1.grid(listedAtMs: nil), range: range, limit: 1000
                        ).count
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            await transport.shutdown()
            rates.append(Double(total) / elapsed)
        }
        print(
            "client, \(connections) connection(s) × \(candlesPerPair) candles: median \(fmt(median(rates))) candles/s")
    }
    await server.shutdown()
}

/// Ledger operations per second on SQLite and PostgreSQL, in one run: `register` (one file per transaction, as
/// `ledger register` and a consumer's scheduler do) and `claim` (one file per claim, `--limit 1`).
func benchmarkLedgerOperations(_ args: Arguments) throws {
    let dir = args.dir ?? NSTemporaryDirectory() + "backfill-bench-ops-\(ProcessInfo.processInfo.processIdentifier)"
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var locations = [("SQLite", dir + "/manifest.sqlite")]
    if let url = args.ledger { locations.append(("PostgreSQL", url)) }
    let count = max(100, args.files)
    let fmt = { (v: Double) in String(format: "%.0f", v) }
    for (name, location) in locations {
        guard let ledger = try Ledger.open(path: location, create: true) else { fatalError("cannot open \(name)") }
        defer { ledger.close() }
        guard try ledger.fileCount() == 0 else { fatalError("\(name): the ledger is not empty") }
        let origin = CivilDate(year: 2020, month: 1, day: 1).epochMs
        let register = try seconds {
            for i in 0..<count {
                let lower = origin + Int64(i) * Timeframe.hourMs
                let range = TimeRange(uncheckedLower: lower, upper: lower + Timeframe.hourMs)
                let hex = String(i + 1, radix: 16)
                try ledger.register(
                    NewFile(
                        sha256: String(repeating: "0", count: 64 - hex.count) + hex,
                        path: LandingPath.relativePath(
                            exchange: .simulated, market: .spot, symbolId: "BTCUSDT", timeframe: .h1, range: range),
                        exchange: .simulated, market: .spot, symbol: "BTC/USDT", symbolId: "BTCUSDT", timeframe: .h1,
                        range: range, rows: 1, bytes: 100, source: .external),
                    actor: "bench")
            }
        }
        let claim = try seconds {
            for _ in 0..<count {
                guard try ledger.claim(owner: "bench", limit: 1, leaseMs: 600_000).count == 1 else {
                    fatalError("\(name): nothing to claim")
                }
            }
        }
        print(
            "\(name): register \(fmt(Double(count) / register)) files/s, claim \(fmt(Double(count) / claim)) claims/s "
                + "(\(count) each, one per transaction)")
    }
}

let arguments = Arguments(CommandLine.arguments)
switch arguments.command {
case "ledger-ops": try benchmarkLedgerOperations(arguments)
case "plan": try await benchmarkPlan(arguments)
case "decode": try benchmarkDecode(arguments)
case "client": try await benchmarkClient(arguments)
default:
    FileHandle.standardError.write(
        Data(
            "usage: backfill-bench plan|decode|client|ledger-ops [--files N] [--runs N] [--dir DIR] [--ledger URL]\n"
                .utf8))
    exit(64)
}
