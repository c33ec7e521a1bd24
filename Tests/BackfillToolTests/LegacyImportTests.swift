import BackfillTestSupport
import FakeBinance
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// Migration from the ccxt job (issue 12 point 4): its landing area and `manifest.sqlite` are imported without
/// fetching again what is there and without claiming coverage for candles that are not there.
@Suite(.serialized)
struct LegacyImportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".venv-bench/bin/python").path
    static let peer = root.deletingLastPathComponent().appendingPathComponent("shared/bench/peer_ccxt_backfill.py").path
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs
    static let hour: Int64 = 3_600_000
    // The standard market's maintenance window 2024-02-14 02:00 → 04:30 lies inside this range: no 1h candles open
    // at 02:00 and 03:00.
    static let start = CivilDate(year: 2024, month: 2, day: 10).epochMs
    static let end = CivilDate(year: 2024, month: 2, day: 20).epochMs

    /// Fails (not skips) where the peer cannot run: `.ci/run` installs ccxt into `.venv-bench`.
    static func runPeer(baseURL: String, out: String) throws -> String {
        #expect(
            FileManager.default.isExecutableFile(atPath: python) && FileManager.default.fileExists(atPath: peer),
            "needs .venv-bench with ccxt 4.5.90 (bash .ci/run installs it) and ../shared/bench")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            peer, "--base-url", baseURL, "--symbols", "BTCUSDT", "--timeframe", "1h", "--start-ms", String(start),
            "--end-ms", String(end), "--batch-limit", "50", "--out-dir", out, "--no-ccxt-throttle",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return String(decoding: data, as: UTF8.self)
    }

    /// The open times in one of the old job's files.
    static func openTimes(_ path: String) throws -> [Int64] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").dropFirst().compactMap { Int64($0.split(separator: ",")[0]) }
    }

    @Test func theCcxtJobsFilesAndStatusesAreImportedAndOnlyTheMissingRangesPlanned() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("legacy")
            let landing = dir.path("incoming")
            let summary = try Self.runPeer(baseURL: server.baseURL, out: landing)
            // 240 hours less the two 1h candles that open inside the window (04:00 opens in it and is there).
            #expect(summary.contains("\"candles\": 238"), "\(summary)")
            let names = try FileManager.default.contentsOfDirectory(atPath: landing).filter { $0.hasSuffix(".csv") }
                .sorted()
            #expect(names.count == 5)
            // A page the old job lost: its third file is gone from disk (its manifest row stays).
            let lost = names[2]
            let lostTimes = try Self.openTimes(landing + "/" + lost)
            try FileManager.default.removeItem(atPath: landing + "/" + lost)
            // The old job's status for one file, as its scheduler would have left it.
            let manifest = landing + "/manifest.sqlite"
            let queue = try DatabaseQueue(path: manifest)
            try await queue.write { db in
                try db.execute(sql: "UPDATE manifest SET status = 'processed' WHERE path = ?", arguments: [names[0]])
            }
            try queue.close()
            let before = try dir.inventory().filter { $0.key.hasPrefix("incoming/") }
            // Every candle the remaining files hold, from their rows.
            var held = RangeSet()
            for name in names where name != lost {
                for t in try Self.openTimes(landing + "/" + name) {
                    held.insert(TimeRange(uncheckedLower: t, upper: t + Self.hour))
                }
            }

            let ledgerArgs = ["--ledger", "state/manifest.sqlite", "--landing", "incoming"]
            let importRun = try await ToolRunner().run(
                ["ledger", "import-legacy", "incoming/manifest.sqlite", "--base-url", server.baseURL] + ledgerArgs,
                in: dir.path)
            #expect(importRun.exitCode == 0, "\(importRun.stderr)")
            #expect(
                importRun.stdout.hasPrefix(
                    "Imported 4 files (0 already registered, 1 not imported); 2 candles inside them are missing"),
                "\(importRun.stdout)")
            #expect(importRun.stdout.contains("not imported: \(lost) (old id 3): the file is gone"))
            // The old files and the old manifest are as they were.
            #expect(try dir.inventory().filter { $0.key.hasPrefix("incoming/") } == before)

            let files = try await ToolRunner().run(
                ["ledger", "files", "--json", "--ledger", "state/manifest.sqlite"], in: dir.path)
            let rows = try #require(
                (try JSONSerialization.jsonObject(with: Data(files.stdout.utf8)) as? [String: Any])?["files"]
                    as? [[String: Any]])
            #expect(rows.compactMap { $0["path"] as? String } == names.filter { $0 != lost })
            #expect(
                rows.compactMap { $0["status"] as? String } == ["processed", "downloaded", "downloaded", "downloaded"])
            #expect(Set(rows.compactMap { $0["source"] as? String }) == ["external"])

            // plan lists exactly what is not there: the lost page and the maintenance window inside a file.
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: state/manifest.sqlite
                defaults: {start: 2024-02-10, end: 2024-02-20}
                targets:
                  - symbols: [BTC/USDT]
                    timeframes: [1h]
                """, to: "plan.yaml")
            let plan = try await ToolRunner().run(["plan", "plan.yaml", "--json"], in: dir.path)
            #expect(plan.exitCode == 0, "\(plan.stderr)")
            let document = try PlanDocument.decode(Data(plan.stdout.utf8))
            let planned = RangeSet(document.pairs.flatMap { $0.tasks.map(\.range) })
            let want = RangeSet([TimeRange(uncheckedLower: Self.start, upper: Self.end)])
            #expect(planned == want.subtracting(held))
            let lostRange = TimeRange(uncheckedLower: lostTimes[0], upper: lostTimes[lostTimes.count - 1] + Self.hour)
            let window = TimeRange(
                uncheckedLower: CivilDate(year: 2024, month: 2, day: 14, hour: 2).epochMs,
                upper: CivilDate(year: 2024, month: 2, day: 14, hour: 4).epochMs)
            #expect(planned == RangeSet([lostRange, window]))

            // Imported again: nothing changes. Applied: the lost page is fetched, the window confirmed as a gap.
            let again = try await ToolRunner().run(
                ["ledger", "import-legacy", "incoming/manifest.sqlite", "--base-url", server.baseURL] + ledgerArgs,
                in: dir.path)
            #expect(
                again.stdout.hasPrefix("Imported 0 files (4 already registered, 1 not imported)"), "\(again.stdout)")
            let apply = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(apply.exitCode == 0, "\(apply.stderr)")
            #expect(apply.stdout.hasPrefix("Apply complete: 1 files written (50 candles)"), "\(apply.stdout)")
            let after = try await ToolRunner().run(["plan", "plan.yaml"], in: dir.path)
            #expect(after.stdout == "No changes. Coverage is complete.\n", "\(after.stdout)")
            let status = try await ToolRunner().run(
                ["ledger", "status", "--ledger", "state/manifest.sqlite", "--landing", "incoming"], in: dir.path)
            #expect(status.stdout.contains("0 holes (0 candles), 1 exchange gaps (2 candles)"), "\(status.stdout)")
            let deep = try await ToolRunner().run(["audit", "plan.yaml", "--deep"], in: dir.path)
            #expect(deep.exitCode == 0, "\(deep.stdout)\(deep.stderr)")
        }
    }

    @Test func anUnknownOldStatusRefusesTheImportUntilMapped() async throws {
        let dir = try TemporaryDirectory("legacy-status")
        let queue = try DatabaseQueue(
            path: dir.path("old/manifest.sqlite").replacingOccurrences(of: "/old/", with: "/"))
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE manifest (id INTEGER PRIMARY KEY, sha256 TEXT, path TEXT, symbol TEXT, timeframe TEXT,
                                           t_start INTEGER, t_end INTEGER, rows INTEGER, status TEXT, created_at INTEGER);
                    INSERT INTO manifest VALUES (1, 'x', 'BTCUSDT__1h__0_0.csv', 'BTCUSDT', '1h', 0, 0, 1, 'archived', 0);
                    """)
        }
        try queue.close()
        let before = try dir.inventory()
        let run = try await ToolRunner().run(
            ["ledger", "import-legacy", "manifest.sqlite", "--ledger", "new.sqlite", "--landing", "."], in: dir.path)
        #expect(run.exitCode == 64)
        #expect(
            run.stderr
                == "error: the old manifest has statuses this import does not know: 'archived'; map them with --status-map OLD=downloaded|processed|deleted\n"
        )
        let same = try await ToolRunner().run(
            ["ledger", "import-legacy", "manifest.sqlite", "--ledger", "manifest.sqlite", "--landing", "."],
            in: dir.path)
        #expect(same.exitCode == 64)
        #expect(same.stderr.contains("--ledger is the old manifest itself"))
        #expect(try dir.inventory() == before, "nothing created, the old manifest untouched")
    }
}
