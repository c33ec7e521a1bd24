import BackfillTestSupport
import FakeBinance
import Foundation
import GRDB
import Testing

@testable import BackfillLedger
@testable import BackfillModel

/// Issue 13 point 10 (§5 Change detection): the ledger records each file's size, mtime (ns) and inode; `apply`
/// hashes every file whose stat differs in any way — no tolerance window after registration.
@Suite(.serialized)
struct ChangeDetectionTests {
    static let now = "1709251200000"
    static let plan = """
        version: 1
        exchange: simulated
        landing: incoming
        ledger: manifest.sqlite
        defaults: {start: 2024-01-01, end: 2024-01-03, batch_limit: 24}
        targets:
          - symbols: [BTC/USDT]
            timeframes: [1h]
        """
    static let directory = "incoming/simulated/spot/BTCUSDT/1h"

    func stats(_ dir: TemporaryDirectory) throws -> [String: (mtimeNs: Int64?, inode: Int64?)] {
        let queue = try DatabaseQueue(path: dir.path("manifest.sqlite"))
        defer { try? queue.close() }
        return try queue.read { db in
            var out: [String: (Int64?, Int64?)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT path, mtime_ns, inode FROM files") {
                out[row[0]] = (row[1], row[2])
            }
            return out
        }
    }

    func statOf(_ path: String) -> (mtimeNs: Int64, inode: Int64) {
        let found = FileTimes.stat(path)
        return (found?.modifiedNs ?? -1, Int64(bitPattern: found?.inode ?? 0))
    }

    /// Sets a file's modification time to `ns` exactly.
    func setModified(_ path: String, ns: Int64) throws { try FileTimes.setModified(path, ns: ns) }

    /// The same bytes with one price digit changed: same size.
    static func edited(_ bytes: Data) -> Data {
        var bytes = bytes
        let lineStart = (bytes.firstIndex(of: 0x0A) ?? 0) + 1
        // The second field of the first row (the open price) starts after the first comma of the row.
        let comma = bytes[lineStart...].firstIndex(of: 0x2C) ?? lineStart
        let digit = comma + 1
        bytes[digit] = bytes[digit] == 0x31 ? 0x32 : 0x31
        return bytes
    }

    @Test func editsRightAfterRegistrationAndReplacementsWithTheOldMtimeAreRepaired() async throws {
        let dir = try TemporaryDirectory("change-detection")
        try dir.write(Self.plan, to: "plan.yaml")
        let tool = ToolRunner()
        let first = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(first.exitCode == 0, "\(first.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path(Self.directory)).sorted()
        #expect(names.count == 2)
        let paths = names.map { dir.path(Self.directory + "/" + $0) }
        let originals = try paths.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        // Registered with the stat the file has on disk.
        let registered = try stats(dir)
        for (name, path) in zip(names, paths) {
            let row = registered["simulated/spot/BTCUSDT/1h/" + name]
            #expect(row?.mtimeNs == statOf(path).mtimeNs && row?.inode == statOf(path).inode, "\(name)")
        }

        // 1. Edited in place at once (same size, same inode, a few ms after registration).
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: paths[0]))
        try handle.write(contentsOf: Self.edited(originals[0]))
        try handle.close()
        // 2. Replaced by a different file of the same size whose mtime is set back to the registered one: only the
        //    inode tells.
        let replacement = paths[1] + ".tmp"
        try Self.edited(originals[1]).write(to: URL(fileURLWithPath: replacement))
        #expect(rename(replacement, paths[1]) == 0)
        try setModified(paths[1], ns: registered["simulated/spot/BTCUSDT/1h/" + names[1]]?.mtimeNs ?? 0)
        #expect(statOf(paths[1]).mtimeNs == registered["simulated/spot/BTCUSDT/1h/" + names[1]]?.mtimeNs)

