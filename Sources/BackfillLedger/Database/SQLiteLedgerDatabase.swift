import Foundation
import GRDB

/// The SQLite ledger through GRDB (`manifest.sqlite`): a `DatabasePool` in WAL mode, so readers never block and
/// writers are serialised by SQLite itself. SQLite's and row-decoding errors (only those: a body's own errors pass
/// through) become one-line ``LedgerError``s naming the file.
package struct SQLiteLedgerDatabase: LedgerDatabase {
    package let writer: any DatabaseWriter
    let path: String
    let busyTimeoutMs: Int64

    package var backend: LedgerBackend { .sqlite }

    package func read<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        do {
            return try writer.read { db in try body(SQLiteLedgerConnection(db: db, path: path)) }
        } catch let error where error is DatabaseError || error is RowDecodingError {
            throw LedgerError(error, path: path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    package func write<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        do {
            return try writer.write { db in try body(SQLiteLedgerConnection(db: db, path: path)) }
        } catch let error where error is DatabaseError || error is RowDecodingError {
            throw LedgerError(error, path: path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    package func write<T: Sendable>(
        _ body: @escaping @Sendable (any LedgerConnection) throws -> T
    ) async throws -> T {
        let path = path
        do {
            return try await writer.write { db in try body(SQLiteLedgerConnection(db: db, path: path)) }
        } catch let error where error is DatabaseError || error is RowDecodingError {
            throw LedgerError(error, path: path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    package func withoutTransaction<T>(_ body: (any LedgerConnection) throws -> T) throws -> T {
        do {
            return try writer.writeWithoutTransaction { db in try body(SQLiteLedgerConnection(db: db, path: path)) }
        } catch let error where error is DatabaseError || error is RowDecodingError {
            throw LedgerError(error, path: path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    package func close() {
        if let pool = writer as? DatabasePool { try? pool.close() }
        if let queue = writer as? DatabaseQueue { try? queue.close() }
    }
}

/// A GRDB `Database` inside one of ``SQLiteLedgerDatabase``'s transactions. Statements are GRDB's cached ones
/// (prepared once per connection and SQL text).
struct SQLiteLedgerConnection: LedgerConnection {
    let db: Database
    let path: String

    @discardableResult
    func execute(sql: String, arguments: [(any LedgerBindable)?]) throws -> Int {
        try db.cachedStatement(sql: sql).execute(arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func fetchAll(sql: String, arguments: [(any LedgerBindable)?]) throws -> [LedgerRow] {
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments)).map {
            LedgerRow(storage: .sqlite($0), ledgerPath: path)
        }
    }

    func forEachRow(
        sql: String, arguments: [(any LedgerBindable)?], _ body: (LedgerRow) throws -> Void
    ) throws {
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: Self.arguments(arguments))
        while let row = try cursor.next() { try body(LedgerRow(storage: .sqlite(row), ledgerPath: path)) }
    }

    static func arguments(_ values: [(any LedgerBindable)?]) -> StatementArguments {
        StatementArguments(
            values.map { value -> DatabaseValue in
                switch value?.ledgerValue ?? .null {
                case .null: .null
                case .integer(let value): value.databaseValue
                case .real(let value): value.databaseValue
                case .text(let text): text.databaseValue
                }
            })
    }
}
