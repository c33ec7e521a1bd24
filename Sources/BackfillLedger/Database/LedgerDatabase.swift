import BackfillModel
import Foundation
import GRDB

/// Where a ledger lives: a SQLite file (one host) or a PostgreSQL database (many hosts, §13).
///
/// The ledger's SQL is written once, in the subset both engines run (`?` placeholders, `ON CONFLICT`, `RETURNING`,
/// `CAST(… AS BIGINT)`, `CASE` sums); the PostgreSQL connection rewrites placeholders and drops SQLite's `INDEXED
/// BY` hints. Each backend holds the same invariants in its own schema (triggers in both).
package protocol LedgerDatabase: Sendable {
    /// A read transaction on one consistent snapshot.
    func read<T>(_ body: (any LedgerConnection) throws -> T) throws -> T
    /// A write transaction: all or nothing, serialised with every other writer of the ledger.
    func write<T>(_ body: (any LedgerConnection) throws -> T) throws -> T
    /// The same write transaction, run off the caller's thread (a cooperative thread is never blocked on it).
    func write<T: Sendable>(_ body: @escaping @Sendable (any LedgerConnection) throws -> T) async throws -> T
    /// Statements outside a transaction (each commits on its own): schema checks and claims that take their own
    /// row locks.
    func withoutTransaction<T>(_ body: (any LedgerConnection) throws -> T) throws -> T
    /// Which engine this is (a few statements differ: leases, lock hints).
    var backend: LedgerBackend { get }
    /// Closes the connections (the ledger is not used afterwards).
    func close()
}

/// The two ledger engines.
package enum LedgerBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgresql

    package var description: String { rawValue }
}

/// One connection inside a transaction (valid only inside the closure it was given to).
package protocol LedgerConnection {
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(sql: String, arguments: [(any LedgerBindable)?]) throws -> Int
    /// Every row of a query.
    func fetchAll(sql: String, arguments: [(any LedgerBindable)?]) throws -> [LedgerRow]
    /// The rows of a query, one at a time (a row is valid only during its call).
    func forEachRow(sql: String, arguments: [(any LedgerBindable)?], _ body: (LedgerRow) throws -> Void) throws
}

extension LedgerConnection {
    @discardableResult
    package func execute(sql: String) throws -> Int { try execute(sql: sql, arguments: []) }

    package func fetchAll(sql: String) throws -> [LedgerRow] { try fetchAll(sql: sql, arguments: []) }

    /// The first row of a query, if any.
    package func fetchOne(sql: String, arguments: [(any LedgerBindable)?] = []) throws -> LedgerRow? {
        try fetchAll(sql: sql, arguments: arguments).first
    }

    /// The first column of the first row, if any (`nil` also for SQL NULL).
    package func fetchOne<T: LedgerDecodable>(
        _ type: T.Type, sql: String, arguments: [(any LedgerBindable)?] = []
    ) throws -> T? {
        guard let row = try fetchOne(sql: sql, arguments: arguments) else { return nil }
        let value: T? = try row.decode(atIndex: 0)
        return value
    }

    /// The first column of every row.
    package func fetchAll<T: LedgerDecodable>(
        _ type: T.Type, sql: String, arguments: [(any LedgerBindable)?] = []
    ) throws -> [T] {
        try fetchAll(sql: sql, arguments: arguments).map { try $0.decode(atIndex: 0) }
    }
}

/// A value bound to a statement or read from a row.
package enum LedgerValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A Swift value that binds as a ledger value.
package protocol LedgerBindable {
    var ledgerValue: LedgerValue { get }
}

/// A Swift value that decodes from a ledger value (`nil`: the value cannot be this type).
package protocol LedgerDecodable {
    static func decode(_ value: LedgerValue) -> Self?
}

extension Int64: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .integer(self) }
    package static func decode(_ value: LedgerValue) -> Int64? {
        switch value {
        case .integer(let value): value
        case .real(let value): Int64(exactly: value)
        case .text(let text): Int64(text)
        case .null: nil
        }
    }
}

extension Int: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .integer(Int64(self)) }
    package static func decode(_ value: LedgerValue) -> Int? { Int64.decode(value).flatMap { Int(exactly: $0) } }
}

