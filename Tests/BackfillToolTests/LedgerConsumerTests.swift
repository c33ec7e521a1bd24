import BackfillTestSupport
import FakeBinance
import Foundation
import GRDB
import Testing

@testable import BackfillEngine
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

/// The consumer side of the ledger (§6.3–6.4, issue 12): `ledger status|files|register|claim|complete|release`,
/// files other programs register, and a scheduler in another process running the documented SQL while `apply`
/// writes.
@Suite(.serialized)
struct LedgerConsumerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs
    static let hour: Int64 = 3_600_000
    let tool = ToolRunner()

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func ids(_ text: String) throws -> [Int64] {
        let files = try #require(try json(text)["files"] as? [[String: Any]])
        return files.compactMap { ($0["id"] as? NSNumber)?.int64Value }
    }

    /// A simulated demo ledger with `files` one-day files of BTC/USDT 1h from 2024-01-01.
    func simulatedLedger(_ dir: TemporaryDirectory, days: Int) async throws {
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-\(String(format: "%02d", 1 + days)), batch_limit: 24}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        let apply = try await tool.run(["apply", "plan.yaml", "--now-ms", String(Self.now)], in: dir.path)
        #expect(apply.exitCode == 0, "\(apply.stderr)")
    }

    @Test func claimCompleteReleaseAndExpiredLeases() async throws {
        let dir = try TemporaryDirectory("consumer")
        try await simulatedLedger(dir, days: 4)
        let ledger = ["--ledger", "manifest.sqlite", "--json"]
        let all = try Self.ids(try await tool.run(["ledger", "files"] + ledger, in: dir.path).stdout)
        #expect(all.count == 4)

        let a = try await tool.run(["ledger", "claim", "--owner", "a", "--limit", "2"] + ledger, in: dir.path)
        #expect(a.exitCode == 0)
        #expect(try Self.ids(a.stdout) == Array(all.prefix(2)), "oldest first")
        let b = try await tool.run(["ledger", "claim", "--owner", "b", "--lease", "1ms"] + ledger, in: dir.path)
        #expect(try Self.ids(b.stdout) == [all[2]])

        // Another owner's files are refused, all or none: nothing moved.
        let wrong = try await tool.run(
            ["ledger", "complete", String(all[0]), String(all[2]), "--owner", "b", "--ledger", "manifest.sqlite"],
            in: dir.path)
        #expect(wrong.exitCode == 1)
        #expect(
            wrong.stderr
                == "error: file \(all[0]) is leased to a, not b (its lease may have expired and been claimed again)\n")
        let done = try await tool.run(
            ["ledger", "complete", String(all[0]), String(all[1]), "--owner", "a"] + ledger, in: dir.path)
        #expect(done.exitCode == 0)
        let processed = try Self.json(done.stdout)["files"] as? [[String: Any]]
        #expect(processed?.compactMap { $0["status"] as? String } == ["processed", "processed"])

        // b's lease ran out: status counts it and changes nothing; the next claim takes the file back first.
        try await Task.sleep(for: .milliseconds(20))
        let status = try Self.json(try await tool.run(["ledger", "status"] + ledger, in: dir.path).stdout)
        let series = try #require((status["series"] as? [[String: Any]])?.first)
        #expect(series["expired_leases"] as? Int == 1)
        #expect((series["by_status"] as? [String: Int])?["processing"] == 1)
        let c = try await tool.run(["ledger", "claim", "--owner", "c", "--limit", "5"] + ledger, in: dir.path)
        #expect(try Self.ids(c.stdout) == [all[2], all[3]])
        let late = try await tool.run(
            ["ledger", "complete", String(all[2]), "--owner", "b", "--ledger", "manifest.sqlite"], in: dir.path)
        #expect(late.exitCode == 1)
        #expect(late.stderr.contains("leased to c, not b"))
        let released = try await tool.run(
            ["ledger", "release", String(all[2]), String(all[3]), "--owner", "c"] + ledger, in: dir.path)
        #expect(released.exitCode == 0)

        let opened = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let events = try await opened.writer.read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT IFNULL(from_status, '') || '>' || to_status || ':' || IFNULL(reason, '') FROM status_events WHERE file_id = ? ORDER BY id",
                arguments: [all[2]])
        }
        #expect(
            events == [
                ">downloaded:", "downloaded>processing:claimed", "processing>downloaded:lease of b expired",
                "downloaded>processing:claimed", "processing>downloaded:released",
            ])
        let text = try await tool.run(["ledger", "status", "--ledger", "manifest.sqlite"], in: dir.path)
        #expect(text.stdout.hasPrefix("simulated spot BTC/USDT 1h: 4 files (downloaded 2, processed 2), 96 candles"))
        let filtered = try await tool.run(
            ["ledger", "files", "--status", "processed", "--pair", "BTC/USDT:1h"] + ledger, in: dir.path)
        #expect(try Self.ids(filtered.stdout) == Array(all.prefix(2)))
    }

    /// Files the live ingester wrote, registered through the documented SQL and through `ledger register`: `plan`
    /// skips exactly their candles, a file with missing candles does not hide them, and after `apply` the audit is
    /// clean (the files that fill its holes are not overlaps).
    @Test func externalFilesCountForTheCandlesTheyHold() async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("external")
            let day = 24 * Self.hour
            let jan1 = CivilDate(year: 2024, month: 1, day: 1).epochMs
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-01-01, end: 2024-01-11, batch_limit: 24}
                targets:
                  - symbols: [BTC/USDT]
                    timeframes: [1h]
                """, to: "plan.yaml")
            func csv(_ hours: [Int64]) -> String {
                "timestamp,open,high,low,close,volume\n"
                    + hours.map { "\(jan1 + $0 * Self.hour),1.5,2,1,1.5,10\n" }.joined()
            }
            let a = Array((24 as Int64)..<72)  // Jan 2 – Jan 4
            let b = Array((96 as Int64)..<120)  // Jan 5
            let c = Array((168 as Int64)..<192).filter { !(173..<178).contains($0) }  // Jan 8 without 05:00–10:00
            try dir.write(csv(b), to: "incoming/live/b.csv")
            try dir.write(csv(c), to: "incoming/live/c.csv")
            let pathA = try dir.write(csv(a), to: "incoming/live/a.csv")
            let common = [
                "--symbol", "BTC/USDT", "--timeframe", "1h", "--landing", "incoming", "--ledger", "manifest.sqlite",
            ]
            let registerB = try await tool.run(["ledger", "register", "incoming/live/b.csv"] + common, in: dir.path)
            #expect(registerB.exitCode == 0, "\(registerB.stderr)")
            #expect(registerB.stdout.hasPrefix("Registered live/b.csv as file 1: BTC/USDT 1h"))
            let registerC = try await tool.run(
                ["ledger", "register", "incoming/live/c.csv", "--json"] + common, in: dir.path)
            #expect(registerC.exitCode == 0, "\(registerC.stderr)")
            let missing = try #require(try Self.json(registerC.stdout)["missing"] as? [[String: Any]])
            #expect(missing.count == 1)
            // The documented SQL, from another process.
            let bytesA = try Data(contentsOf: URL(fileURLWithPath: pathA))
            let sha = SHA256Hex.digest(bytesA)
            let script = """
                import re, sqlite3, sys
                doc = open(sys.argv[1]).read()
                sql = {b.split("\\n", 1)[0][9:].strip(): b.split("\\n", 1)[1] for b in re.findall(r"```sql\\n(.*?)```", doc, re.S)}
                db = sqlite3.connect(sys.argv[2], timeout=30, isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
                db.execute(sql["register"], dict(sha256=sys.argv[3], path="live/a.csv", symbol="BTC/USDT", symbol_id="BTCUSDT",
                    timeframe="1h", t_start=int(sys.argv[4]), t_end=int(sys.argv[5]), rows=48, bytes=int(sys.argv[6]), actor="live-ingester"))
                db.execute("COMMIT")
                """
            try dir.write(script, to: "register.py")
            let python = try Self.python(
                [
                    "register.py", Self.root.appendingPathComponent("Documentation/Ledger.md").path, "manifest.sqlite",
                    sha,
                    String(jan1 + 24 * Self.hour), String(jan1 + 72 * Self.hour), String(bytesA.count),
                ], in: dir.path)
            #expect(python.status == 0, "\(python.stderr)")

            // plan: exactly the candles none of the three holds.
            let plan = try await tool.run(["plan", "plan.yaml", "--json"], in: dir.path)
            #expect(plan.exitCode == 0, "\(plan.stderr)")
            let document = try PlanDocument.decode(Data(plan.stdout.utf8))
            let planned = RangeSet(document.pairs.flatMap { $0.tasks.map(\.range) })
            func hours(_ list: [Int64]) -> RangeSet {
                RangeSet(
                    list.map { TimeRange(uncheckedLower: jan1 + $0 * Self.hour, upper: jan1 + ($0 + 1) * Self.hour) })
            }
            let want = RangeSet([TimeRange(uncheckedLower: jan1, upper: jan1 + 10 * day)])
            #expect(planned == want.subtracting(hours(a)).subtracting(hours(b)).subtracting(hours(c)))
            #expect(planned.contains(TimeRange(uncheckedLower: jan1 + 173 * Self.hour, upper: jan1 + 178 * Self.hour)))
            // audit sees the hole too.
            let audit = try await tool.run(["audit", "plan.yaml"], in: dir.path)
            #expect(audit.exitCode == 2)
            #expect(audit.stdout.contains("[2024-01-08T05:00Z, 2024-01-08T10:00Z)"), "\(audit.stdout)")

            let apply = try await tool.run(["apply", "plan.yaml"], in: dir.path)
            #expect(apply.exitCode == 0, "\(apply.stderr)")
            let again = try await tool.run(["plan", "plan.yaml"], in: dir.path)
            #expect(again.stdout == "No changes. Coverage is complete.\n", "\(again.stdout)")
            let clean = try await tool.run(["audit", "plan.yaml"], in: dir.path)
            #expect(clean.exitCode == 0, "\(clean.stdout)")
            let status = try await tool.run(
                ["ledger", "status", "--ledger", "manifest.sqlite", "--landing", "incoming"], in: dir.path)
            #expect(status.stdout.contains(", 0 holes (0 candles)"), "\(status.stdout)")
            #expect(status.stdout.contains("watermark 2024-01-11T00:00Z"), "\(status.stdout)")
            // Registering the same file again, or one outside the landing area, or garbage, is refused.
            let twice = try await tool.run(["ledger", "register", "incoming/live/b.csv"] + common, in: dir.path)
            #expect(twice.exitCode == 1)
            #expect(twice.stderr == "error: incoming/live/b.csv is already registered (file 1)\n")
            try dir.write(csv(b), to: "elsewhere.csv")
            let outside = try await tool.run(["ledger", "register", "elsewhere.csv"] + common, in: dir.path)
            #expect(outside.exitCode == 64)
            #expect(outside.stderr.contains("is not inside the landing directory"))
            try dir.write("timestamp,open,high,low,close,volume\n5,x,1,1,1,1\n", to: "incoming/live/bad.csv")
            let bad = try await tool.run(["ledger", "register", "incoming/live/bad.csv"] + common, in: dir.path)
            #expect(bad.exitCode == 64)
            #expect(
                bad.stderr
                    == "error: incoming/live/bad.csv is not a candle CSV: line 2: a price or volume is not a number\n")
        }
    }

    /// Two schedulers in other processes claim and complete through the documented SQL while `apply` writes
    /// (issue 12 point 2): no file claimed by two at once, none lost, none left processing, no lock error.
    @Test func aPythonSchedulerClaimsWhileApplyWrites() async throws {
        let dir = try TemporaryDirectory("scheduler")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-02, batch_limit: 10}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1m]
            """, to: "plan.yaml")
        // The ledger exists before the schedulers start (the first apply creates it).
        let seed = try await tool.run(["ledger", "status", "--ledger", "manifest.sqlite"], in: dir.path)
        #expect(seed.exitCode == 1)
        _ = try Ledger.open(path: dir.path("manifest.sqlite"), create: true)
        let schedulers = try Schedulers(in: dir)
        var slow = ToolRunner()
        slow.environment["BACKFILL_TEST_STAGE_DELAY_MS"] = "2"
        let apply = try await slow.run(["apply", "plan.yaml", "--now-ms", String(Self.now)], in: dir.path)
        let outcome = try schedulers.stop()
        #expect(apply.exitCode == 0, "\(apply.stderr)")
        #expect(apply.stdout.hasPrefix("Apply complete: 288 files written (2880 candles)"), "\(apply.stdout)")
        #expect(!apply.stderr.contains("locked"))
        for (owner, errors) in outcome.errors { #expect(errors == [], "\(owner): \(errors)") }
        let ledger = try #require(try Ledger.open(path: dir.path("manifest.sqlite"), create: false))
        let statuses = try await ledger.writer.read { db in
            try String.fetchAll(db, sql: "SELECT status FROM files ORDER BY id")
        }
        #expect(statuses.count == 288)
        #expect(Set(statuses) == ["processed"], "none lost, none left processing")
        // Completed exactly once each; no two claims of one file overlap in time.
        #expect(outcome.completed.count == 288 && outcome.completed.values.allSatisfy { $0 == 1 })
        #expect(outcome.abandoned > 0)
        #expect(outcome.overlapping == 0, "a file claimed twice at once")
        let expired = try await ledger.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM status_events WHERE reason LIKE 'lease of % expired'") ?? 0
        }
        #expect(expired == outcome.abandoned)
    }

    static func python(_ arguments: [String], in directory: String) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
