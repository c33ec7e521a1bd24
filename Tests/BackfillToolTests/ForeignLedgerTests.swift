import BackfillTestSupport
import Foundation
import GRDB
import Testing

@testable import BackfillLedger

/// Issue 13 points 6 and 12 (`meta.schema_version`): the tool opens as a ledger only a file that is one, or a path
/// where no file is; another program's database, an empty file, the ccxt job's manifest and a newer ledger are
/// refused with one line naming them, and left exactly as they were.
@Suite(.serialized)
struct ForeignLedgerTests {
    let tool = ToolRunner()

    func workspace() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("foreign")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: manifest.sqlite
            defaults: {start: 2024-01-01, end: 2024-01-03}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        return dir
    }

    static func sqlite(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    @Test(arguments: [
        ("other", "it is another program's SQLite database (no backfill-tool meta table)"),
        ("empty", "it is an empty file (a new ledger is created only where no file is)"),
        (
            "ccxt",
            "it is the ccxt job's manifest; import it with 'backfill-tool ledger import-legacy other.db' into a new ledger"
        ),
    ])
    func aFileThatIsNotALedgerIsRefusedAndLeftAlone(kind: String, reason: String) async throws {
        let dir = try workspace()
        switch kind {
        case "other":
            try Self.sqlite(dir.path("other.db"), "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('x')")
        case "ccxt":
            try Self.sqlite(
                dir.path("other.db"),
                "CREATE TABLE manifest (id INTEGER PRIMARY KEY, sha256 TEXT); CREATE TABLE watermark (symbol TEXT)")
        default: FileManager.default.createFile(atPath: dir.path("other.db"), contents: Data())
        }
        let before = try dir.inventory()
        for command in [
            ["plan", "plan.yaml"], ["apply", "plan.yaml", "--now-ms", "1709251200000"], ["audit", "plan.yaml"],
        ] {
            let result = try await tool.run(command + ["--ledger", "other.db"], in: dir.path)
            #expect(result.exitCode == 1, "\(command)")
            #expect(
                result.stderr == "error: other.db is not a backfill-tool ledger: \(reason); refusing to change it\n")
            #expect(try dir.inventory() == before, "\(command) changed something")
        }
        let status = try await tool.run(["ledger", "status", "--ledger", "other.db"], in: dir.path)
        #expect(status.exitCode == 1)
        #expect(try dir.inventory() == before)
    }

    @Test func aLedgerOfANewerSchemaVersionIsRefused() async throws {
        let dir = try workspace()
        let apply = try await tool.run(["apply", "plan.yaml", "--now-ms", "1709251200000"], in: dir.path)
        #expect(apply.exitCode == 0)
        try Self.sqlite(dir.path("manifest.sqlite"), "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        let before = try dir.inventory()
        let plan = try await tool.run(["plan", "plan.yaml"], in: dir.path)
        #expect(plan.exitCode == 1)
        #expect(
            plan.stderr
                == "error: ledger manifest.sqlite was written by a newer backfill-tool (migration 'schema version 99'); upgrade backfill-tool\n"
        )
        #expect(
            try dir.inventory().filter { !$0.key.hasSuffix("-shm") && !$0.key.hasSuffix("-wal") }
                == before.filter { !$0.key.hasSuffix("-shm") && !$0.key.hasSuffix("-wal") })
    }

    @Test func anEmptyLedgerPathIsRefused() async throws {
        let dir = try workspace()
        let before = try dir.inventory()
        let plan = try await tool.run(
            ["apply", "plan.yaml", "--now-ms", "1709251200000", "--ledger", ""], in: dir.path)
        #expect(plan.exitCode == 64)
        #expect(plan.stderr.hasPrefix("Error: --ledger must name a file, not be empty"), "\(plan.stderr)")
        #expect(!plan.stderr.contains("WAL"), "\(plan.stderr)")
        #expect(try dir.inventory() == before)
    }
}
