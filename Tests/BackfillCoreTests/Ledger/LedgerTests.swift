import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

func sampleFile(
    _ n: Int, symbol: String = "BTC/USDT", timeframe: Timeframe = .h1, start: Int64? = nil,
    candles: Int64 = 10
) -> NewFile {
    let lower = start ?? utc(2024, 1, 1) + Int64(n) * candles * Timeframe.hourMs
    let range = TimeRange(uncheckedLower: lower, upper: lower + candles * (timeframe.fixedDurationMs ?? 1))
    let hex = String(n, radix: 16)
    return NewFile(
        sha256: String(repeating: "0", count: 64 - hex.count) + hex,
        path: LandingPath.relativePath(
            exchange: .binance, market: .spot, symbolId: symbol.replacingOccurrences(of: "/", with: ""),
            timeframe: timeframe, range: range),
        exchange: .binance, market: .spot, symbol: symbol, symbolId: symbol.replacingOccurrences(of: "/", with: ""),
        timeframe: timeframe, range: range, rows: Int(candles), bytes: 100, source: .rest)
}

struct LedgerTests {
    @Test func schemaFileAndMigrationAreIdentical() throws {
        let sql = try String(contentsOf: repositoryRoot.appendingPathComponent("schema/ledger.sql"), encoding: .utf8)
        #expect(sql == LedgerSchema.v1, "run Scripts/sync-schema.sh after editing schema/ledger.sql")
        let v2 = try String(
            contentsOf: repositoryRoot.appendingPathComponent("schema/ledger-v2.sql"), encoding: .utf8)
        #expect(v2 == LedgerSchema.v2, "run Scripts/sync-schema.sh after editing schema/ledger-v2.sql")
        let v3 = try String(
            contentsOf: repositoryRoot.appendingPathComponent("schema/ledger-v3.sql"), encoding: .utf8)
        #expect(v3 == LedgerSchema.v3, "run Scripts/sync-schema.sh after editing schema/ledger-v3.sql")
    }

    /// A process killed while it created a ledger leaves `.<name>.creating-<pid>-<n>`: removed by the next open
    /// once that process is gone (CrashLoopTests found one left over).
    @Test func leftoversOfAKilledCreationAreRemoved() throws {
        let dir = try TemporaryDirectory("ledger-leftovers")
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = ".manifest.sqlite.creating-\(gone.processIdentifier)-42"
        let alive = ".manifest.sqlite.creating-1-7"
        for name in [stale, stale + "-journal", alive] { try dir.write("x", to: name) }
        _ = try Ledger.open(path: dir.path("manifest.sqlite"), create: true)
        #expect(!FileManager.default.fileExists(atPath: dir.path(stale)))
        #expect(!FileManager.default.fileExists(atPath: dir.path(stale + "-journal")))
        #expect(FileManager.default.fileExists(atPath: dir.path(alive)), "pid 1 is alive: its file is kept")
    }

    @Test func openCreatesWALLedgerWithParentsOnlyWhenAsked() throws {
        let dir = try TemporaryDirectory("ledger")
        let path = dir.path("a/b/manifest.sqlite")
        #expect(try Ledger.open(path: path, create: false) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.path("a")))
        let ledger = try #require(try Ledger.open(path: path, create: true))
        let mode = try ledger.writer.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let fk = try ledger.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(fk == 1)
        #expect(try ledger.generation() == 0)
        let tables = try ledger.writer.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["exchange_gaps", "files", "locks", "markets", "meta", "runs", "status_events", "watermarks"] {
            #expect(tables.contains(table), "\(table)")
        }
    }

    @Test func reopeningAMigratedLedgerKeepsItsData() throws {
        let dir = try TemporaryDirectory("ledger")
        let path = dir.path("m.sqlite")
        do {
            let ledger = try #require(try Ledger.open(path: path, create: true))
            try ledger.register(sampleFile(1), actor: "test")
        }
        let again = try #require(try Ledger.open(path: path, create: false))
        #expect(try again.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files") } == 1)
        #expect(try again.generation() == 1)
    }

