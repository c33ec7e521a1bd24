import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// `audit` (§7): one test per finding kind, each creating the situation on a real landing area and ledger.
struct AuditorTests {
    static let now = utc(2024, 7, 3, 12, 30)

    /// A landing area and ledger filled by a real `apply` of BTC/USDT 5m over ten days (4 files on the chunk grid).
    struct Fixture {
        let dir: TemporaryDirectory
        let loaded: LoadedPlan
        let plan: Plan
        let ledger: Ledger
        let landing: LandingArea

        init(end: String = "2024-02-20") async throws {
            dir = try TemporaryDirectory("audit")
            loaded = try Self.load(dir, end: end)
            let (plan, _) = try await ApplySession(
                loaded: loaded, frozenNowMs: AuditorTests.now, parallelism: 2, apiKey: nil
            ).run(dryRun: false)
            self.plan = plan
            ledger = try #require(try Ledger.open(path: loaded.file.ledger, create: false))
            landing = LandingArea(path: dir.path("incoming"))
        }

        static func load(_ dir: TemporaryDirectory, end: String) throws -> LoadedPlan {
            let path = try dir.write(
                """
                version: 1
                exchange: simulated
                landing: \(dir.path("incoming"))
                ledger: \(dir.path("manifest.sqlite"))
                defaults: {start: 2024-02-10, end: \(end)}
                targets:
                  - symbols: [BTC/USDT]
                    timeframes: [5m]
                """, to: "plan.yaml")
            return try LoadedPlan.load(path: path, environment: [:])
        }

        func audit(deep: Bool = false, verifyRemote: Int = 0, end: String = "2024-02-20") async throws -> AuditReport {
            var session = AuditSession(
                loaded: try Self.load(dir, end: end), frozenNowMs: AuditorTests.now, apiKey: nil)
            session.deep = deep
            session.verifyRemote = verifyRemote
            return try await session.run()
        }

        /// `apply` over the same plan: repairs what it repairs, fetches what is missing.
        func apply(end: String = "2024-02-20") async throws -> ApplySummary {
            let (_, summary) = try await ApplySession(
                loaded: try Self.load(dir, end: end), frozenNowMs: AuditorTests.now, parallelism: 2, apiKey: nil
            ).run(dryRun: false)
            return try #require(summary)
        }

        var paths: [String] { plan.tasks.map(\.path) }

        /// Writes `bytes` under the canonical name of `range` and registers them as another program would.
        @discardableResult
        func registerExternal(_ bytes: [UInt8], range: TimeRange, rows: Int) throws -> String {
            let path = "simulated/spot/BTCUSDT/5m/BTCUSDT__5m__\(range.lowerBound)_\(range.upperBound).csv"
            try Data(bytes).write(to: url(path))
            try ledger.register(
                NewFile(
                    sha256: SHA256Hex.digest(bytes), path: path, exchange: .simulated, market: .spot,
                    symbol: "BTC/USDT", symbolId: "BTCUSDT", timeframe: .m5, range: range, rows: rows,
                    bytes: bytes.count, source: .external),
                actor: "another writer")
            return path
        }

        func url(_ path: String) -> URL { URL(fileURLWithPath: dir.path("incoming/" + path)) }

