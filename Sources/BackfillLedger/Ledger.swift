import BackfillModel
import Foundation
import GRDB

/// The SQLite ledger (`manifest.sqlite`): files, coverage, watermarks, gaps, markets, runs and locks.
///
/// Following GRDB's `AppDatabase` pattern, it is a `Sendable` value over `any DatabaseWriter`; every method that
/// changes something does so in one transaction, and the invariants (status transitions, append-only events,
/// forward-only watermarks, the generation counter) are enforced by the schema itself so that other programs
/// writing the same file are held to them too. Opened as a `DatabasePool` in WAL mode: readers never block.
package struct Ledger: Sendable {
    package let writer: any DatabaseWriter
    /// The path as given (for messages).
    package let path: String

    /// Opens the ledger at `path`.
    /// - Parameters:
    ///   - create: create the file (and its parent directories) when it does not exist.
    /// - Returns: `nil` when the file does not exist and `create` is false.
    /// - Throws: ``LedgerError`` for a corrupt, newer, unreadable or unwritable ledger.
    package static func open(path: String, create: Bool) throws(LedgerError) -> Ledger? {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw .cannotOpen(path: path, reason: "it is a directory") }
        } else {
            guard create else { return nil }
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty {
                do {
                    try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
                } catch {
                    throw .cannotOpen(path: path, reason: "cannot create directory \(parent)")
                }
            }
        }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.label = "ledger"
        // Two processes creating the same new ledger race for WAL mode and the first migration: SQLite answers
        // "locked" at once there (no busy handler), so opening is retried for up to the busy timeout.
        var attempt = 0
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                let ledger = Ledger(writer: pool, path: path)
                try ledger.migrate()
                return ledger
            } catch let error as LedgerError {
                throw error
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED) && attempt < 200
            {
                attempt += 1
                usleep(50_000)
            } catch {
                throw LedgerError(error, path: path)
            }
        }
    }

    /// An in-memory ledger for quick unit tests (same schema, same triggers).
    package static func inMemory() throws -> Ledger {
        let queue = try DatabaseQueue()
        let ledger = Ledger(writer: queue, path: ":memory:")
        try ledger.migrate()
        return ledger
    }

    private init(writer: any DatabaseWriter, path: String) {
        self.writer = writer
        self.path = path
    }

    /// The numbered migrations. A migration is never edited once released; a change is a new `vN`.
    package static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: LedgerSchema.v1) }
        migrator.registerMigration("v2") { db in try db.execute(sql: LedgerSchema.v2) }
        return migrator
    }

    /// Applies pending migrations, refusing a ledger written by a newer build.
    private func migrate() throws {
        let migrator = Self.migrator
        let known = Set(Self.migrator.migrations)
        let applied = try writer.read { db in try migrator.appliedIdentifiers(db) }
        if let unknown = applied.subtracting(known).sorted().first {
            throw LedgerError.newerSchema(path: path, unknownMigration: unknown)
        }
        if applied.count < known.count {
            do {
                try migrator.migrate(writer)
            } catch {
                // Another process (a second apply on a new ledger) may have migrated it first.
                let now = try writer.read { db in try migrator.appliedIdentifiers(db) }
                guard now.isSuperset(of: known) else { throw error }
            }
        }
    }

    /// The current generation: bumped by the schema's triggers on every change to coverage.
    package func generation() throws -> Int64 {
        try writer.read { db in try Self.generation(db) }
    }

    static func generation(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'") ?? 0
    }
}

extension LedgerError {
    /// Maps a GRDB/SQLite error to a one-line ledger error.
    init(_ error: any Error, path: String) {
        if let error = error as? LedgerError {
            self = error
            return
        }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT: self = .notADatabase(path: path)
            case .SQLITE_READONLY: self = .readOnly(path: path)
            case .SQLITE_CANTOPEN: self = .cannotOpen(path: path, reason: "permission denied or missing directory")
            default: self = .sqlite(error.message ?? "\(error.resultCode)")
            }
            return
        }
        self = .sqlite(String(describing: error))
    }
}
