import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillModel

/// Issue 13 point 16 (§11): a corpus of bad inputs beyond the plan-file fixtures — flags, environment variables,
/// ledgers, landing areas, exchange responses and saved plans. Each case runs on a copy of a workspace that holds a
/// ledger and landing files, and asserts the exit code, exactly one escaped stderr line naming the culprit, nothing
/// on stdout, and that the ledger (a logical dump of its coverage tables) and every file (SHA-256) are as before.
@Suite(.serialized)
struct BadInputCorpusTests {
    /// One bad input.
    struct Case: Sendable {
        var name: String
        var arguments: [String]
        var exit: Int32
        /// Words the one stderr line must contain (the culprit).
        var expect: String
        var environment: [String: String] = [:]
        /// Makes the bad input in the case's copy of the workspace; returns what to undo after the run.
        var setup: @Sendable (TemporaryDirectory) throws -> (@Sendable () -> Void)? = { _ in nil }
        /// Run through `sh -c 'ulimit -f N; exec tool …'` (a full disk by a file-size limit).
        var fileSizeLimitBlocks: Int?
        /// Run as user `nobody` (read-only files stay read-only; the tests run as root).
        var unprivileged = false
        /// The fake Binance's canned answers for this case (`base_url` of `hostile.yaml` points at it).
        var overrides: [FakeBinanceConfig.Override] = []
        var clock: FakeBinanceConfig.Clock?
    }

    static let simulated = """
        version: 1
        exchange: simulated
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: 2024-06-20, end: 2024-06-22, batch_limit: 24}
        targets:
          - symbols: [BTC/USDT, ETH/USDT]
            timeframes: [1h]
        """

    static func binance(_ baseURL: String, end: String = "2024-01-05") -> String {
        """
        version: 1
        exchange: binance
        base_url: \(baseURL)
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: 2024-01-01, end: \(end), batch_limit: 24}
        targets:
          - symbols: [BTC/USDT]
            timeframes: [1h]
        """
    }

    static let now = "1720009800000"