    @Test func aNewerLedgerIsRefused() throws {
        let dir = try TemporaryDirectory("ledger")
        let path = dir.path("m.sqlite")
        do {
            let ledger = try #require(try Ledger.open(path: path, create: true))
            try ledger.writer.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
            }
        }
        #expect(throws: LedgerError.newerSchema(path: path, unknownMigration: "v99")) {
            try Ledger.open(path: path, create: false)
        }
    }

    @Test func aCorruptLedgerIsRefusedWithAClearError() throws {
        let dir = try TemporaryDirectory("ledger")
        let path = try dir.write(String(repeating: "not a database ", count: 400), to: "m.sqlite")
        #expect(throws: LedgerError.notADatabase(path: path)) { try Ledger.open(path: path, create: false) }
    }

    /// PostgreSQL: a ledger with a migration this build does not know is refused; a database holding another
    /// program's tables is refused and left unchanged; an empty one is a ledger only when asked to create it; a
    /// wrong password is a one-line error that does not repeat it.
    @Test func postgresLedgersAreRefusedLikeSQLiteOnes() throws {
        let newer = try PostgresTestServer.makeDatabase("newer")
        defer { newer.drop() }
        do {
            let ledger = try #require(try Ledger.open(path: newer.url, create: true))
            ledger.close()
        }
        try newer.psql("INSERT INTO ledger_migrations (identifier, applied_at) VALUES ('v99', 0)")
        #expect(throws: LedgerError.newerSchema(path: LedgerLocation.redacted(newer.url), unknownMigration: "v99")) {
            try Ledger.open(path: newer.url, create: false)
        }

        let foreign = try PostgresTestServer.makeDatabase("foreign")
        defer { foreign.drop() }
        #expect(try Ledger.open(path: foreign.url, create: false) == nil, "an empty database holds no ledger")
        try foreign.psql("CREATE TABLE orders (id INT)")
        #expect(throws: LedgerError.self) { try Ledger.open(path: foreign.url, create: true) }
        #expect(try foreign.psql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == "1")

        let wrong = foreign.url.replacingOccurrences(of: "backfill-test-password", with: "not-the-password")
        do {
            _ = try Ledger.open(path: wrong, create: false)
            Issue.record("a wrong password was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains("authentication failed for user backfill (password from the URL)"), "\(message)")
            #expect(!message.contains("not-the-password"))
        }
    }

    /// Raw SQL on either backend, through the ledger's own connection (its errors are ``LedgerError``s).
    func sql(_ ledger: Ledger, _ text: String, _ arguments: [(any LedgerBindable)?] = []) throws {
        try ledger.database.write { db in _ = try db.execute(sql: text, arguments: arguments) }
    }

    func count(_ ledger: Ledger, _ query: String = "SELECT COUNT(*) FROM files") throws -> Int? {
        try ledger.database.read { db in try db.fetchOne(Int.self, sql: query) }
    }

    @Test(arguments: LedgerBackend.allCases)
    func constraintsLiveInTheSchema(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        try ledger.register(sampleFile(1), actor: "test")
        var bad: [String] = [
            // duplicate content key in one series (exchange, market, symbol, timeframe)
            "INSERT INTO files (sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('\(sampleFile(1).sha256)', 'x.csv', 'binance', 'spot', 'BTC/USDT', 'BTCUSDT', '1h', 0, 3600000)",
            // absolute and escaping paths
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('\(sampleFile(2).sha256)', '/etc/x.csv', 'A/B', 'AB', '1m', 0, 60000)",
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('\(sampleFile(2).sha256)', 'a/../../x.csv', 'A/B', 'AB', '1m', 0, 60000)",
            // empty range, bad timeframe, bad status, bad hash
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('\(sampleFile(2).sha256)', 'y.csv', 'A/B', 'AB', '1m', 60000, 60000)",
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('\(sampleFile(2).sha256)', 'y.csv', 'A/B', 'AB', '2m', 0, 60000)",
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end, status) VALUES ('\(sampleFile(2).sha256)', 'y.csv', 'A/B', 'AB', '1m', 0, 60000, 'new')",
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end) VALUES ('XYZ', 'y.csv', 'A/B', 'AB', '1m', 0, 60000)",
            // processing without a lease
            "INSERT INTO files (sha256, path, symbol, symbol_id, timeframe, t_start, t_end, status) VALUES ('\(sampleFile(2).sha256)', 'y.csv', 'A/B', 'AB', '1m', 0, 60000, 'processing')",
            // rows are never deleted, ranges never change, events are append-only
            "DELETE FROM files",
            "UPDATE files SET t_end = t_end + 1",
            "UPDATE status_events SET to_status = 'processed'",
            "DELETE FROM status_events",
            "INSERT INTO watermarks (name, value_ms) VALUES ('bogus', 1)",
        ]
        if backend == .postgresql {
            // PostgreSQL has TRUNCATE, which skips row triggers: refused by statement triggers.
            bad += ["TRUNCATE files CASCADE", "TRUNCATE status_events"]
        }
        for statement in bad {
            #expect(throws: LedgerError.self, "\(backend): \(statement)") { try sql(ledger, statement) }
        }
        #expect(try count(ledger) == 1)
        #expect(try count(ledger, "SELECT COUNT(*) FROM status_events") == 1)
        // The same content in another series is another file (§5 Duplicate content, per series).
        for (symbol, timeframe, market) in [
            ("ETH/USDT", "1h", "spot"), ("BTC/USDT", "1m", "spot"), ("BTC/USDT", "1h", "usdm"),
        ] {
            try sql(
                ledger,
                """
                INSERT INTO files (sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end)
                VALUES (?, ?, 'binance', ?, ?, 'X', ?, 0, 60000)
                """,
                [sampleFile(1).sha256, "\(symbol)-\(timeframe)-\(market).csv", market, symbol, timeframe])
        }
        #expect(try count(ledger) == 4)
    }

    /// Every (from, to) pair: allowed exactly when §6.2 allows it, through the API and through raw SQL alike, on
    /// both backends.
    @Test(arguments: LedgerBackend.allCases)
    func statusTransitions(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        var n = 0
        for from in FileStatus.allCases {
            for to in FileStatus.allCases where to != from {
                for viaSQL in [false, true] {
                    n += 1
                    let id = try ledger.register(sampleFile(n), actor: "test")
                    try moveTo(from, ledger: ledger, id: id)
                    let lease = (owner: "trainer", expiresAt: Int64(9_999_999_999_999))
                    let attempt = {
                        if viaSQL {
                            try sql(
                                ledger,
                                """
                                UPDATE files SET status = ?, lease_owner = ?, lease_expires_at = ?, updated_by = 'sql'
                                WHERE id = ?
                                """,
                                [
                                    to.rawValue, to == .processing ? "trainer" : nil,
                                    to == .processing ? lease.expiresAt : nil, id,
                                ])
                        } else {
                            try ledger.transition(
                                fileId: id, to: to, actor: "test", lease: to == .processing ? lease : nil)
                        }
                    }
                    if from.canTransition(to: to) {
                        try attempt()
                        let status = try ledger.database.read { db in
                            try db.fetchOne(String.self, sql: "SELECT status FROM files WHERE id = ?", arguments: [id])
                        }
                        #expect(status == to.rawValue)
                        let last = try ledger.database.read { db in
                            try db.fetchOne(
                                sql: """
                                    SELECT from_status, to_status FROM status_events WHERE file_id = ?
                                    ORDER BY id DESC LIMIT 1
                                    """, arguments: [id])
                        }
                        #expect(last?.value(atIndex: 0) == .text(from.rawValue))
                        #expect(last?.value(atIndex: 1) == .text(to.rawValue))
                    } else {
                        #expect(throws: (any Error).self, "\(backend): \(from) → \(to) via SQL: \(viaSQL)") {
                            try attempt()
                        }
                    }
                }
            }
        }
        #expect(
            [FileStatus.downloaded, .processing, .processed, .deleted].filter { $0.canTransition(to: .deleted) }.count
                == 3)
    }

    func moveTo(_ status: FileStatus, ledger: Ledger, id: Int64) throws {
        let lease = (owner: "trainer", expiresAt: Int64(9_999_999_999_999))
        switch status {
        case .downloaded: break
        case .processing: try ledger.transition(fileId: id, to: .processing, actor: "t", lease: lease)
        case .processed:
            try ledger.transition(fileId: id, to: .processing, actor: "t", lease: lease)
            try ledger.transition(fileId: id, to: .processed, actor: "t")
        case .deleted: try ledger.transition(fileId: id, to: .deleted, actor: "t", reason: "consumed")
        }
    }

    @Test(arguments: LedgerBackend.allCases)
    func generationCountsEveryCoverageChange(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        #expect(try ledger.generation() == 0)
        let id = try ledger.register(sampleFile(1), actor: "t")
        #expect(try ledger.generation() == 1)
        try ledger.transition(fileId: id, to: .deleted, actor: "t")
        #expect(try ledger.generation() == 2)
        try ledger.recordGap(
            exchange: .binance, market: .spot, pair: Pair(symbol: "BTC/USDT", timeframe: .h1),
            range: TimeRange(uncheckedLower: 0, upper: 3_600_000))
        #expect(try ledger.generation() == 3)
        try ledger.advanceWatermark("ingest:binance:BTC/USDT:1h", to: 100, actor: "t")
        #expect(try ledger.generation() == 4)
        // Markets cache is not coverage.
        try ledger.cacheMarkets(
            [Market(symbol: "BTC/USDT", symbolId: "BTCUSDT", market: .spot, status: "TRADING", listedAtMs: 5)],
            exchange: .binance)
        #expect(try ledger.generation() == 4)
    }

    @Test(arguments: LedgerBackend.allCases)
    func watermarksNeverMoveBackwards(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        let name = "ingest:binance:BTC/USDT:1m"
        #expect(try ledger.advanceWatermark(name, to: 1000, actor: "t") == 1000)
        #expect(try ledger.advanceWatermark(name, to: 500, actor: "t") == 1000)
        #expect(try ledger.advanceWatermark(name, to: 2000, actor: "t") == 2000)
        #expect(throws: LedgerError.self) {
            try sql(ledger, "UPDATE watermarks SET value_ms = 1 WHERE name = ?", [name])
        }
        #expect(try ledger.watermarks()[name] == 2000)
    }

    @Test(arguments: LedgerBackend.allCases)
    func marketsCacheKeepsTheFirstListingSeen(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        let btc = Market(symbol: "BTC/USDT", symbolId: "BTCUSDT", market: .spot, status: "TRADING", listedAtMs: 10)
        try ledger.cacheMarkets([btc], exchange: .binance)
        var later = btc
        later.listedAtMs = 99
        later.status = "BREAK"
        try ledger.cacheMarkets([later], exchange: .binance)
        let cached = try ledger.cachedMarkets(exchange: .binance, market: .spot)
        #expect(cached.count == 1)
        #expect(cached.first?.listedAtMs == 10)
        #expect(cached.first?.status == "BREAK")
    }

    @Test(arguments: LedgerBackend.allCases)
    func snapshotReadsCoverageGapsWatermarkAndListings(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        let pair = Pair(symbol: "BTC/USDT", timeframe: .h1)
        try ledger.register((0..<5).map { sampleFile($0) }, actor: "t")
        try ledger.register(sampleFile(99, symbol: "ETH/USDT"), actor: "t")
        try ledger.recordGap(
            exchange: .binance, market: .spot, pair: pair,
            range: TimeRange(uncheckedLower: utc(2023, 1, 1), upper: utc(2023, 1, 2)))
        try ledger.advanceWatermark("ingest:binance:BTC/USDT:1h", to: utc(2024, 1, 3, 2), actor: "t")
        let snapshot = try ledger.snapshot(exchange: .binance, market: .spot, pairs: [pair])
        let coverage = snapshot.coverage(of: pair)
        #expect(coverage.fileCount == 5)
        #expect(coverage.files.runs == [TimeRange(uncheckedLower: utc(2024, 1, 1), upper: utc(2024, 1, 3, 2))])
        #expect(coverage.gaps.runs == [TimeRange(uncheckedLower: utc(2023, 1, 1), upper: utc(2023, 1, 2))])
        #expect(coverage.watermark == utc(2024, 1, 3, 2))
        #expect(snapshot.generation == 8)
        #expect(snapshot.exists)
    }
}
