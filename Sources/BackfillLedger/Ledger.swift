import BackfillModel
import Foundation
import GRDB

/// The ledger: files, coverage, watermarks, gaps, markets, runs and locks, in a SQLite file (`manifest.sqlite`,
/// one host) or a PostgreSQL database (many hosts, §13).
///
/// Following GRDB's `AppDatabase` pattern, it is a `Sendable` value over a ``LedgerDatabase``; every method that
/// changes something does so in one transaction, and the invariants (status transitions, append-only events,
/// forward-only watermarks, the generation counter) are enforced by the schema itself so that other programs
/// writing the same ledger are held to them too. A SQLite ledger is opened as a `DatabasePool` in WAL mode: readers
/// never block.
package struct Ledger: Sendable {
    package let database: any LedgerDatabase
    /// The path as given, or the PostgreSQL URL without its password (for messages).
    package let path: String
    /// How long a statement waits for another connection's write transaction before the ledger is "busy".
    package let busyTimeoutMs: Int64

    /// Readers (`plan`, `audit`, `ledger …`) wait a few seconds at most; their one optional write, the markets
    /// cache, is skipped when the ledger stays busy (§11).
    package static let readerBusyTimeoutMs: Int64 = 5_000

    /// Opens the ledger at `path`.
    /// - Parameters:
    ///   - create: create the file (and its parent directories) when it does not exist.
    ///   - busyTimeoutMs: how long any statement waits for another program's write transaction (bounded: then
    ///     ``LedgerError/busy(path:waitedMs:)``).
    /// - Returns: `nil` when the file does not exist and `create` is false.
    /// - Throws: ``LedgerError`` for a corrupt, newer, unreadable, unwritable or busy ledger.
    package static func open(
        path: String, create: Bool, busyTimeoutMs: Int64 = Ledger.readerBusyTimeoutMs
    ) throws(LedgerError) -> Ledger? {
        if PostgresLocation.isURL(path) {
            return try openPostgres(
                url: path, create: create, busyTimeoutMs: busyTimeoutMs,
                environment: ProcessInfo.processInfo.environment)
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        let existed = fileManager.fileExists(atPath: path, isDirectory: &isDirectory)
        guard !path.isEmpty else { throw .cannotOpen(path: "''", reason: "the path is empty") }
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        let timeout = min(max(busyTimeoutMs, 0), 3_600_000)
        if existed {
            if isDirectory.boolValue { throw .cannotOpen(path: path, reason: "it is a directory") }
            // Only a file that is a ledger is opened as one: never add tables to another program's database or to
            // an empty file (§11).
            try checkIsLedger(path)
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
            try createAtomically(path, configuration: configuration)
        }
        removeStaleCreations(beside: path)
        configuration.busyMode = .timeout(TimeInterval(timeout) / 1000)
        configuration.label = "ledger"
        // Two processes creating the same new ledger race for WAL mode and the first migration: SQLite answers
        // "locked" at once there (no busy handler), so opening is retried, within the same busy timeout in all.
        let deadline = WallClock.nowMs() + timeout
        if existed, Self.walIsEmpty(path) {
            // GRDB's pool makes sure a non-empty WAL file exists by writing when it finds none. Tried first with a
            // short wait: when another program holds the write lock, the ledger is opened on one connection
            // instead, which reads beside that writer as WAL allows (and writes once it is done).
            var quick = configuration
            quick.busyMode = .timeout(0.25)
            do {
                try DatabasePool(path: path, configuration: quick).close()
            } catch let error as DatabaseError
                where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
            {
                if let ledger = try? openSingleConnection(path: path, configuration: configuration, timeout: timeout) {
                    return ledger
                }
            } catch {}
        }
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                let ledger = Ledger(writer: pool, path: path, busyTimeoutMs: timeout)
                try ledger.migrate()
                return ledger
            } catch let error as LedgerError {
                throw error
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED)
            {
                // The same as above, found late (the WAL emptied meanwhile).
                if existed,
                    let ledger = try? openSingleConnection(path: path, configuration: configuration, timeout: timeout)
                {
                    return ledger
                }
                guard WallClock.nowMs() < deadline else { throw LedgerError.busy(path: path, waitedMs: timeout) }
                usleep(50_000)
            } catch {
                throw LedgerError(error, path: path, busyTimeoutMs: timeout)
            }
        }
    }

    /// Refuses a file that is not a ledger: empty, not SQLite, or SQLite without backfill-tool's `meta` (the ccxt
    /// job's manifest is named as such, with the way to import it).
    static func checkIsLedger(_ path: String) throws(LedgerError) {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size > 0 else {
            throw .foreign(path: path, reason: "it is an empty file (a new ledger is created only where no file is)")
        }
        // A read-write connection that only reads: a read-only one cannot recover the WAL index a killed writer
        // left, and then reads the main file without the WAL's transactions.
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let tables: Set<String>
        let version: String?
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            (tables, version) = try queue.read { db in
                let names = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                let version =
                    names.contains("meta")
                    ? try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'") : nil
                return (names, version)
            }
        } catch {
            throw LedgerError(error, path: path)
        }
        if version != nil, !tables.contains("grdb_migrations") {
            throw .foreign(
                path: path, reason: "it has a meta table but none of backfill-tool's migrations (grdb_migrations)")
        }
        guard let version else {
            if tables.contains("manifest") {
                throw .foreign(
                    path: path,
                    reason:
                        "it is the ccxt job's manifest; import it with 'backfill-tool ledger import-legacy \(path)' into a new ledger"
                )
            }
            throw .foreign(path: path, reason: "it is another program's SQLite database (no backfill-tool meta table)")
        }
        guard let number = Int(version), number >= 1 else {
            throw .foreign(path: path, reason: "its meta.schema_version is '\(version.prefix(20))'")
        }
        guard number <= LedgerSchema.currentVersion else {
            throw .newerSchema(path: path, unknownMigration: "schema version \(number)")
        }
    }

    /// Creates a new ledger: migrated in a temporary file beside `path`, then linked into place, so no other
    /// process ever sees a half-made ledger (an empty file there is refused); a ledger another process created
    /// first is kept.
    /// Removes what a process killed while creating a ledger left beside `path` (`.<name>.creating-<pid>-<n>` and its
    /// journal files), once that process is gone.
    static func removeStaleCreations(beside path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let prefix = ".\((path as NSString).lastPathComponent).creating-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
        else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0, pid != getpid() else {
                continue
            }
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink((directory.isEmpty ? "" : directory + "/") + name)
            }
        }
    }

    static func createAtomically(_ path: String, configuration: Configuration) throws(LedgerError) {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary =
            (directory.isEmpty ? "" : directory + "/")
            + ".\(name).creating-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(temporary + suffix) } }
        do {
            // One connection, checkpointed before it closes: everything, WAL mode included, is in the main file
            // that is linked into place (a pool's read-only connections may close last and keep it in the WAL).
            let queue = try DatabaseQueue(path: temporary, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                    throw LedgerError.cannotOpen(path: path, reason: "the file system does not support WAL mode")
                }
            }
            try Ledger(writer: queue, path: temporary, busyTimeoutMs: 0).migrate()
            try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try queue.close()
        } catch {
            throw LedgerError(error, path: path)
        }
        if link(temporary, path) != 0 {
            let code = errno
            if code == EEXIST { return }
            // A file system without hard links: rename, which does not keep a ledger made meanwhile.
            guard rename(temporary, path) == 0 else {
                throw .cannotOpen(path: path, reason: String(cString: strerror(code)))
            }
        }
    }

    /// Whether the ledger's `-wal` file is missing or empty (GRDB's pool then writes when it opens).
    private static func walIsEmpty(_ path: String) -> Bool {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path + "-wal")
        return ((attributes?[.size] as? NSNumber)?.intValue ?? 0) == 0
    }

    /// An existing ledger on one connection (no WAL set-up write); nil when it cannot be opened so either.
    private static func openSingleConnection(
        path: String, configuration: Configuration, timeout: Int64
    ) throws -> Ledger? {
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        let ledger = Ledger(writer: queue, path: path, busyTimeoutMs: timeout)
        try ledger.migrate()
        return ledger
    }

    /// An in-memory ledger for quick unit tests (same schema, same triggers).
    package static func inMemory() throws -> Ledger {
        let queue = try DatabaseQueue()
        let ledger = Ledger(writer: queue, path: ":memory:", busyTimeoutMs: 0)
        try ledger.migrate()
        return ledger
    }

    private init(writer: any DatabaseWriter, path: String, busyTimeoutMs: Int64) {
        self.database = SQLiteLedgerDatabase(writer: writer, path: path, busyTimeoutMs: busyTimeoutMs)
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
    }

    init(database: any LedgerDatabase, path: String, busyTimeoutMs: Int64) {
        self.database = database
        self.path = path
        self.busyTimeoutMs = busyTimeoutMs
    }

    /// A SQLite ledger's GRDB writer (tests that check the file itself); `nil` for PostgreSQL.
    package var sqliteWriter: (any DatabaseWriter)? { (database as? SQLiteLedgerDatabase)?.writer }

    /// Which engine holds this ledger.
    package var backend: LedgerBackend { database.backend }

    /// A read transaction on one snapshot; the engine's errors become one-line ``LedgerError``s naming the ledger.
    func read<T>(_ body: (any LedgerConnection) throws -> T) throws -> T { try database.read(body) }

    /// A write transaction; the engine's errors become one-line ``LedgerError``s naming the ledger.
    func write<T>(_ body: (any LedgerConnection) throws -> T) throws -> T { try database.write(body) }

    /// A write transaction off the caller's thread.
    func write<T: Sendable>(_ body: @escaping @Sendable (any LedgerConnection) throws -> T) async throws -> T {
        try await database.write(body)
    }

    /// Closes the ledger's connections.
    package func close() { database.close() }

    /// The numbered migrations. A migration is never edited once released; a change is a new `vN`.
    package static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in try db.execute(sql: LedgerSchema.v1) }
        migrator.registerMigration("v2") { db in try db.execute(sql: LedgerSchema.v2) }
        // A table rebuild: GRDB runs it with foreign keys off and checks them before it commits.
        migrator.registerMigration("v3", foreignKeyChecks: .deferred) { db in try db.execute(sql: LedgerSchema.v3) }
        migrator.registerMigration("v4") { db in try db.execute(sql: LedgerSchema.v4) }
        return migrator
    }

    /// Applies pending migrations, refusing a ledger written by a newer build.
    private func migrate() throws {
        guard let writer = sqliteWriter else { return }
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
        try read { db in try Self.generation(db) }
    }

    static func generation(_ db: any LedgerConnection) throws -> Int64 {
        try db.fetchOne(Int64.self, sql: "SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'generation'") ?? 0
    }
}