        let repair = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        #expect(repair.exitCode == 0, "\(repair.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(repair.stdout.utf8)) as? [String: Any]
        #expect((summary?["summary"] as? [String: Any])?["drift_repaired"] as? Int == 2, "\(repair.stdout)")
        for (path, original) in zip(paths, originals) {
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == original)
        }
        // The restored files' stats are recorded: the next apply hashes nothing and repairs nothing.
        let after = try stats(dir)
        for (name, path) in zip(names, paths) {
            let row = after["simulated/spot/BTCUSDT/1h/" + name]
            #expect(row?.mtimeNs == statOf(path).mtimeNs && row?.inode == statOf(path).inode, "\(name)")
        }
        let again = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        let again2 = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect((again2?["summary"] as? [String: Any])?["drift_repaired"] as? Int == 0, "\(again.stdout)")

        // 3. A copy put back with the same bytes (a backup restore: new inode, new mtime): no repair, and its new
        //    stat is recorded so it is hashed once, not on every run.
        try originals[0].write(to: URL(fileURLWithPath: replacement))
        #expect(rename(replacement, paths[0]) == 0)
        let copied = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        let copied2 = try JSONSerialization.jsonObject(with: Data(copied.stdout.utf8)) as? [String: Any]
        #expect((copied2?["summary"] as? [String: Any])?["drift_repaired"] as? Int == 0, "\(copied.stdout)")
        let learnt = try stats(dir)["simulated/spot/BTCUSDT/1h/" + names[0]]
        #expect(learnt?.inode == statOf(paths[0]).inode && learnt?.mtimeNs == statOf(paths[0]).mtimeNs)
        let audit = try await tool.run(["audit", "plan.yaml", "--now-ms", Self.now, "--deep"], in: dir.path)
        #expect(audit.exitCode == 0, "\(audit.stdout)")
    }

    /// A ledger of schema v2 is migrated to v3 in place: every row, id and status event kept, the stat columns
    /// empty until apply has hashed the files once, the schema's guards still in force.
    @Test func aV2LedgerIsMigratedAndItsFilesHashedOnce() async throws {
        let dir = try TemporaryDirectory("migrate-v3")
        try dir.write(Self.plan, to: "plan.yaml")
        let tool = ToolRunner()
        #expect(try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now], in: dir.path).exitCode == 0)
        // The same ledger as a v2 build would have left it: built by migrations v1 and v2 and filled from this one.
        let old = dir.path("old.sqlite")
        let v2 = try DatabaseQueue(path: old)
        try Ledger.migrator.migrate(v2, upTo: "v2")
        try await v2.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS new", arguments: [dir.path("manifest.sqlite")])
            try db.execute(
                sql: """
                    INSERT INTO files (id, sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end,
                                       rows, bytes, status, source, created_at, updated_at, updated_by)
                    SELECT id, sha256, path, exchange, market, symbol, symbol_id, timeframe, t_start, t_end, rows,
                           bytes, status, source, created_at, updated_at, updated_by FROM new.files
                    """)
            try db.execute(sql: "INSERT INTO watermarks SELECT * FROM new.watermarks")
            try db.execute(sql: "INSERT INTO exchange_gaps SELECT * FROM new.exchange_gaps")
            try db.execute(sql: "INSERT INTO markets SELECT * FROM new.markets")
        }
        try v2.close()
        try FileManager.default.removeItem(atPath: dir.path("manifest.sqlite"))
        try? FileManager.default.removeItem(atPath: dir.path("manifest.sqlite-wal"))
        try? FileManager.default.removeItem(atPath: dir.path("manifest.sqlite-shm"))
        try FileManager.default.moveItem(atPath: old, toPath: dir.path("manifest.sqlite"))
        let before = try await DatabaseQueue(path: dir.path("manifest.sqlite")).read { db in
            (
                try Row.fetchAll(db, sql: "SELECT id, sha256, path, status FROM files ORDER BY id").map(\.description),
                try Row.fetchAll(db, sql: "SELECT * FROM status_events ORDER BY id").map(\.description)
            )
        }
        #expect(before.0.count == 2)

        let plan = try await tool.run(["plan", "plan.yaml", "--now-ms", Self.now], in: dir.path)
        #expect(plan.stdout == "No changes. Coverage is complete.\n", "\(plan.stdout)\(plan.stderr)")
        let migrated = try DatabaseQueue(path: dir.path("manifest.sqlite"))
        let (version, files, events, unknown) = try await migrated.read { db in
            (
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'"),
                try Row.fetchAll(db, sql: "SELECT id, sha256, path, status FROM files ORDER BY id").map(\.description),
                try Row.fetchAll(db, sql: "SELECT * FROM status_events ORDER BY id").map(\.description),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files WHERE mtime_ns IS NULL")
            )
        }
        #expect(version == String(LedgerSchema.currentVersion))
        #expect(files == before.0)
        #expect(events == before.1)
        #expect(unknown == 2)
        // The guards came back with the rebuilt table.
        await #expect(throws: DatabaseError.self) {
            try await migrated.write { db in try db.execute(sql: "DELETE FROM files WHERE id = 1") }
        }
        await #expect(throws: DatabaseError.self) {
            try await migrated.write { db in try db.execute(sql: "UPDATE files SET status = 'processed' WHERE id = 1") }
        }
        try migrated.close()
        // apply hashes the two files once (their stat is unknown), finds them unchanged and records their stat.
        let apply = try await tool.run(["apply", "plan.yaml", "--now-ms", Self.now, "--json"], in: dir.path)
        #expect(apply.exitCode == 0, "\(apply.stderr)")
        let recorded = try stats(dir)
        #expect(recorded.values.allSatisfy { $0.mtimeNs != nil && $0.inode != nil }, "\(recorded)")
    }
}