extension Int32: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .integer(Int64(self)) }
    package static func decode(_ value: LedgerValue) -> Int32? { Int64.decode(value).flatMap { Int32(exactly: $0) } }
}

extension Double: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .real(self) }
    package static func decode(_ value: LedgerValue) -> Double? {
        switch value {
        case .integer(let value): Double(value)
        case .real(let value): value
        case .text(let text): Double(text)
        case .null: nil
        }
    }
}

extension String: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .text(self) }
    package static func decode(_ value: LedgerValue) -> String? {
        if case .text(let text) = value { return text }
        return nil
    }
}

extension Bool: LedgerBindable, LedgerDecodable {
    package var ledgerValue: LedgerValue { .integer(self ? 1 : 0) }
    package static func decode(_ value: LedgerValue) -> Bool? { Int64.decode(value).map { $0 != 0 } }
}

extension Optional: LedgerDecodable where Wrapped: LedgerDecodable {
    package static func decode(_ value: LedgerValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}

extension LedgerBindable where Self: RawRepresentable, RawValue == String {
    package var ledgerValue: LedgerValue { .text(rawValue) }
}

extension Timeframe: LedgerBindable {}
extension FileStatus: LedgerBindable {}
extension FileSource: LedgerBindable {}
extension RunOutcome: LedgerBindable {}
extension MarketKind: LedgerBindable {}
extension ExchangeKind: LedgerBindable {}

/// One result row: values by column index.
package struct LedgerRow {
    /// Where the row's values come from: read in place (SQLite's cursor) or already decoded.
    enum Storage {
        case values([LedgerValue])
        /// A SQLite row, read where it is (a cursor's row is valid only during its call).
        case sqlite(Row)
    }

    let storage: Storage
    /// For messages: the ledger this row came from.
    var ledgerPath: String

    package init(values: [LedgerValue], ledgerPath: String) {
        storage = .values(values)
        self.ledgerPath = ledgerPath
    }

    init(storage: Storage, ledgerPath: String) {
        self.storage = storage
        self.ledgerPath = ledgerPath
    }

    package var count: Int {
        switch storage {
        case .values(let values): values.count
        case .sqlite(let row): row.count
        }
    }

    /// The value at `index` (NULL past the last column).
    package func value(atIndex index: Int) -> LedgerValue {
        switch storage {
        case .values(let values): index < values.count ? values[index] : .null
        case .sqlite(let row):
            if index >= row.count {
                .null
            } else {
                switch (row[index] as DatabaseValue).storage {
                case .null, .blob: .null
                case .int64(let value): .integer(value)
                case .double(let value): .real(value)
                case .string(let text): .text(text)
                }
            }
        }
    }

    /// A column's value as `T`; a value that is not one (a ledger edited by hand) is a ledger error, never a crash.
    package func decode<T: LedgerDecodable>(atIndex index: Int) throws -> T {
        let value = value(atIndex: index)
        guard let decoded = T.decode(value) else { throw LedgerError.damaged(path: ledgerPath) }
        return decoded
    }

    /// A column holding one of the ledger's enums; a value outside it (a ledger edited by hand past its CHECK
    /// constraints) is a ledger error, never a crash.
    func decoded<T: RawRepresentable>(_ index: Int, path: String) throws -> T where T.RawValue == String {
        let raw: String = try decode(atIndex: index)
        guard let value = T(rawValue: raw) else {
            throw LedgerError.cannotOpen(path: path, reason: "unexpected value '\(raw.prefix(40))' in the ledger")
        }
        return value
    }

    /// Calls `body` with a text column's UTF-8 bytes in place (no string made); `nil` for a column that is not
    /// text.
    func withUTF8(atIndex index: Int, _ body: (UnsafeRawBufferPointer) -> Bool) -> Bool? {
        switch storage {
        case .values(let values):
            guard index < values.count, case .text(var text) = values[index] else { return nil }
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        case .sqlite(let row):
            guard index < row.count else { return nil }
            return row.dataNoCopy(atIndex: index)?.withUnsafeBytes { body($0) }
        }
    }
}