    /// What must not change: the ledger's coverage tables (runs and locks are the log of attempts; markets a cache)
    /// and every file but the ledger's own (compared logically; byte for byte when SQLite cannot read it).
    static func state(_ dir: TemporaryDirectory) -> (ledger: String, files: [String: String]) {
        let ledger = StateDump.ledger(dir.path("manifest.sqlite"))
        let readable = !ledger.hasPrefix("<unreadable") && ledger != "<none>"
        var kept: [String] = []
        var table = ""
        for line in ledger.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("table ") { table = String(line.dropFirst(6)) }
            if ["runs", "locks", "markets", "sqlite_sequence"].contains(table) { continue }
            // A file's stat is bookkeeping (a copied workspace has new inodes, which apply records).
            kept.append(
                String(line).replacingOccurrences(
                    of: #" mtime_ns:\S+ inode:\S+\]"#, with: "]", options: .regularExpression))
        }
        let files = StateDump.files(dir.path).filter { name, _ in
            !name.hasSuffix("-shm") && !(readable && name.hasPrefix("manifest.sqlite"))
        }
        return (kept.joined(separator: "\n"), files)
    }

    static func sqlite(_ dir: TemporaryDirectory, _ script: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); c.close()",
            dir.path("manifest.sqlite"), script,
        ]
        try process.run()
        process.waitUntilExit()
    }

    static func replaceLedger(_ dir: TemporaryDirectory, with bytes: Data) throws {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: dir.path("manifest.sqlite" + suffix))
        }
        try bytes.write(to: URL(fileURLWithPath: dir.path("manifest.sqlite")))
    }

    static func saved(_ dir: TemporaryDirectory, _ edit: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.path("saved.json")))
        var document = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        edit(&document)
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: dir.path("bad.json")))
    }

    static func editPairs(_ document: inout [String: Any], _ change: (inout [[String: Any]]) -> Void) {
        var pairs = document["pairs"] as? [[String: Any]] ?? []
        change(&pairs)
        document["pairs"] = pairs
    }

    static func editFirstTask(_ document: inout [String: Any], _ change: (inout [String: Any]) -> Void) {
        editPairs(&document) { pairs in
            var tasks = pairs[0]["tasks"] as? [[String: Any]] ?? []
            change(&tasks[0])
            pairs[0]["tasks"] = tasks
        }
    }

    /// Holds an exclusive write transaction on the ledger from another process until undone.
    static func holdLock(_ dir: TemporaryDirectory) throws -> @Sendable () -> Void {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [
            "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], timeout=1, isolation_level=None); "
                + "c.execute('BEGIN EXCLUSIVE'); print('held', flush=True); time.sleep(120)",
            dir.path("manifest.sqlite"),
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        _ = out.fileHandleForReading.availableData
        return { process.terminate() }
    }

    // MARK: The corpus

    static let flags: [Case] = [
        Case(name: "unknown flag", arguments: ["plan", "plan.yaml", "--bogus"], exit: 64, expect: "--bogus"),
        Case(
            name: "parallelism 0", arguments: ["apply", "plan.yaml", "--parallelism", "0"], exit: 64,
            expect: "--parallelism"),
        Case(
            name: "parallelism 65", arguments: ["apply", "plan.yaml", "--parallelism", "65"], exit: 64,
            expect: "--parallelism"),
        Case(
            name: "lock timeout unit", arguments: ["apply", "plan.yaml", "--lock-timeout", "5parsecs"], exit: 64,
            expect: "5parsecs"),
        Case(
            name: "lock timeout overflow", arguments: ["apply", "plan.yaml", "--lock-timeout", "99999999999999999h"],
            exit: 64,
            expect: "99999999999999999h"),
        Case(
            name: "now-ms negative", arguments: ["plan", "plan.yaml", "--now-ms", "-5"], exit: 64, expect: "--now-ms"),
        Case(
            name: "now-ms huge", arguments: ["plan", "plan.yaml", "--now-ms", "9223372036854775807"], exit: 64,
            expect: "--now-ms"),
        Case(
            name: "empty ledger path", arguments: ["plan", "plan.yaml", "--ledger", ""], exit: 64, expect: "--ledger"),
        Case(
            name: "empty landing path", arguments: ["apply", "plan.yaml", "--landing", ""], exit: 64,
            expect: "--landing"),
        Case(
            name: "verify-remote negative", arguments: ["audit", "plan.yaml", "--verify-remote", "-1"], exit: 64,
            expect: "--verify-remote"),
        Case(name: "apply without a plan", arguments: ["apply"], exit: 64, expect: "plan"),
        Case(
            name: "plan and saved plan", arguments: ["apply", "plan.yaml", "--plan-file", "saved.json"], exit: 64,
            expect: "--plan-file"),
        Case(name: "missing plan file", arguments: ["plan", "nosuch.yaml"], exit: 64, expect: "nosuch.yaml"),
        Case(
            name: "progress mode", arguments: ["apply", "plan.yaml", "--progress", "sometimes"], exit: 64,
            expect: "sometimes"),
        Case(name: "log level", arguments: ["plan", "plan.yaml", "--log-level", "chatty"], exit: 64, expect: "chatty"),
        Case(
            name: "claim limit 0",
            arguments: ["ledger", "claim", "--owner", "x", "--limit", "0", "--ledger", "manifest.sqlite"], exit: 64,
            expect: "--limit"),
        Case(
            name: "claim lease 0",
            arguments: ["ledger", "claim", "--owner", "x", "--lease", "0s", "--ledger", "manifest.sqlite"], exit: 64,
            expect: "--lease"),
        Case(
            name: "complete a non-id",
            arguments: ["ledger", "complete", "--owner", "x", "abc", "--ledger", "manifest.sqlite"], exit: 64,
            expect: "abc"),
        Case(
            name: "frozen clock on a real exchange", arguments: ["apply", "real.yaml", "--now-ms", now], exit: 64,
            expect: "--now-ms is accepted by apply only with 'exchange: simulated'"),
        Case(
            name: "out onto a directory", arguments: ["plan", "plan.yaml", "--now-ms", now, "--out", "incoming"],
            exit: 64, expect: "incoming"),
    ]

    static func run(_ environment: [String: String], expect: String) -> Case {
        var base = [
            "LANDING_DIR": "incoming", "LEDGER_PATH": "manifest.sqlite", "BINANCE_BASE_URL": "http://127.0.0.1:9",
        ]
        base.merge(environment) { $1 }
        return Case(
            name: "run "
                + environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.debugDescription)" }.joined(
                    separator: " "),
            arguments: ["run"], exit: 64, expect: expect, environment: base)
    }

    static let environment: [Case] = [
        run(["TIMEFRAME": "1h"], expect: "SYMBOLS"),
        run(["SYMBOLS": "BTC/USDT,,ETH/USDT", "TIMEFRAME": "1h"], expect: "SYMBOLS"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "2m"], expect: "2m"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "START_TS": "abc"], expect: "START_TS"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "START_TS": "99999999999999999999"], expect: "START_TS"),
        run(
            ["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "START_TS": "1704153600000", "END_TS": "1704067200000"],
            expect: "END_TS"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "BATCH_LIMIT": "5000"], expect: "BATCH_LIMIT"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "SLEEP_MS": "-1"], expect: "SLEEP_MS"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "MARKET": "options"], expect: "MARKET"),
        run(
            ["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "BINANCE_BASE_URL": "ftp://example"], expect: "BINANCE_BASE_URL"),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h", "PLAN_FILE": "plan.yaml"], expect: "PLAN_FILE"),
        run(["SYMBOLS": "BTC/USDT\n\u{1B}[31m", "TIMEFRAME": "1h"], expect: #"\n\u{1B}[31m"#),
        run(["SYMBOLS": "BTC/USDT", "TIMEFRAME": "1h,1h"], expect: "TIMEFRAME"),
    ]

    static let ledgers: [Case] = [
        Case(
            name: "corrupt ledger", arguments: ["plan", "plan.yaml", "--now-ms", now], exit: 1,
            expect: "manifest.sqlite is not a SQLite database",
            setup: { dir in
                try replaceLedger(dir, with: Data((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
                return nil
            }),
        Case(
            name: "truncated ledger", arguments: ["apply", "plan.yaml", "--now-ms", now], exit: 1,
            expect: "manifest.sqlite",
            setup: { dir in
                try sqlite(dir, "PRAGMA wal_checkpoint(TRUNCATE);")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path("manifest.sqlite")))
                try replaceLedger(dir, with: bytes.prefix(6000))
                return nil
            }),
        Case(
            name: "busy ledger", arguments: ["apply", "plan.yaml", "--now-ms", now, "--lock-timeout", "1s"], exit: 75,
            expect: "ledger manifest.sqlite is busy", setup: { dir in try holdLock(dir) }),
        Case(
            name: "busy ledger, reader", arguments: ["audit", "plan.yaml", "--now-ms", now], exit: 0, expect: "",
            setup: { dir in try holdLock(dir) }),
        Case(
            name: "locked by another apply",
            arguments: ["apply", "plan.yaml", "--now-ms", now, "--lock-timeout", "1s"], exit: 75,
            expect: "locked by nightly on ci-7",
            setup: { dir in
                try sqlite(
                    dir,
                    "INSERT INTO locks VALUES ('apply', 'nightly on ci-7', 1, 'another-host', \(Int64(Date().timeIntervalSince1970 * 1000)));"
                )
                return nil
            }),
        Case(
            name: "newer schema", arguments: ["plan", "plan.yaml", "--now-ms", now], exit: 1,
            expect: "newer backfill-tool",
            setup: { dir in
                try sqlite(dir, "UPDATE meta SET value = '99' WHERE key = 'schema_version';")
                return nil
            }),
        Case(
            name: "unknown migration", arguments: ["audit", "plan.yaml", "--now-ms", now], exit: 1, expect: "v99",
            setup: { dir in
                try sqlite(dir, "INSERT INTO grdb_migrations VALUES ('v99');")
                return nil
            }),
        Case(
            name: "foreign database", arguments: ["apply", "plan.yaml", "--now-ms", now], exit: 1,
            expect: "another program's SQLite database",
            setup: { dir in
                try replaceLedger(dir, with: Data())
                try FileManager.default.removeItem(atPath: dir.path("manifest.sqlite"))
                try sqlite(
                    dir,
                    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'a');"
                )
                return nil
            }),
        Case(
            name: "empty file", arguments: ["apply", "plan.yaml", "--now-ms", now], exit: 1, expect: "empty file",
            setup: { dir in
                try replaceLedger(dir, with: Data())
                return nil
            }),
        Case(
            name: "meta without migrations", arguments: ["plan", "plan.yaml", "--now-ms", now], exit: 1,
            expect: "grdb_migrations",
            setup: { dir in
                try replaceLedger(dir, with: Data())
                try FileManager.default.removeItem(atPath: dir.path("manifest.sqlite"))
                try sqlite(
                    dir,
                    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '1');"
                )
                return nil
            }),
        Case(
            name: "ccxt manifest", arguments: ["plan", "plan.yaml", "--now-ms", now], exit: 1, expect: "import-legacy",
            setup: { dir in
                try replaceLedger(dir, with: Data())
                try FileManager.default.removeItem(atPath: dir.path("manifest.sqlite"))
                try sqlite(dir, "CREATE TABLE manifest (id INTEGER PRIMARY KEY, sha256 TEXT, path TEXT, status TEXT);")
                return nil
            }),
        Case(
            name: "a damaged row", arguments: ["ledger", "status", "--ledger", "manifest.sqlite"], exit: 1,
            expect: "is damaged",
            setup: { dir in
                try sqlite(dir, "UPDATE watermarks SET value_ms = 'abc';")
                return nil
            }),
        Case(
            name: "a value outside the ledger's enums", arguments: ["ledger", "files", "--ledger", "manifest.sqlite"],
            exit: 1,
            expect: "unexpected value 'bogus'",
            setup: { dir in
                try sqlite(dir, "PRAGMA ignore_check_constraints = ON; UPDATE files SET source = 'bogus' WHERE id = 1;")
                return nil
            }),
        Case(
            name: "ledger is a directory", arguments: ["plan", "plan.yaml", "--now-ms", now, "--ledger", "incoming"],
            exit: 1,
            expect: "incoming: it is a directory"),
        Case(
            name: "ledger under a file",
            arguments: ["apply", "plan.yaml", "--now-ms", now, "--ledger", "plan.yaml/m.sqlite"], exit: 1,
            expect: "plan.yaml"),
        Case(
            name: "read-only ledger", arguments: ["apply", "wide.yaml", "--now-ms", now], exit: 1,
            expect: "manifest.sqlite",
            setup: { dir in
                try sqlite(dir, "PRAGMA wal_checkpoint(TRUNCATE);")
                chmod(dir.path("manifest.sqlite"), 0o444)
                return nil
            }, unprivileged: true),
    ]

    static let landing: [Case] = [
        Case(
            name: "landing is a file", arguments: ["apply", "wide.yaml", "--now-ms", now, "--landing", "plan.yaml"],
            exit: 1,
            expect: "plan.yaml is a file, not a directory"),
        Case(
            name: "a file where the exchange directory should be",
            arguments: ["apply", "wide.yaml", "--now-ms", now, "--landing", "other"],
            exit: 1, expect: "other/simulated is a file, not a directory",
            setup: { dir in
                try dir.write("", to: "other/simulated")
                return nil
            }),
        Case(
            name: "a file where a pair directory should be", arguments: ["apply", "wide.yaml", "--now-ms", now],
            exit: 1,
            expect: "ETHUSDT is a file, not a directory",
            setup: { dir in
                try FileManager.default.removeItem(atPath: dir.path("incoming/simulated/spot/ETHUSDT"))
                try dir.write("", to: "incoming/simulated/spot/ETHUSDT")
                return nil
            }),
        Case(
            name: "landing parent under a file",
            arguments: ["apply", "wide.yaml", "--now-ms", now, "--landing", "plan.yaml/x"], exit: 1,
            expect: "plan.yaml is a file, not a directory"),
        Case(
            name: "read-only landing", arguments: ["apply", "wide.yaml", "--now-ms", now], exit: 1, expect: "incoming",
            setup: { dir in
                for suffix in ["", "-wal", "-shm"] { chmod(dir.path("manifest.sqlite" + suffix), 0o666) }
                for path in (FileManager.default.subpaths(atPath: dir.path("incoming")) ?? []) {
                    chmod(dir.path("incoming/" + path), 0o555)
                }
                chmod(dir.path("incoming"), 0o555)
                return nil
            }, unprivileged: true),
        Case(
            name: "a symlink out of the landing", arguments: ["apply", "wide.yaml", "--now-ms", now], exit: 1,
            expect: "a symbolic link leads outside the landing directory",
            setup: { dir in
                try FileManager.default.createDirectory(atPath: dir.path("outside"), withIntermediateDirectories: true)
                try FileManager.default.moveItem(
                    atPath: dir.path("incoming/simulated/spot/ETHUSDT"), toPath: dir.path("outside/ETHUSDT"))
                try FileManager.default.createSymbolicLink(
                    atPath: dir.path("incoming/simulated/spot/ETHUSDT"),
                    withDestinationPath: dir.path("outside/ETHUSDT"))
                return nil
            }),
        Case(
            name: "full disk (file-size limit)", arguments: ["apply", "wide.yaml", "--now-ms", now], exit: 1,
            expect: "manifest.sqlite", fileSizeLimitBlocks: 1),
    ]

    static let savedPlans: [Case] = [
        Case(
            name: "saved plan: another id", arguments: ["apply", "--plan-file", "bad.json"], exit: 1,
            expect: "symbol_id ETHUSDT, planning gives BTCUSDT",
            setup: { dir in
                try saved(dir) { d in editFirstTask(&d) { $0["symbol_id"] = "ETHUSDT" } }
                return nil
            }),
        Case(
            name: "saved plan: a range", arguments: ["apply", "--plan-file", "bad.json"], exit: 1,
            expect: "task 1: range",
            setup: { dir in
                try saved(dir) { d in
                    editFirstTask(&d) { task in
                        var range = task["range"] as? [String: Any] ?? [:]
                        range["end_ms"] = (range["end_ms"] as? Int ?? 0) + 3_600_000
                        task["range"] = range
                    }
                }
                return nil
            }),
        Case(
            name: "saved plan: a count", arguments: ["apply", "--plan-file", "bad.json"], exit: 1, expect: "candles 7",
            setup: { dir in
                try saved(dir) { d in editFirstTask(&d) { $0["candles"] = 7 } }
                return nil
            }),
        Case(
            name: "saved plan: a path", arguments: ["apply", "--plan-file", "bad.json"], exit: 1,
            expect: "path /etc/passwd",
            setup: { dir in
                try saved(dir) { d in editFirstTask(&d) { $0["path"] = "/etc/passwd" } }
                return nil
            }),
        Case(
            name: "saved plan: not JSON", arguments: ["apply", "--plan-file", "plan.yaml"], exit: 64,
            expect: "not a saved plan"),
        Case(
            name: "saved plan: a range that is empty", arguments: ["apply", "--plan-file", "bad.json"], exit: 64,
            expect: "not a saved plan",
            setup: { dir in
                try saved(dir) { d in
                    editFirstTask(&d) { task in task["range"] = ["start_ms": 5, "end_ms": 5] }
                }
                return nil
            }),
        Case(
            name: "saved plan: a future now", arguments: ["apply", "--plan-file", "bad.json"], exit: 1,
            expect: "after the exchange's clock",
            setup: { dir in
                try saved(dir) { d in d["now_ms"] = 4_102_444_800_000 }
                return nil
            }),
        Case(
            name: "saved plan: a counter", arguments: ["apply", "--plan-file", "bad.json"], exit: 1,
            expect: "desired_candles",
            setup: { dir in
                try saved(dir) { d in editPairs(&d) { $0[0]["desired_candles"] = 1 } }
                return nil
            }),
    ]

    static let exchange: [Case] = [
        Case(
            name: "klines: wrong types", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [.init(endpoint: "klines", body: #"[[1704067200000,1,2,3,4,5,1704070799999,6,7,8,9,"0"]]"#)]),
        Case(
            name: "klines: missing fields", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [.init(endpoint: "klines", body: #"[[1704067200000,"1.0","2.0"]]"#)]),
        Case(
            name: "klines: an object", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [.init(endpoint: "klines", body: #"{"rows": []}"#)]),
        Case(
            name: "klines: a huge body", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [
                .init(
                    endpoint: "klines",
                    body:
                        #"[1704067200000,"42000.00000000","42100.00000000","41900.00000000","42050.00000000","1.00000000",1704070799999,"42000.00000000",10,"0.50000000","21000.00000000","0"]"#,
                    prefix: "[", suffix: "]", separator: ",", repeatCount: 400_000)
            ]),
        Case(
            name: "klines: open times out of range", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [
                .init(
                    endpoint: "klines",
                    body:
                        #"[[9223372036854775807,"1.0","2.0","0.5","1.5","1.0",9223372036854775807,"1.0",1,"0.5","0.5","0"]]"#
                )
            ]),
        Case(
            name: "klines: a candle outside the request", arguments: ["apply", "hostile.yaml"], exit: 75,
            expect: "klines",
            overrides: [
                .init(
                    endpoint: "klines",
                    body: #"[[946684800000,"1.0","2.0","0.5","1.5","1.0",946688399999,"1.0",1,"0.5","0.5","0"]]"#)
            ]),
        Case(
            name: "klines: prices not decimals", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "klines",
            overrides: [
                .init(
                    endpoint: "klines",
                    body: #"[[1704067200000,"1e5","2.0","0.5","1.5","1.0",1704070799999,"1.0",1,"0.5","0.5","0"]]"#)
            ]),
        Case(
            name: "time: a string", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "time",
            overrides: [.init(endpoint: "time", body: #"{"serverTime": "soon"}"#)]),
        Case(
            name: "time: far future", arguments: ["plan", "hostile.yaml"], exit: 75, expect: "clock",
            clock: .init(frozenMs: 4_102_444_800_000)),
        Case(
            name: "time: before 2017", arguments: ["plan", "hostile.yaml"], exit: 75, expect: "clock",
            clock: .init(frozenMs: 1_000)),
        Case(
            name: "absurd Retry-After", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "Retry-After",
            overrides: [
                .init(
                    endpoint: "klines", status: 429, body: #"{"code":-1003,"msg":"Too much request weight used"}"#,
                    headers: ["Retry-After": "99999999"])
            ]),
        Case(
            name: "a 418 ban", arguments: ["apply", "hostile.yaml"], exit: 75, expect: "banned",
            overrides: [
                .init(
                    endpoint: "klines", status: 418,
                    body: #"{"code":-1003,"msg":"Way too much request weight used; IP banned until 1999999999999."}"#,
                    headers: ["Retry-After": "600"])
            ]),
    ]

    /// exchangeInfo answers, on a workspace without a ledger: nothing may be created.
    static let markets: [Case] = [
        Case(
            name: "exchangeInfo: a path-like id", arguments: ["apply", "hostile.yaml"], exit: 64,
            expect: "unknown symbol 'BTC/USDT'",
            overrides: [
                .init(
                    endpoint: "exchangeInfo",
                    body:
                        #"{"timezone":"UTC","serverTime":1704067200000,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000}],"symbols":[{"symbol":"../../BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT"}]}"#
                )
            ]),
        Case(
            name: "exchangeInfo: symbols missing", arguments: ["plan", "hostile.yaml"], exit: 75,
            expect: "exchangeInfo",
            overrides: [.init(endpoint: "exchangeInfo", body: #"{"timezone":"UTC"}"#)]),
        Case(
            name: "exchangeInfo: HTML", arguments: ["plan", "hostile.yaml"], exit: 75, expect: "exchangeInfo",
            overrides: [.init(endpoint: "exchangeInfo", status: 502, body: "<html>Bad gateway</html>")]),
    ]

    // MARK: Running the corpus

    /// A workspace with a ledger and landing files: the simulated plan applied, a saved plan for a wider range.
    static func simulatedBase() async throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("corpus-base")
        try dir.write(simulated, to: "plan.yaml")
        try dir.write(simulated.replacingOccurrences(of: "end: 2024-06-22", with: "end: 2024-06-26"), to: "wide.yaml")
        try dir.write(binance("http://127.0.0.1:9"), to: "real.yaml")
        let tool = ToolRunner()
        let applied = try await tool.run(["apply", "plan.yaml", "--now-ms", now], in: dir.path)
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        let saved = try await tool.run(["plan", "wide.yaml", "--now-ms", now, "--out", "saved.json"], in: dir.path)
        #expect(saved.exitCode == 0, "\(saved.stderr)")
        // Everything in the ledger's main file: each copy then starts from the same bytes.
        try sqlite(dir, "PRAGMA wal_checkpoint(TRUNCATE);")
        return dir
    }

    static func copy(_ base: TemporaryDirectory, name: String) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("corpus")
        for item in try FileManager.default.contentsOfDirectory(atPath: base.path) {
            try FileManager.default.copyItem(atPath: base.path(item), toPath: dir.path(item))
        }
        return dir
    }

    /// Runs one case on a copy of `base`; returns how many cases ran (1).
    static func check(_ item: Case, base: TemporaryDirectory, baseURL: String? = nil) async throws {
        let dir = try copy(base, name: item.name)
        if let baseURL { try dir.write(binance(baseURL), to: "hostile.yaml") }
        let undo = try item.setup(dir)
        if item.unprivileged {
            // `nobody` must be able to reach and run the tool and the workspace.
            chmod(dir.path, 0o777)
            for path in FileManager.default.subpaths(atPath: dir.path) ?? [] where !path.hasPrefix("incoming") {
                if path != "manifest.sqlite" { chmod(dir.path(path), 0o777) }
            }
        }
        let before = state(dir)
        var tool = ToolRunner(environment: item.environment)
        var arguments = item.arguments
        if let blocks = item.fileSizeLimitBlocks {
            arguments = ["-c", "ulimit -f \(blocks); exec \"$0\" \"$@\"", tool.executable.path] + arguments
            tool.executable = URL(fileURLWithPath: "/bin/sh")
        } else if item.unprivileged {
            arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", tool.executable.path] + arguments
            tool.executable = URL(fileURLWithPath: "/usr/bin/setpriv")
        }
        let result = try await tool.run(arguments, in: dir.path)
        undo?()
        let lines = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("progress:") }
        #expect(result.exitCode == item.exit, "\(item.name): exit \(result.exitCode), \(result.stderr)")
        if item.expect.isEmpty {
            #expect(lines.isEmpty, "\(item.name): \(result.stderr)")
        } else {
            #expect(result.stdout.isEmpty, "\(item.name): stdout \(result.stdout)")
            #expect(lines.count == 1, "\(item.name): \(result.stderr)")
            #expect(
                lines.first.map { $0.hasPrefix("error: ") || $0.hasPrefix("Error: ") } == true,
                "\(item.name): \(result.stderr)")
            #expect(result.stderr.contains(item.expect), "\(item.name): \(result.stderr)")
            #expect(!result.stderr.contains("\u{1B}"), "\(item.name): raw control characters")
        }
        let after = state(dir)
        let changed = Set(after.ledger.split(separator: "\n")).symmetricDifference(before.ledger.split(separator: "\n"))
        #expect(after.ledger == before.ledger, "\(item.name): the ledger changed: \(changed.sorted().prefix(4))")
        if ProcessInfo.processInfo.environment["CORPUS_TRACE"] != nil {
            print(
                "CASE \(item.name) | exit \(result.exitCode) | \(lines.first ?? "") | lines \(lines.count) | ledger Δ \(changed.count)"
            )
        }
        #expect(
            after.files == before.files,
            "\(item.name): files changed: \(Set(after.files.map { "\($0.key)=\($0.value)" }).symmetricDifference(before.files.map { "\($0.key)=\($0.value)" }).sorted().prefix(4))"
        )
    }

    static var count: Int {
        flags.count + environment.count + ledgers.count + landing.count + savedPlans.count + exchange.count
            + markets.count
    }

    @Test func theCorpusHasAtLeastSixtyCases() {
        #expect(Self.count >= 60, "\(Self.count) cases")
    }

    @Test func flagsEnvironmentLedgersLandingAndSavedPlans() async throws {
        let base = try await Self.simulatedBase()
        for item in Self.flags + Self.environment + Self.ledgers + Self.landing + Self.savedPlans {
            try await Self.check(item, base: base)
        }
    }

    @Test func exchangeResponses() async throws {
        // A ledger made against a well-behaved fake (markets cached, 2024-01-01..03 registered); each hostile fake
        // then serves the rest of the range.
        let base = try TemporaryDirectory("corpus-exchange")
        try await withFakeBinance { server in
            try base.write(Self.binance(server.baseURL, end: "2024-01-03"), to: "plan.yaml")
            let applied = try await ToolRunner().run(["apply", "plan.yaml"], in: base.path)
            #expect(applied.exitCode == 0, "\(applied.stderr)")
        }
        try Self.sqlite(base, "PRAGMA wal_checkpoint(TRUNCATE);")
        let empty = try TemporaryDirectory("corpus-markets")
        for (cases, workspace) in [(Self.exchange, base), (Self.markets, empty)] {
            for item in cases {
                var config = FakeBinanceConfig()
                config.overrides = item.overrides
                if let clock = item.clock { config.clock = clock }
                try await withFakeBinance(config) { server in
                    try await Self.check(item, base: workspace, baseURL: server.baseURL)
                }
            }
        }
    }
}
