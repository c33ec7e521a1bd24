import BackfillTestSupport
import Foundation
import Testing

@testable import BackfillLedger
@testable import BackfillModel

/// The PostgreSQL ledger (§13, issue 15) gives the same results as SQLite: one scenario (`plan`, `apply`, `audit`,
/// `ledger files|claim|complete|release|status`) run by the tool on each backend, every output compared; `ledger
/// copy` moves a ledger into PostgreSQL and back without losing a row or an event; the password in a URL appears in
/// no output, saved plan, landing file or ledger row.
@Suite(.serialized)
struct LedgerParityTests {
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs
    static let password = "backfill-test-password"
    let tool = ToolRunner()

    /// Keys whose values are wall-clock times or durations (they differ between any two runs).
    /// (`plan_file_sha256`: the plan files differ in their `ledger:` line.)
    static let clockKeys: Set<String> = [
        "created_at", "updated_at", "elapsed_ms", "lease_expires_at", "plan_file_sha256",
    ]

    /// A JSON document with the clock keys removed and the ledger's location replaced, re-encoded with sorted keys.
    static func normalized(_ text: String, location: String) throws -> String {
        func strip(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return object.filter { !clockKeys.contains($0.key) }.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            if let string = value as? String {
                return string.replacingOccurrences(of: location, with: "<ledger>")
                    .replacingOccurrences(of: LedgerLocation.redacted(location), with: "<ledger>")
            }
            return value
        }
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let data = try JSONSerialization.data(withJSONObject: strip(object), options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    struct Outcome {
        var outputs: [(name: String, text: String)] = []
        var landing: [String: String] = [:]
        var streams = ""
    }

    /// The scenario on one ledger; every command must succeed.
    func scenario(location: String, in dir: TemporaryDirectory) async throws -> Outcome {
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: \(location)
            defaults: {start: 2024-01-01, end: 2024-01-07, batch_limit: 24}
            targets:
              - symbols: [BTC/USDT, ETH/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        var outcome = Outcome()
        let now = ["--now-ms", String(Self.now)]
        let ledger = ["--ledger", location, "--json"]
        func run(_ name: String, _ arguments: [String], json: Bool = true) async throws -> String {
            let result = try await tool.run(arguments, in: dir.path)
            outcome.streams += result.stdout + result.stderr
            #expect(result.exitCode == 0, "\(name): \(result.stderr)")
            let text = json ? try Self.normalized(result.stdout, location: location) : result.stdout
            outcome.outputs.append((name, text))
            return result.stdout
        }
        _ = try await run("plan", ["plan", "plan.yaml", "--json"] + now)
        _ = try await run("plan text", ["plan", "plan.yaml"] + now, json: false)
        // One task at a time: files get their ids in plan order on both (in parallel, in order of completion).
        _ = try await run("apply", ["apply", "plan.yaml", "--json", "--parallelism", "1"] + now)
        _ = try await run("plan after", ["plan", "plan.yaml"] + now, json: false)
        _ = try await run("audit", ["audit", "plan.yaml", "--json"] + now)
        _ = try await run("files", ["ledger", "files"] + ledger)
        let claimed = try await run("claim", ["ledger", "claim", "--owner", "trainer", "--limit", "3"] + ledger)
        let ids = try #require(
            (try JSONSerialization.jsonObject(with: Data(claimed.utf8)) as? [String: Any])?["files"] as? [[String: Any]]
        ).compactMap { ($0["id"] as? NSNumber).map { String($0.int64Value) } }
        #expect(ids.count == 3)
        _ = try await run("complete", ["ledger", "complete"] + ids.prefix(2) + ["--owner", "trainer"] + ledger)
        _ = try await run("release", ["ledger", "release", ids[2], "--owner", "trainer"] + ledger)
        _ = try await run("status", ["ledger", "status"] + ledger)
        _ = try await run("status text", ["ledger", "status", "--ledger", location], json: false)
        _ = try await run("files processed", ["ledger", "files", "--status", "processed"] + ledger)
        outcome.landing = try dir.inventory().filter { $0.key.hasPrefix("/incoming") }
        return outcome
    }

    @Test func plansAppliesAuditsAndConsumersAgreeOnBothBackends() async throws {
        let sqliteDir = try TemporaryDirectory("parity-sqlite")
        let sqlite = try await scenario(location: "manifest.sqlite", in: sqliteDir)
        let database = try PostgresTestServer.makeDatabase("parity")
        defer { database.drop() }
        let postgresDir = try TemporaryDirectory("parity-pg")
        let postgres = try await scenario(location: database.url, in: postgresDir)

        #expect(sqlite.outputs.count == postgres.outputs.count)
        for (a, b) in zip(sqlite.outputs, postgres.outputs) {
            #expect(a.name == b.name)
            #expect(a.text == b.text, "\(a.name) differs between SQLite and PostgreSQL")
        }
        #expect(!sqlite.landing.isEmpty)
        #expect(sqlite.landing == postgres.landing, "the landing areas are byte-identical")
        // The URL's password is in no output, and the ledger holds it nowhere.
        #expect(database.url.contains(Self.password))
        #expect(!postgres.streams.contains(Self.password))
        let dump = ToolRunner.runCaptured("/usr/bin/env", ["pg_dump", "--data-only", database.url])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains("BTCUSDT"))
        #expect(!dump.stdout.contains(Self.password))
    }

    /// A saved plan holds the URL without its password; apply takes it from PGPASSWORD (or the password file).
    @Test func aSavedPlanNeverHoldsThePassword() async throws {
        let database = try PostgresTestServer.makeDatabase("saved")
        defer { database.drop() }
        let dir = try TemporaryDirectory("parity-saved")
        try dir.write(
            """
            version: 1
            exchange: simulated
            landing: incoming
            ledger: \(database.url)
            defaults: {start: 2024-01-01, end: 2024-01-03, batch_limit: 24}
            targets:
              - symbols: [BTC/USDT]
                timeframes: [1h]
            """, to: "plan.yaml")
        let now = ["--now-ms", String(Self.now)]
        let plan = try await tool.run(["plan", "plan.yaml", "--out", "saved.json"] + now, in: dir.path)
        #expect(plan.exitCode == 0, "\(plan.stderr)")
        let saved = try String(contentsOfFile: dir.path("saved.json"), encoding: .utf8)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(saved.utf8)) as? [String: Any])
        #expect((document["config"] as? [String: Any])?["ledger"] as? String == LedgerLocation.redacted(database.url))
        #expect(!saved.contains(Self.password))