/// Issue 13 point 11 (§5 Duplicate content): a content key is unique per series. Two series whose chunks have the
/// same bytes are both kept; within one series a byte-identical file is still deleted.
@Suite(.serialized)
struct SeriesContentKeyTests {
    @Test func twoSeriesWithIdenticalChunksAreBothKept() async throws {
        var market = MarketConfig.standard
        market.instruments.append(
            {
                var twin = MarketConfig.Instrument(
                    "TWIN/USDT", "TWINUSDT", .spot, listed: 1_502_942_400_000, basePrice: 30_000)
                twin.candlesAs = "BTC/USDT"
                return twin
            }())
        try await withFakeBinance(FakeBinanceConfig(market: market)) { server in
            let dir = try TemporaryDirectory("series-key")
            try dir.write(
                """
                version: 1
                exchange: binance
                base_url: \(server.baseURL)
                landing: incoming
                ledger: manifest.sqlite
                defaults: {start: 2024-01-01, end: 2024-01-03, batch_limit: 24}
                targets:
                  - symbols: [BTC/USDT, TWIN/USDT]
                    timeframes: [1h]
                """, to: "plan.yaml")
            let tool = ToolRunner()
            let apply = try await tool.run(["apply", "plan.yaml", "--json"], in: dir.path)
            #expect(apply.exitCode == 0, "\(apply.stderr)")
            let summary =
                (try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any])?["summary"]
                as? [String: Any]
            #expect(summary?["files_written"] as? Int == 4, "\(apply.stdout)")
            #expect(summary?["duplicates_deleted"] as? Int == 0, "\(apply.stdout)")
            let btc = "incoming/binance/spot/BTCUSDT/1h/"
            let twin = "incoming/binance/spot/TWINUSDT/1h/"
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path(btc)).sorted()
            #expect(names.count == 2)
            for name in names {
                let other = name.replacingOccurrences(of: "BTCUSDT", with: "TWINUSDT")
                #expect(
                    try Data(contentsOf: URL(fileURLWithPath: dir.path(btc + name)))
                        == Data(contentsOf: URL(fileURLWithPath: dir.path(twin + other))))
            }
            let queue = try DatabaseQueue(path: dir.path("manifest.sqlite"))
            let shared = try await queue.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM (SELECT sha256 FROM files GROUP BY sha256 HAVING COUNT(*) = 2)")
            }
            try queue.close()
            #expect(shared == 2)
            // Not planned again, nothing to do, audit clean.
            let plan = try await tool.run(["plan", "plan.yaml", "--detailed-exitcode"], in: dir.path)
            #expect(plan.exitCode == 0, "\(plan.stdout)")
            #expect(plan.stdout == "No changes. Coverage is complete.\n")
            let audit = try await tool.run(["audit", "plan.yaml", "--deep"], in: dir.path)
            #expect(audit.exitCode == 0, "\(audit.stdout)")
            // Within a series a byte-identical copy is still a duplicate: deleted by the next apply.
            let copy = btc + "BTCUSDT__1h__1704240000000_1704326400000.csv"
            try FileManager.default.copyItem(atPath: dir.path(btc + names[0]), toPath: dir.path(copy))
            let found = try await tool.run(["audit", "plan.yaml"], in: dir.path)
            #expect(found.stdout.contains("duplicate_file BTC/USDT 1h"), "\(found.stdout)")
            #expect(!found.stdout.contains("TWIN/USDT"), "\(found.stdout)")
            let cleaned = try await tool.run(["apply", "plan.yaml"], in: dir.path)
            #expect(cleaned.exitCode == 0, "\(cleaned.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.path(copy)))
        }
    }
}
