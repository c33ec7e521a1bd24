import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The PostgreSQL ledger (§13) through postgres-nio: a few connections kept open, each used by one transaction at a
/// time.
///
/// Writers are serialised the way SQLite serialises them: every write transaction first takes one transaction-level
/// advisory lock (``writeLockKey``), so the ledger's read-then-write logic (is this content registered? is this
/// watermark ahead?) runs as it does on SQLite, on every host. Readers take a `REPEATABLE READ` snapshot and never
/// wait for writers. Claims that only touch their own rows (task leases, a consumer's `claim`) lock those rows with
/// `FOR UPDATE SKIP LOCKED` instead. A statement waits at most the busy timeout for a lock (`lock_timeout`), then
/// the ledger is ``LedgerError/busy(path:waitedMs:)``.
///
/// The calls are synchronous like GRDB's: a caller's thread waits on NIO's event loop, never on Swift's cooperative
/// pool (the async write runs on a thread of its own), so no task can starve the connection.
package final class PostgresLedgerDatabase: LedgerDatabase, @unchecked Sendable {
    /// The advisory lock every write transaction holds (an arbitrary constant: "backfill" in ASCII).
    package static let writeLockKey: Int64 = 0x6261_636B_6669_6C6C
    /// The advisory lock migrations hold (one process migrates; the others wait, then find it done).
    static let migrationLockKey: Int64 = 0x6261_636B_6D69_6772

    let location: PostgresLocation
    let busyTimeoutMs: Int64
    private let configuration: PostgresConnection.Configuration
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0
    private var closed = false
    private let logger: Logger
    /// Connections kept open when idle (more are opened while many transactions run at once).
    private let keepIdle = 4

    package var backend: LedgerBackend { .postgresql }
    var path: String { location.description }

    init(location: PostgresLocation, busyTimeoutMs: Int64) throws(LedgerError) {
        self.location = location
        self.busyTimeoutMs = busyTimeoutMs
        var logger = Logger(label: "backfill.ledger.postgresql")
        logger.logLevel = .critical
        self.logger = logger
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .prefer, .require, .verifyFull:
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            if location.tls != .verifyFull { tlsConfiguration.certificateVerification = .none }
            let context: NIOSSLContext
            do { context = try NIOSSLContext(configuration: tlsConfiguration) } catch {
                throw .cannotOpen(path: location.description, reason: "TLS cannot be set up: \(error)")
            }
            tls = location.tls == .prefer ? .prefer(context) : .require(context)
        }
        var configuration: PostgresConnection.Configuration
        if let socket = location.socketPath {
            configuration = .init(
                unixSocketPath: socket, username: location.user, password: location.password,
                database: location.database)
        } else {
            configuration = .init(
                host: location.host, port: location.port, username: location.user, password: location.password,
                database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [("application_name", "backfill-tool")]
        self.configuration = configuration
    }

    // MARK: connections

    private func checkOut() throws(LedgerError) -> PostgresConnection {
        lock.lock()
        if closed {
            lock.unlock()
            throw .cannotOpen(path: path, reason: "the ledger was closed")
        }
        while let connection = idle.popLast() {
            if !connection.isClosed {
                lock.unlock()
                return connection
            }
        }
        nextID += 1
        let id = nextID
        lock.unlock()
        do {
            let connection = try PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: id,
                logger: logger
            ).wait()
            let timeout = min(max(busyTimeoutMs, 1), 3_600_000)
            _ = try connection.query(PostgresQuery(unsafeSQL: "SET lock_timeout = \(timeout)"), logger: logger).wait()
            return connection
        } catch {
            throw mapError(error, connecting: true)
        }
    }

    private func checkIn(_ connection: PostgresConnection, healthy: Bool) {
        lock.lock()
        let keep = healthy && !closed && !connection.isClosed && idle.count < keepIdle
        if keep { idle.append(connection) }
        lock.unlock()
        if !keep {
            if MultiThreadedEventLoopGroup.currentEventLoop == nil {
                _ = try? connection.close().wait()
            } else {
                connection.close().whenComplete { _ in }
            }
        }
    }

    deinit { close() }

    package func close() {
        lock.lock()
        closed = true
        let connections = idle
        idle = []
        lock.unlock()
        for connection in connections {
            // Waited for off NIO's threads (the usual case); on one, the close goes on by itself.
            if MultiThreadedEventLoopGroup.currentEventLoop == nil {
                _ = try? connection.close().wait()
            } else {
                connection.close().whenComplete { _ in }
            }
        }
    }

    // MARK: transactions

    /// Runs `body` between `begin` and COMMIT (ROLLBACK when it throws), retrying a transaction PostgreSQL
    /// aborted as a serialisation failure or deadlock a few times.
    private func transaction<T>(
        begin: [String], _ body: (any LedgerConnection) throws -> T
    ) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try checkOut()
            let adapter = PostgresLedgerConnection(connection: connection, logger: logger, database: self)
            var healthy = true
            do {
                for statement in begin { try adapter.execute(sql: statement) }
                let result = try body(adapter)
                try adapter.execute(sql: "COMMIT")
                checkIn(connection, healthy: true)
                return result
            } catch {
                do { try adapter.execute(sql: "ROLLBACK") } catch { healthy = false }
                checkIn(connection, healthy: healthy)
                if let error = error as? PostgresStatementError {
                    if error.isRetryable, attempt < 5 {
                        usleep(UInt32(20_000 * attempt))
                        continue
                    }
                    throw mapError(error.underlying, connecting: false)
                }
                throw error
            }
        }
    }

    package func read<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        try transaction(begin: ["BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"], body)
    }

    package func write<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        try transaction(begin: ["BEGIN", "SELECT pg_advisory_xact_lock(\(Self.writeLockKey))"], body)
    }

    /// A write that locks only the rows it claims (`FOR UPDATE SKIP LOCKED`): other hosts' claims run beside it.
    func claimWrite<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        try transaction(begin: ["BEGIN"], body)
    }

    package func write<T: Sendable>(
        _ body: @escaping @Sendable (any LedgerConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try self.write(body) })
            }
        }
    }

    package func withoutTransaction<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        let connection = try checkOut()
        let adapter = PostgresLedgerConnection(connection: connection, logger: logger, database: self)
        do {
            let result = try body(adapter)
            checkIn(connection, healthy: true)
            return result
        } catch let error as PostgresStatementError {
            checkIn(connection, healthy: !connection.isClosed)
            throw mapError(error.underlying, connecting: false)
        } catch {
            checkIn(connection, healthy: !connection.isClosed)
            throw error
        }
    }

    // MARK: errors

    /// One line naming the ledger (never its password): the server's message, or what failed on the way there.
    func mapError(_ error: any Error, connecting: Bool) -> LedgerError {
        if let error = error as? LedgerError { return error }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                let state = info[.sqlState] ?? ""
                let message =
                    (info[.message] ?? "server error").split(whereSeparator: \.isNewline).first.map(
                        String.init) ?? ""
                switch state {
                case "55P03", "57014":
                    return .busy(path: path, waitedMs: busyTimeoutMs)
                case "28P01", "28000":
                    let source = location.passwordSource.map { " (password from \($0))" } ?? " (no password given)"
                    return .cannotOpen(path: path, reason: "authentication failed for user \(location.user)\(source)")
                case "3D000":
                    return .cannotOpen(path: path, reason: "the database \(location.database) does not exist")
                case "25006", "42501":
                    return .readOnly(path: path)
                case "53100":
                    return .cannotWrite(path: path, reason: "the server's disk is full")
                default:
                    return .sqlite("\(path): \(message) (SQLSTATE \(state))")
                }
            }
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                let reason = error.underlying.map { "\($0)" } ?? "\(error.code)"
                return .cannotOpen(
                    path: path,
                    reason: (connecting ? "cannot connect: " : "the connection was lost: ")
                        + (reason.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""))
            case .authMechanismRequiresPassword:
                return .cannotOpen(
                    path: path,
                    reason: "the server asks for a password and none was given (URL, PGPASSWORD or .pgpass)")
            case .sslUnsupported:
                return .cannotOpen(path: path, reason: "the server does not support TLS (sslmode=disable connects)")
            default:
                return .cannotOpen(path: path, reason: "\(error.code)")
            }
        }
        if let error = error as? PostgresDecodingError {
            _ = error
            return .damaged(path: path)
        }
        let text = String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return connecting ? .cannotOpen(path: path, reason: text) : .sqlite("\(path): \(text)")
    }
}