        let noPassword = ToolRunner(environment: ["PGPASSWORD": "", "PGPASSFILE": dir.path("none")])
        let refused = try await noPassword.run(["apply", "--plan-file", "saved.json"] + now, in: dir.path)
        #expect(refused.exitCode != 0)
        #expect(refused.stderr.contains("postgresql://backfill@127.0.0.1"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(Self.password))

        let withVariable = ToolRunner(environment: ["PGPASSWORD": Self.password])
        let applied = try await withVariable.run(["apply", "--plan-file", "saved.json"] + now, in: dir.path)
        #expect(applied.exitCode == 0, "\(applied.stderr)")
        #expect(!(applied.stdout + applied.stderr).contains(Self.password))

        // The password file, as libpq reads it (only when others cannot read it).
        let passfile = try dir.write("127.0.0.1:*:*:backfill:\(Self.password)\n", to: "pgpass")
        chmod(passfile, 0o600)
        let withFile = ToolRunner(environment: ["PGPASSWORD": "", "PGPASSFILE": passfile])
        let status = try await withFile.run(
            ["ledger", "status", "--ledger", LedgerLocation.redacted(database.url)], in: dir.path)
        #expect(status.exitCode == 0, "\(status.stderr)")
        #expect(status.stdout.contains("BTC/USDT 1h: 2 files"))
        chmod(passfile, 0o644)
        let ignored = try await withFile.run(
            ["ledger", "status", "--ledger", LedgerLocation.redacted(database.url)], in: dir.path)
        #expect(ignored.exitCode != 0, "a password file others can read is ignored")
    }

    /// SQLite → PostgreSQL → SQLite: every file row (ids, statuses, leases, times), every status event, watermark,
    /// gap and run survives, and the copy is refused into a ledger that is not empty.
    @Test func ledgerCopyMovesALedgerIntoPostgresAndBack() async throws {
        let dir = try TemporaryDirectory("parity-copy")
        _ = try await scenario(location: "manifest.sqlite", in: dir)
        let database = try PostgresTestServer.makeDatabase("copy")
        defer { database.drop() }
        let into = try await tool.run(
            ["ledger", "copy", "--ledger", "manifest.sqlite", "--to", database.url, "--json"], in: dir.path)
        #expect(into.exitCode == 0, "\(into.stderr)")
        #expect(!into.stdout.contains(Self.password))
        let back = try await tool.run(
            ["ledger", "copy", "--ledger", database.url, "--to", "back.sqlite"], in: dir.path)
        #expect(back.exitCode == 0, "\(back.stderr)")
        #expect(back.stdout.hasPrefix("Copied postgresql://backfill@"))
        let again = try await tool.run(
            ["ledger", "copy", "--ledger", "manifest.sqlite", "--to", database.url], in: dir.path)
        #expect(again.exitCode != 0)
        #expect(again.stderr.contains("is not empty"), "\(again.stderr)")

        func dump(_ location: String) throws -> [String] {
            let ledger = try #require(try Ledger.open(path: location, create: false))
            defer { ledger.close() }
            return try ledger.database.read { db in
                var lines: [String] = []
                for query in [
                    "SELECT id, sha256, path, status, source, lease_owner, lease_expires_at, created_at, updated_at, updated_by, status_reason, rows, bytes FROM files ORDER BY id",
                    "SELECT file_id, from_status, to_status, at, actor, reason FROM status_events ORDER BY file_id, id",
                    "SELECT name, value_ms, updated_at, updated_by FROM watermarks ORDER BY name",
                    "SELECT id, command, started_at, finished_at, outcome, summary_json FROM runs ORDER BY id",
                    "SELECT symbol, symbol_id, listed_at_ms, status FROM markets ORDER BY symbol",
                ] {
                    try db.forEachRow(sql: query, arguments: []) { row in
                        lines.append((0..<row.count).map { "\(row.value(atIndex: $0))" }.joined(separator: "|"))
                    }
                }
                return lines
            }
        }
        let original = try dump(dir.path("manifest.sqlite"))
        #expect(original.count > 20)
        #expect(original.contains { $0.contains("processed") })
        #expect(try dump(database.url) == original)
        #expect(try dump(dir.path("back.sqlite")) == original)
        // The copy is a working ledger: a new file gets the next id.
        let copied = try #require(try Ledger.open(path: database.url, create: false))
        defer { copied.close() }
        let next = try copied.register(sampleNewFile(), actor: "test")
        #expect(next == Int64(try copied.fileCount()))
    }

    func sampleNewFile() -> NewFile {
        let range = TimeRange(uncheckedLower: 0, upper: 3_600_000)
        return NewFile(
            sha256: String(repeating: "e", count: 64), path: "extra/x.csv", exchange: .simulated, market: .spot,
            symbol: "XRP/USDT", symbolId: "XRPUSDT", timeframe: .h1, range: range, rows: 1, bytes: 10,
            source: .external)
    }
}
