import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillLedger
@testable import BackfillModel

/// Issue 15 points 2 and 5 (§13): three `apply` workers as hosts of their own (network namespaces the test makes,
/// each worker its own address) against one fake Binance that keeps a weight budget per client address, and one
/// PostgreSQL ledger. They finish one plan together: every chunk requested once, every file registered once, the
/// landing area byte-identical to a single-host run, and under a tight per-address limit about three times one
/// worker's throughput. SIGKILL one mid-run: the others take its leases over and the result is still exact.
@Suite(.serialized)
struct CooperatingWorkersTests {
    static let windowMs: Int64 = 2_000
    /// Per address and window: 30 klines requests of weight 2, so 15 requests a second per host.
    static let limit = 60
    static let symbols = "[BTC/USDT, ETH/USDT, BNB/USDT]"
    /// 80 days of three pairs (240 chunks) in CI; `BACKFILL_WORKERS_DAYS` makes the speed-up run longer (BENCHMARKS.md).
    static let days =
        ProcessInfo.processInfo.environment["BACKFILL_WORKERS_DAYS"].flatMap { Int($0) }.map { min(max($0, 10), 3650) }
        ?? 80

    static func plan(baseURL: String, ledger: String, landing: String) -> String {
        """
        version: 1
        exchange: binance
        base_url: \(baseURL)
        landing: \(landing)
        ledger: \(ledger)
        archive: off
        defaults: {start: 2024-01-01, end: \(1_704_067_200_000 + Int64(days) * 86_400_000), batch_limit: 24}
        targets:
          - symbols: \(symbols)
            timeframes: [1h]
        """
    }

    static var tasks: Int { 3 * days }

    static func config(limit: Int) -> FakeBinanceConfig {
        // The fake's clock runs (weight windows are cut on the wall clock, as the governor expects).
        var config = FakeBinanceConfig()
        config.weight = .init(limit: limit, windowMs: limit > 0 ? windowMs : 60_000)
        return config
    }