extension LedgerError {
    /// Maps a GRDB/SQLite error to a one-line ledger error.
    init(_ error: any Error, path: String, busyTimeoutMs: Int64 = 0) {
        if let error = error as? LedgerError {
            self = error
            return
        }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT: self = .notADatabase(path: path)
            case .SQLITE_BUSY, .SQLITE_LOCKED: self = .busy(path: path, waitedMs: busyTimeoutMs)
            case .SQLITE_READONLY: self = .readOnly(path: path)
            case .SQLITE_CANTOPEN: self = .cannotOpen(path: path, reason: "permission denied or missing directory")
            case .SQLITE_FULL: self = .cannotWrite(path: path, reason: "the disk is full")
            case .SQLITE_IOERR:
                self = .cannotWrite(
                    path: path, reason: "disk I/O error (a full disk, a file-size limit or a failing device)")
            default:
                // The message only (one line); GRDB's description adds the statement, over several lines.
                let message = (error.message ?? "\(error.resultCode)").split(whereSeparator: \.isNewline).first
                self = .sqlite("\(path): " + (message.map(String.init) ?? "SQLite error \(error.resultCode.rawValue)"))
            }
            return
        }
        if error is RowDecodingError {
            self = .damaged(path: path)
            return
        }
        self = .sqlite(
            "\(path): " + (String(describing: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""))
    }
}