        func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: url(path))) }
    }

    func kinds(_ report: AuditReport) -> [Finding.Kind] { report.findings.map(\.kind) }

    @Test func anApplyedLandingAreaIsCleanAndAuditChangesNothing() async throws {
        let fixture = try await Fixture()
        #expect(fixture.paths.count == 4)
        let before = try fixture.ledger.generation()
        for deep in [false, true] {
            let report = try await fixture.audit(deep: deep, verifyRemote: deep ? 3 : 0)
            #expect(report.findings.isEmpty, "\(report.text)")
            #expect(report.isClean && report.files == 4)
            #expect(report.text.hasPrefix("Audit clean: 4 registered files, 1 planned pairs"))
        }
        #expect(try fixture.ledger.generation() == before)
    }

    @Test func gapIsADesiredRangeNotCovered() async throws {
        let fixture = try await Fixture()
        let report = try await fixture.audit(end: "2024-02-25")
        #expect(kinds(report) == [.gap])
        #expect(report.findings.first?.range?.upperBound == utc(2024, 2, 25))
        #expect(report.findings.first?.detail.contains("candles not covered") == true)
        #expect(try await fixture.apply(end: "2024-02-25").filesWritten > 0)
        #expect(try await fixture.audit(end: "2024-02-25").findings.isEmpty)
    }

    @Test func missingFileIsARegisteredDownloadedFileAbsentOnDisk() async throws {
        let fixture = try await Fixture()
        let original = try fixture.bytes(fixture.paths[1])
        try FileManager.default.removeItem(at: fixture.url(fixture.paths[1]))
        let report = try await fixture.audit()
        #expect(kinds(report) == [.missingFile])
        #expect(report.findings.first?.path == fixture.paths[1])
        #expect(!report.isClean)
        // apply fetches it again: the same bytes, the same row.
        let summary = try await fixture.apply()
        #expect(summary.driftRepaired == 1 && summary.requests == 1 && summary.filesWritten == 0)
        #expect(try fixture.bytes(fixture.paths[1]) == original)
        #expect(try fixture.ledger.fileCount() == 4)
        #expect(try await fixture.audit(deep: true).findings.isEmpty)
    }

    @Test func modifiedFileBySizeByTimeOrByContentWithDeep() async throws {
        let fixture = try await Fixture()
        let originals = try fixture.paths.map(fixture.bytes)
        func flip(_ path: String, modified: Date) throws {
            var bytes = try fixture.bytes(path)
            let index = bytes.count - 3
            bytes[index] = bytes[index] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
            try Data(bytes).write(to: fixture.url(path))
            try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: fixture.url(path).path)
        }
        // Same size, and a modification time put back before the registration (`touch -r`).
        try flip(fixture.paths[0], modified: Date(timeIntervalSinceNow: -3600))
        // Same size, edited after its registration.
        try flip(fixture.paths[1], modified: Date(timeIntervalSinceNow: 3600))
        // Truncated: another size.
        try Data(originals[2].prefix(100)).write(to: fixture.url(fixture.paths[2]))
        // audit without --deep checks presence only (its budget: a million files in 2 s)...
        #expect(try await fixture.audit().isClean)
        // ...--deep hashes everything.
        let deep = try await fixture.audit(deep: true)
        #expect(kinds(deep) == [.modifiedFile, .modifiedFile, .modifiedFile])
        #expect(deep.findings.map(\.path) == Array(fixture.paths.prefix(3)))
        #expect(deep.findings[0].detail.contains("SHA-256") && deep.findings[1].detail.contains("SHA-256"))
        #expect(deep.findings[2].detail.hasPrefix("100 bytes on disk"))
        // apply compares each file's size, mtime (ns) and inode with its row and hashes any that differ: all three
        // are rewritten from the exchange, whichever way their time was moved.
        let summary = try await fixture.apply()
        #expect(summary.driftRepaired == 3)
        for index in 0..<3 { #expect(try fixture.bytes(fixture.paths[index]) == originals[index]) }
        #expect(try await fixture.audit(deep: true).findings.isEmpty)
        // The one edit a stat cannot see: in place (same inode, same size) with the mtime set back to the very
        // nanosecond. Only --deep finds it; apply leaves it (documented in Documentation/Apply.md).
        let url = fixture.url(fixture.paths[3])
        let before = try #require(FileTimes.stat(url.path))
        let handle = try FileHandle(forUpdating: url)
        var bytes = try fixture.bytes(fixture.paths[3])
        bytes[bytes.count - 3] = bytes[bytes.count - 3] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
        try FileTimes.setModified(url.path, ns: before.modifiedNs)
        #expect(FileTimes.stat(url.path)?.modifiedNs == before.modifiedNs)
        #expect(try await fixture.apply().driftRepaired == 0)
        #expect(try await fixture.audit(deep: true).findings.map(\.path) == [fixture.paths[3]])
    }

    @Test func duplicateFileIsAnUnregisteredCopyOfRegisteredBytes() async throws {
        let fixture = try await Fixture()
        let copy = fixture.paths[0].replacingOccurrences(of: "__1707", with: "__1607")
        try Data(try fixture.bytes(fixture.paths[0])).write(to: fixture.url(copy))
        let report = try await fixture.audit()
        #expect(kinds(report) == [.duplicateFile])
        #expect(report.findings.first?.path == copy)
        #expect(report.findings.first?.detail.contains(fixture.paths[0]) == true)
        #expect(try await fixture.apply().driftRepaired == 1)
        #expect(!FileManager.default.fileExists(atPath: fixture.url(copy).path))
        #expect(try await fixture.audit(deep: true).findings.isEmpty)
    }

    @Test func orphanFilesAreValidForTheirNameOrNot() async throws {
        let fixture = try await Fixture()
        // A valid file for a range the ledger does not have (written by hand, or by a run whose ledger was lost).
        let range = TimeRange(uncheckedLower: utc(2024, 3, 1), upper: utc(2024, 3, 2))
        let exchange = SimulatedExchange()
        let instrument = try #require(exchange.instrument(.spot, symbolId: "BTCUSDT"))
        let rows = exchange.klines(
            instrument, .m5, startTime: range.lowerBound, endTime: range.upperBound - 1, limit: 1000,
            serverTime: Self.now)
        let valid = "binance/spot/BTCUSDT/5m/BTCUSDT__5m__\(range.lowerBound)_\(range.upperBound).csv"
            .replacingOccurrences(of: "binance/", with: "simulated/")
        try Data(CSVFormat.render(rows, columns: .basic)).write(to: fixture.url(valid))
        let invalid = "simulated/spot/BTCUSDT/5m/BTCUSDT__5m__1709337600000_1709424000000.csv"
        try Data("timestamp,open,high,low,close,volume\n1709337600000,1,2,0.5,1.5,-3\n".utf8).write(
            to: fixture.url(invalid))
        // Not named like ours: none of audit's business.
        try Data("notes".utf8).write(to: fixture.url("simulated/spot/BTCUSDT/5m/README.txt"))
        let report = try await fixture.audit()
        #expect(kinds(report) == [.orphanFile, .orphanFile])
        let byPath = Dictionary(uniqueKeysWithValues: report.findings.map { ($0.path ?? "", $0.detail) })
        #expect(byPath[valid]?.contains("valid for its name (288 candles): apply adopts it") == true)
        #expect(byPath[invalid]?.contains("not valid for its name") == true)
        // apply adopts the valid one (no request) and leaves the invalid one, reported, to the user.
        let summary = try await fixture.apply()
        #expect(summary.adopted == 1 && summary.requests == 0)
        #expect(try fixture.ledger.fileCount() == 5)
        let after = try await fixture.audit(deep: true)
        #expect(after.findings.map(\.path) == [invalid])
    }

    @Test func strayPartialIsALeftoverOfAnInterruptedWrite() async throws {
        let fixture = try await Fixture()
        let partial = "simulated/spot/BTCUSDT/5m/.BTCUSDT__5m__1_2.csv.partial"
        try Data("timestamp".utf8).write(to: fixture.url(partial))
        let report = try await fixture.audit()
        #expect(kinds(report) == [.strayPartial])
        #expect(report.findings.first?.path == partial)
        #expect(try await fixture.apply().driftRepaired == 1)
        #expect(try await fixture.audit().findings.isEmpty)
    }

    @Test func overlapIsACandleCoveredByTwoRegisteredFiles() async throws {
        let fixture = try await Fixture()
        let task = try #require(fixture.plan.tasks.first)
        // Another writer registered its own file over the first half of ours.
        let half = TimeRange(
            uncheckedLower: task.range.lowerBound, upper: task.range.lowerBound + 100 * Timeframe.m5.nominalDurationMs)
        // Its range claims 100 candles, it holds 30: those 30 are what two files cover.
        let lines = try fixture.bytes(task.path).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let bytes = Array(lines.prefix(31).joined(separator: [UInt8(ascii: "\n")])) + [UInt8(ascii: "\n")]
        let path = try fixture.registerExternal(bytes, range: half, rows: 30)
        let report = try await fixture.audit()
        #expect(kinds(report) == [.overlap])
        #expect(report.findings.first?.detail.contains(path) == true || report.findings.first?.path == path)
        #expect(
            report.findings.first?.range
                == TimeRange(
                    uncheckedLower: task.range.lowerBound,
                    upper: task.range.lowerBound + 30 * Timeframe.m5.nominalDurationMs))
        #expect(report.findings.first?.detail.contains("double-train") == true)
        // Reported only: apply leaves both files and rows.
        #expect(try await fixture.apply().driftRepaired == 0)
        #expect(try await fixture.audit() == report)
    }

    @Test func invalidCandlesAreReportedWithTheRowAndTheRule() async throws {
        let fixture = try await Fixture()
        let range = TimeRange(uncheckedLower: utc(2024, 3, 1), upper: utc(2024, 3, 1) + 4 * 300_000)
        let text =
            "timestamp,open,high,low,close,volume\n" + "1709251200000,10,12,9,11,1\n"  // fine
            + "1709251500000,10,12,10.5,11,1\n"  // low above open
            + "1709251500000,10,12,9,11,1\n"  // same timestamp again
            + "1709251860000,10,12,9,11,-0.5\n"  // off the 5m grid, negative volume
        let bytes = Array(text.utf8)
        let path = try fixture.registerExternal(bytes, range: range, rows: 4)
        #expect(try await fixture.audit().isClean, "content is read with --deep only")
        let report = try await fixture.audit(deep: true)
        #expect(kinds(report) == [.invalidCandles])
        let detail = try #require(report.findings.first?.detail)
        #expect(detail.contains("line 3 price_range: low 10.5 ≤ open 10, close 11 ≤ high 12 broken"))
        #expect(detail.contains("line 4 duplicate_timestamp"))
        #expect(detail.contains("line 5 off_grid"))
        #expect(detail.contains("1 more"), "the negative volume is counted")
        let rules = CandleCheck.violations(in: bytes, grid: Timeframe.m5.grid(listedAtMs: nil), range: range).map(
            \.rule)
        #expect(rules == [.priceRange, .duplicateTimestamp, .offGrid, .negativeVolume])
        // Reported only: never dropped, never rewritten.
        #expect(try await fixture.apply().driftRepaired == 0)
        #expect(try fixture.bytes(path) == bytes)
        #expect(try await fixture.audit(deep: true) == report)
    }

    @Test func candleRulesOneByOne() {
        func rules(_ rows: String, timeframe: Timeframe? = .m1) -> [CandleCheck.Rule] {
            CandleCheck.violations(
                in: Array(("timestamp,open,high,low,close,volume\n" + rows).utf8),
                grid: timeframe?.grid(listedAtMs: nil),
                range: TimeRange(uncheckedLower: 0, upper: 600_000)
            ).map(\.rule)
        }
        #expect(rules("0,1.5,2,1,1.99999,0\n60000,2,2,2,2,0.000\n") == [])
        #expect(rules("0,1,2,1,2.00000001,1\n") == [.priceRange])
        #expect(rules("0,0.9,2,1,1.5,1\n") == [.priceRange])
        #expect(rules("0,1,2,1,1,-1\n") == [.negativeVolume])
        #expect(rules("0,1,2,1,1,-0.000\n") == [], "minus zero is not negative")
        #expect(rules("60000,1,2,1,1,1\n0,1,2,1,1,1\n") == [.unsorted])
        #expect(rules("0,1,2,1,1,1\n0,1,2,1,1,1\n") == [.duplicateTimestamp])
        #expect(rules("30000,1,2,1,1,1\n") == [.offGrid])
        #expect(rules("30000,1,2,1,1,1\n", timeframe: nil) == [])
        #expect(rules("600000,1,2,1,1,1\n") == [.outsideRange])
        #expect(rules("0,1,2,1,1\n") == [.malformed])
        #expect(rules("0,1,2,1,1,1e3\n") == [.malformed])
        #expect(
            CandleCheck.violations(in: Array("time,o\n".utf8), grid: nil, range: nil).map(\.rule) == [.header])
        #expect(DecimalText.compare("10", "9.99") == 1)
        #expect(DecimalText.compare("0010.50", "10.5") == 0)
        #expect(DecimalText.compare("-2", "-10") == 1)
        #expect(DecimalText.compare("0.45", "0.5") == -1)
    }

    @Test func watermarkAheadOfContiguousCoverageIsReported() async throws {
        let fixture = try await Fixture()
        try await fixture.ledger.writer.write { db in
            try db.execute(
                sql: "UPDATE watermarks SET value_ms = ? WHERE name = 'ingest:simulated:BTC/USDT:5m'",
                arguments: [utc(2024, 3, 1)])
        }
        let report = try await fixture.audit()
        #expect(kinds(report) == [.watermark])
        #expect(report.findings.first?.detail.contains("ahead of the contiguous coverage") == true)
        // Never moved backwards.
        #expect(try await fixture.apply().driftRepaired == 0)
        #expect(try await fixture.audit() == report)
    }

    @Test func watermarkMissingOrBehindIsMovedForward() async throws {
        let fixture = try await Fixture()
        try await fixture.ledger.writer.write { db in
            try db.execute(sql: "DELETE FROM watermarks WHERE name = 'ingest:simulated:BTC/USDT:5m'")
        }
        let report = try await fixture.audit()
        #expect(kinds(report) == [.watermark])
        #expect(
            report.findings.first?.detail.contains("is missing; coverage is contiguous to \(utc(2024, 2, 20))") == true)
        #expect(try await fixture.apply().driftRepaired == 1)
        #expect(try await fixture.audit().findings.isEmpty)
        let value = try await fixture.ledger.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT value_ms FROM watermarks WHERE name = 'ingest:simulated:BTC/USDT:5m'")
        }
        #expect(value == utc(2024, 2, 20))
    }

    @Test func exchangeGapsAreInformationAndKeepTheAuditClean() async throws {
        let fixture = try await Fixture()
        // As apply records one: the gap and the watermark over it, in one transaction.
        try fixture.ledger.commitGap(
            exchange: .simulated, market: .spot, pair: Pair(symbol: "BTC/USDT", timeframe: .m5),
            range: TimeRange(uncheckedLower: utc(2024, 2, 20), upper: utc(2024, 2, 21)),
            watermark: ("ingest:simulated:BTC/USDT:5m", utc(2024, 2, 21)), actor: "test")
        let report = try await fixture.audit(end: "2024-02-21")
        #expect(kinds(report) == [.exchangeGap])
        #expect(report.isClean)
        #expect(report.text.contains("(1 confirmed exchange gaps)"))
    }

    @Test func remoteChangedIsAFileTheExchangeNoLongerAgreesWith() async throws {
        let fixture = try await Fixture()
        // Another writer registered a file whose bytes are whole and valid, with its own hash, but one volume differs
        // from what the exchange answers: only a re-fetch can tell.
        let range = TimeRange(uncheckedLower: utc(2024, 3, 1), upper: utc(2024, 3, 1) + 4 * 300_000)
        let exchange = SimulatedExchange()
        let instrument = try #require(exchange.instrument(.spot, symbolId: "BTCUSDT"))
        var rows = exchange.klines(
            instrument, .m5, startTime: range.lowerBound, endTime: range.upperBound - 1, limit: 4,
            serverTime: Self.now)
        rows[1].volume = "0.00000001"
        let bytes = CSVFormat.render(rows, columns: .basic)
        let path = try fixture.registerExternal(bytes, range: range, rows: 4)
        #expect(try await fixture.audit(deep: true).isClean)
        let report = try await fixture.audit(verifyRemote: 10)
        #expect(report.verified == 5)
        #expect(kinds(report) == [.remoteChanged])
        #expect(report.findings.first?.path == path)
        // Reported only: apply does not rewrite a registered file the exchange disagrees with.
        #expect(try await fixture.apply().driftRepaired == 0)
        #expect(try fixture.bytes(path) == bytes)
    }
}