/// A server error inside a transaction, kept as it came until the transaction is rolled back (then mapped).
struct PostgresStatementError: Error {
    let underlying: any Error

    /// Serialisation failure, deadlock: PostgreSQL asks for the transaction to be run again.
    var isRetryable: Bool {
        guard let error = underlying as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }
}

/// One postgres-nio connection inside a transaction: `?` placeholders become `$n`, SQLite's `INDEXED BY` hints are
/// dropped (PostgreSQL's planner picks the same indexes), values are bound in binary and rows decoded by type.
struct PostgresLedgerConnection: LedgerConnection {
    let connection: PostgresConnection
    let logger: Logger
    let database: PostgresLedgerDatabase

    private func run(_ sql: String, _ arguments: [(any LedgerBindable)?]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument?.ledgerValue ?? .null {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let text): bindings.append(text)
            }
        }
        let query = PostgresQuery(unsafeSQL: PostgresDialect.translate(sql), binds: bindings)
        do {
            return try connection.query(query, logger: logger).wait()
        } catch {
            throw PostgresStatementError(underlying: error)
        }
    }

    @discardableResult
    func execute(sql: String, arguments: [(any LedgerBindable)?]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func fetchAll(sql: String, arguments: [(any LedgerBindable)?]) throws -> [LedgerRow] {
        try run(sql, arguments).rows.map { try decode($0) }
    }

    func forEachRow(
        sql: String, arguments: [(any LedgerBindable)?], _ body: (LedgerRow) throws -> Void
    ) throws {
        for row in try run(sql, arguments).rows { try body(try decode(row)) }
    }

    private func decode(_ row: PostgresRow) throws -> LedgerRow {
        var values: [LedgerValue] = []
        values.reserveCapacity(row.count)
        for cell in row {
            guard cell.bytes != nil else {
                values.append(.null)
                continue
            }
            do {
                switch cell.dataType {
                case .int8, .int4, .int2, .oid: values.append(.integer(try cell.decode(Int64.self)))
                case .bool: values.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
                case .float4, .float8: values.append(.real(try cell.decode(Double.self)))
                case .numeric:
                    let decimal = try cell.decode(Decimal.self)
                    let number = NSDecimalNumber(decimal: decimal)
                    if let integer = Int64(exactly: number.doubleValue), Decimal(integer) == decimal {
                        values.append(.integer(integer))
                    } else {
                        values.append(.real(number.doubleValue))
                    }
                default: values.append(.text(try cell.decode(String.self)))
                }
            } catch {
                throw LedgerError.damaged(path: database.path)
            }
        }
        return LedgerRow(values: values, ledgerPath: database.path)
    }
}

