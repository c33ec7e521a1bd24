import BackfillLedger
import Foundation

/// The real PostgreSQL server the tests use (never a mock): the one `.ci/run` started (its URL in
/// `BACKFILL_TEST_POSTGRES_URL`), or else a throwaway cluster this test process starts itself with
/// `Scripts/postgres-cluster.sh` and stops when it exits. Without either the tests that need it fail with the reason:
/// they never skip.
package enum PostgresTestServer {
    private static let state = Mutex()

    private final class Mutex: @unchecked Sendable {
        let lock = NSLock()
        var url: String?
        var failure: String?
        var directory: String?
    }

    /// The server's superuser URL (it may create databases).
    package static func url() throws -> String {
        state.lock.lock()
        defer { state.lock.unlock() }
        if let url = state.url { return url }
        if let failure = state.failure { throw PostgresUnavailable(reason: failure) }
        if let url = ProcessInfo.processInfo.environment["BACKFILL_TEST_POSTGRES_URL"], !url.isEmpty {
            state.url = url
            return url
        }
        let result = ToolRunner.runCaptured(
            "/bin/bash", [repositoryRoot.appendingPathComponent("Scripts/postgres-cluster.sh").path, "start"])
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard result.status == 0, let url = fields["URL"], let directory = fields["DIR"] else {
            let reason =
                "no PostgreSQL server: BACKFILL_TEST_POSTGRES_URL is not set and Scripts/postgres-cluster.sh failed "
                + "(\(result.stderr.prefix(300))); .ci/run installs Debian's postgresql"
            state.failure = reason
            throw PostgresUnavailable(reason: reason)
        }
        state.url = url
        state.directory = directory
        stopAtExit.directory = directory
        atexit {
            guard let directory = PostgresTestServer.stopAtExit.directory else { return }
            _ = ToolRunner.runCaptured(
                "/bin/bash",
                [
                    PostgresTestServer.repositoryRoot.appendingPathComponent("Scripts/postgres-cluster.sh").path,
                    "stop",
                    directory,
                ])
        }
        return url
    }

    private final class StopAtExit: @unchecked Sendable { var directory: String? }
    private static let stopAtExit = StopAtExit()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A new, empty database on the server for one test; ``TemporaryPostgresDatabase/drop()`` removes it.
    package static func makeDatabase(_ label: String = "t") throws -> TemporaryPostgresDatabase {
        let server = try url()
        let name =
            "backfill_\(label.lowercased().filter { $0.isLetter || $0.isNumber })_"
            + UUID().uuidString.prefix(8).lowercased()
        try psql(server, "CREATE DATABASE \(name)")
        return TemporaryPostgresDatabase(serverURL: server, name: name)
    }

    /// Runs one statement with psql on `url`.
    @discardableResult
    package static func psql(_ url: String, _ sql: String) throws -> String {
        let result = ToolRunner.runCaptured(
            "/usr/bin/env", ["psql", url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-c", sql])
        guard result.status == 0 else {
            throw PostgresUnavailable(reason: "psql failed: \(result.stderr.prefix(400))")
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A PostgreSQL cluster of one test's own (`Scripts/postgres-cluster.sh`), listening on 127.0.0.1 and the addresses
/// it was given (a test's hosts reach it there); stopped and removed when the value is released.
package final class TestPostgresCluster: Sendable {
    /// The tests' role's URL on 127.0.0.1.
    package let url: String
    package let port: Int
    private let directory: String

    package init(listen addresses: [String]) throws {
        // Started again on another port when a start fails (a port taken meanwhile); the server's log tail otherwise.
        var result = (status: Int32(1), stdout: "", stderr: "")
        for _ in 0..<3 {
            result = ToolRunner.runCaptured(
                "/bin/bash",
                [
                    PostgresTestServer.repositoryRoot.appendingPathComponent("Scripts/postgres-cluster.sh").path,
                    "start", "0", (["127.0.0.1"] + addresses).joined(separator: ","),
                ])
            if result.status == 0 { break }
        }
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard result.status == 0, let url = fields["URL"], let directory = fields["DIR"],
            let port = url.split(separator: ":").last?.split(separator: "/").first.flatMap({ Int($0) })
        else {
            throw PostgresUnavailable(reason: "Scripts/postgres-cluster.sh failed: \(result.stderr.suffix(1200))")
        }
        self.url = url
        self.port = port
        self.directory = directory
    }

    /// The URL of database `name` reached at `host`.
    package func url(database name: String, host: String) -> String {
        url.replacingOccurrences(of: "@127.0.0.1:", with: "@\(host):").replacingOccurrences(
            of: "/postgres", with: "/\(name)")
    }

    deinit {
        _ = ToolRunner.runCaptured(
            "/bin/bash",
            [
                PostgresTestServer.repositoryRoot.appendingPathComponent("Scripts/postgres-cluster.sh").path, "stop",
                directory,
            ])
    }
}

/// One test's database.
package struct TemporaryPostgresDatabase: Sendable {
    package let serverURL: String
    package let name: String

    /// The database's URL (with the test role's password, as a user's plan may hold it).
    package var url: String {
        guard let slash = serverURL.range(of: "/", options: .backwards) else { return serverURL }
        return String(serverURL[..<slash.lowerBound]) + "/" + name
    }

    /// Runs one statement in the database (psql), returning its output.
    @discardableResult
    package func psql(_ sql: String) throws -> String { try PostgresTestServer.psql(url, sql) }

    package func drop() {
        _ = try? PostgresTestServer.psql(serverURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

package struct PostgresUnavailable: Error, CustomStringConvertible {
    package var reason: String
    package var description: String { reason }
}

/// A ledger of either backend for the tests that run against both (the same test, not a copy).
package final class TestLedger: Sendable {
    package let ledger: Ledger
    package let backend: LedgerBackend
    /// The SQLite file's path or the PostgreSQL URL: what a plan's `ledger:` would hold.
    package let location: String
    private let directory: TemporaryDirectory?
    private let database: TemporaryPostgresDatabase?

    package init(_ backend: LedgerBackend, label: String = "ledger") throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            let directory = try TemporaryDirectory(label)
            self.directory = directory
            database = nil
            location = directory.path("manifest.sqlite")
        case .postgresql:
            let database = try PostgresTestServer.makeDatabase(label)
            self.database = database
            directory = nil
            location = database.url
        }
        guard let ledger = try Ledger.open(path: location, create: true) else {
            throw PostgresUnavailable(reason: "the ledger at \(backend) was not created")
        }
        self.ledger = ledger
    }

    /// Opens the same ledger again (another process would).
    package func reopen() throws -> Ledger {
        guard let ledger = try Ledger.open(path: location, create: false) else {
            throw PostgresUnavailable(reason: "the ledger is gone")
        }
        return ledger
    }

    deinit {
        ledger.close()
        database?.drop()
    }
}