    /// The landing files and ledger rows that must match a single-host run (ids and times aside).
    static func state(ledger location: String, landing: String) throws -> [String] {
        let directory = URL(fileURLWithPath: landing)
        var lines: [String] = []
        if let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil) {
            for case let file as URL in enumerator where !file.hasDirectoryPath {
                let data = try Data(contentsOf: file)
                lines.append("file \(file.lastPathComponent) \(data.count) \(data.hashValue)")
            }
        }
        let ledger = try #require(try Ledger.open(path: location, create: false))
        defer { ledger.close() }
        lines += try ledger.database.read { db in
            try db.fetchAll(
                String.self,
                sql: """
                    SELECT 'row ' || path || ' ' || sha256 || ' ' || t_start || ' ' || t_end || ' ' || rows || ' '
                           || bytes || ' ' || status || ' '
                           || CASE source WHEN 'adopted' THEN 'rest' ELSE source END FROM files
                    UNION ALL SELECT 'watermark ' || name || ' ' || value_ms FROM watermarks
                    UNION ALL SELECT 'gap ' || symbol || ' ' || t_start || ' ' || t_end FROM exchange_gaps
                    """)
        }
        return lines.sorted()
    }

    /// What differs between two states (for a failing expectation's message).
    static func difference(_ a: [String], _ b: [String]) -> String {
        let (left, right) = (Set(a), Set(b))
        return "only here: \(left.subtracting(right).sorted().prefix(6)); only in the reference: "
            + "\(right.subtracting(left).sorted().prefix(6))"
    }

    /// Each worker looks up every symbol's first candle once (its listing time, then cached in the ledger):
    /// not a chunk.
    static func isListingProbe(_ query: String) -> Bool { query.hasSuffix("&startTime=0&limit=1") }

    /// The chunk queries admitted (listing probes aside).
    static func chunks(_ stats: FakeBinanceState.Stats) -> [String: Int] {
        stats.klinesQueries.filter { !isListingProbe($0.key) }
    }

    /// The chunk queries admitted more than once.
    static func repeated(_ stats: FakeBinanceState.Stats) -> [String] {
        chunks(stats).filter { $0.value > 1 }.map { "\($0.key) ×\($0.value)" }.sorted()
    }

    /// A single-host run on loopback with no weight limit: what every cooperative run must end as.
    static func reference() async throws -> [String] {
        let dir = try TemporaryDirectory("workers-ref")
        return try await withFakeBinance(config(limit: 0)) { server in
            try dir.write(
                plan(baseURL: server.baseURL, ledger: "manifest.sqlite", landing: dir.path("incoming")),
                to: "plan.yaml")
            let run = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(run.exitCode == 0, "\(run.stderr)")
            return try state(ledger: dir.path("manifest.sqlite"), landing: dir.path("incoming"))
        }
    }

    /// Runs `workers` workers, worker `i` on host `i`, all at once; returns each one's result and the wall time.
    static func runWorkers(
        _ workers: Int, hosts: TestHosts, in dir: TemporaryDirectory, environment: [String: String] = [:],
        kill killIndex: Int? = nil, killWhen: @escaping @Sendable (Int32) async throws -> Bool = { _ in true }
    ) async throws -> (results: [ToolRunner.Result?], seconds: Double) {
        let clock = ContinuousClock()
        let started = clock.now
        var killed: Process?
        let results = try await withThrowingTaskGroup(of: (Int, ToolRunner.Result?).self) { group in
            for index in 0..<workers {
                var tool = ToolRunner(environment: environment)
                tool.prefix = hosts.prefix(index)
                if index == killIndex {
                    killed = try tool.start(
                        ["apply", "plan.yaml", "--parallelism", "4"], in: URL(fileURLWithPath: dir.path))
                    continue
                }
                group.addTask {
                    (index, try await tool.run(["apply", "plan.yaml", "--parallelism", "4"], in: dir.path))
                }
            }
            if let killed {
                // Killed once it holds leases and has registered some files: mid-run, whatever the machine's pace.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    if try await killWhen(killed.processIdentifier) { break }
                }
                kill(killed.processIdentifier, SIGKILL)
                killed.waitUntilExit()
            }
            var results = [ToolRunner.Result?](repeating: nil, count: workers)
            for try await (index, result) in group { results[index] = result }
            return results
        }
        let elapsed = clock.now - started
        return (results, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    @Test func threeHostsFinishOnePlanTogetherAtThreeTimesOneHostsPace() async throws {
        let reference = try await Self.reference()
        #expect(reference.filter { $0.hasPrefix("row ") }.count == Self.tasks)
        let hosts = try TestHosts(count: 3)
        let cluster = try TestPostgresCluster(listen: [hosts.gateway])
        try PostgresTestServer.psql(cluster.url, "CREATE DATABASE single")
        try PostgresTestServer.psql(cluster.url, "CREATE DATABASE shared")

        // One worker, one host.
        let one = try TemporaryDirectory("workers-one")
        let single = try await withFakeBinance(Self.config(limit: Self.limit), host: hosts.gateway) { server in
            let ledger = cluster.url(database: "single", host: hosts.gateway)
            try one.write(
                Self.plan(baseURL: server.baseURL, ledger: ledger, landing: one.path("incoming")), to: "plan.yaml")
            let run = try await Self.runWorkers(1, hosts: hosts, in: one)
            #expect(run.results[0]?.exitCode == 0, "\(run.results[0]?.stderr ?? "")")
            #expect(server.state.stats.klinesByAddress.keys.sorted() == [hosts.hosts[0].address])
            let state = try Self.state(ledger: ledger, landing: one.path("incoming"))
            #expect(state == reference, "\(Self.difference(state, reference))")
            return run.seconds
        }

        // Three workers, three hosts, one ledger, one landing area.
        let three = try TemporaryDirectory("workers-three")
        let ledger = cluster.url(database: "shared", host: hosts.gateway)
        let (together, stats) = try await withFakeBinance(Self.config(limit: Self.limit), host: hosts.gateway) {
            server in
            try three.write(
                Self.plan(baseURL: server.baseURL, ledger: ledger, landing: three.path("incoming")), to: "plan.yaml")
            let run = try await Self.runWorkers(3, hosts: hosts, in: three)
            for (index, result) in run.results.enumerated() {
                #expect(result?.exitCode == 0, "worker \(index): \(result?.stderr ?? "")")
            }
            return (run.seconds, server.state.stats)
        }
        // Every chunk requested once, by one of the three hosts, each within its own budget.
        #expect(Self.chunks(stats).count == Self.tasks, "\(stats.klinesQueries.keys.sorted().prefix(5))")
        #expect(stats.klinesQueries.filter { Self.isListingProbe($0.key) }.values.allSatisfy { $0 <= 3 })
        #expect(Self.repeated(stats).isEmpty, "requested twice: \(Self.repeated(stats))")
        #expect(stats.klinesByAddress.keys.sorted() == hosts.hosts.map(\.address).sorted())
        #expect(stats.klinesByAddress.values.allSatisfy { $0 >= Self.tasks / 6 }, "\(stats.klinesByAddress)")
        #expect(stats.rateLimited == 0)
        #expect(stats.banned == 0)
        // Every file once; the same files and rows as one host alone.
        let state = try Self.state(ledger: ledger, landing: three.path("incoming"))
        #expect(state == reference, "\(Self.difference(state, reference))")
        let opened = try #require(try Ledger.open(path: ledger, create: false))
        defer { opened.close() }
        let leases = try opened.database.read { db in
            try db.fetchAll(String.self, sql: "SELECT state || ' ' || COUNT(*) FROM task_leases GROUP BY state")
        }
        #expect(leases == ["done \(Self.tasks)"])
        let speedUp = single / together
        print("cooperating workers: one host \(single) s, three hosts \(together) s, speed-up \(speedUp)×")
        // The figure (≈2.4× alone, BENCHMARKS.md) is measured, not asserted: beside the suite's other tests the two
        // runs see different loads. The test asserts the three hosts ran in parallel at all.
        #expect(speedUp >= 1.4, "three hosts: \(together) s, one: \(single) s")
    }

    @Test func aWorkerKilledMidRunIsTakenOverAndTheResultIsExact() async throws {
        let reference = try await Self.reference()
        let hosts = try TestHosts(count: 3)
        let cluster = try TestPostgresCluster(listen: [hosts.gateway])
        try PostgresTestServer.psql(cluster.url, "CREATE DATABASE killed")
        let dir = try TemporaryDirectory("workers-kill")
        let ledger = cluster.url(database: "killed", host: hosts.gateway)
        let (results, stats) = try await withFakeBinance(Self.config(limit: Self.limit), host: hosts.gateway) {
            server in
            try dir.write(
                Self.plan(baseURL: server.baseURL, ledger: ledger, landing: dir.path("incoming")), to: "plan.yaml")
            let local = cluster.url(database: "killed", host: "127.0.0.1")
            let run = try await Self.runWorkers(
                3, hosts: hosts, in: dir, environment: ["BACKFILL_TASK_LEASE_MS": "2000"], kill: 1
            ) { pid in
                // Until the first worker has created the ledger, there is no table to ask.
                let held = try? PostgresTestServer.psql(
                    local,
                    "SELECT COUNT(*) FILTER (WHERE state = 'leased' AND owner LIKE '% pid \(pid) %') || ' ' || "
                        + "COUNT(*) FILTER (WHERE state = 'done') FROM task_leases")
                let counts = (held ?? "").split(separator: " ").compactMap { Int($0) }
                return counts.count == 2 && counts[0] > 0 && counts[1] >= 20
            }
            let audit = try await ToolRunner().run(["audit", "plan.yaml"], in: dir.path)
            #expect(audit.exitCode == 0, "\(audit.stdout)\(audit.stderr)")
            return (run.results, server.state.stats)
        }
        for index in [0, 2] {
            #expect(results[index]?.exitCode == 0, "worker \(index): \(results[index]?.stderr ?? "")")
        }
        let output = results.compactMap { $0?.stdout }.joined()
        #expect(output.contains("leases taken over"), "\(output)")
        // The killed worker's requests in flight are asked again by the worker that took its tasks over; nothing
        // else twice.
        #expect(Self.repeated(stats).count <= 4, "requested more than once: \(Self.repeated(stats))")
        #expect(Self.chunks(stats).count == Self.tasks, "\(stats.klinesQueries.keys.sorted().prefix(5))")
        let state = try Self.state(ledger: ledger, landing: dir.path("incoming"))
        #expect(state == reference, "\(Self.difference(state, reference))")
    }
}