/// The few spellings the ledger's SQL needs changed for PostgreSQL, translated once per statement text.
enum PostgresDialect {
    /// A script's statements, one by one (postgres-nio runs one statement per query): split at `;` outside quotes
    /// and `$$` bodies, with `--` comments removed.
    static func statements(_ script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var inString = false
        var inBody = false
        let characters = Array(script)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let next: Character? = index + 1 < characters.count ? characters[index + 1] : nil
            if !inString, !inBody, character == "-", next == "-" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
                continue
            }
            if !inBody, character == "'" { inString.toggle() }
            if !inString, character == "$", next == "$" {
                inBody.toggle()
                current += "$$"
                index += 2
                continue
            }
            if !inString, !inBody, character == ";" {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
            } else {
                current.append(character)
            }
            index += 1
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { statements.append(last) }
        return statements
    }

    private static let cache = Cache()

    /// Translated statements by their SQLite text (a few dozen: the ledger's SQL is fixed text).
    private final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [String: String] = [:]

        func object(forKey key: String) -> String? { lock.withLock { entries[key] } }
        func setObject(_ value: String, forKey key: String) {
            lock.withLock { if entries.count < 4_096 { entries[key] = value } }
        }
    }

    static func translate(_ sql: String) -> String {
        if let cached = cache.object(forKey: sql) { return cached }
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var inString = false
        var index = sql.startIndex
        while index < sql.endIndex {
            let character = sql[index]
            if character == "'" {
                inString.toggle()
                output.append(character)
            } else if !inString, character == "?" {
                number += 1
                output += "$\(number)"
            } else if !inString, character == "I", sql[index...].hasPrefix("INDEXED BY ") {
                // Skip "INDEXED BY name".
                var cursor = sql.index(index, offsetBy: "INDEXED BY ".count)
                while cursor < sql.endIndex, sql[cursor].isLetter || sql[cursor].isNumber || sql[cursor] == "_" {
                    cursor = sql.index(after: cursor)
                }
                index = cursor
                continue
            } else {
                output.append(character)
            }
            index = sql.index(after: index)
        }
        cache.setObject(output, forKey: sql)
        return output
    }
}
