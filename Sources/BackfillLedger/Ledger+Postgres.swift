import Foundation

extension Ledger {
    /// Opens the PostgreSQL ledger at `url` (§13), migrating it to this build's schema.
    /// - Parameters:
    ///   - create: create the ledger's tables in a database that has none (the database itself must exist).
    /// - Returns: `nil` when the database holds no ledger and `create` is false.
    /// - Throws: ``LedgerError`` for a server that cannot be reached or refuses the credentials, a database that
    ///   holds another program's tables, or a ledger written by a newer build. No message names the password.
    static func openPostgres(
        url: String, create: Bool, busyTimeoutMs: Int64, environment: [String: String]
    ) throws(LedgerError) -> Ledger? {
        let location = try PostgresLocation(url: url, environment: environment)
        let timeout = min(max(busyTimeoutMs, 0), 3_600_000)
        let database = try PostgresLedgerDatabase(location: location, busyTimeoutMs: timeout)
        let ledger = Ledger(database: database, path: location.description, busyTimeoutMs: timeout)
        do {
            guard try ledger.migratePostgres(database: database, create: create) else {
                database.close()
                return nil
            }
        } catch {
            database.close()
            throw error
        }
        return ledger
    }

    /// Applies the pending PostgreSQL migrations under an advisory lock (so two hosts opening a new ledger at once
    /// migrate it once); refuses a database with other tables and a ledger with a migration this build does not
    /// know. Returns false when there is no ledger and `create` is false.
    private func migratePostgres(database: PostgresLedgerDatabase, create: Bool) throws(LedgerError) -> Bool {
        let lockKey = PostgresLedgerDatabase.migrationLockKey
        do {
            return try database.withoutTransaction { db in
                try db.execute(sql: "SELECT pg_advisory_lock(\(lockKey))")
                defer { _ = try? db.execute(sql: "SELECT pg_advisory_unlock(\(lockKey))") }
                let tables = Set(
                    try db.fetchAll(
                        String.self, sql: "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                if !tables.contains("ledger_migrations") {
                    if !tables.isEmpty {
                        throw LedgerError.foreign(
                            path: path,
                            reason: "its schema holds \(tables.count) table(s) but none of backfill-tool's migrations "
                                + "(ledger_migrations); use an empty database or another schema")
                    }
                    guard create else { return false }
                }
                let applied = Set(
                    tables.contains("ledger_migrations")
                        ? try db.fetchAll(String.self, sql: "SELECT identifier FROM ledger_migrations") : [])
                let known = PostgresLedgerSchema.migrations.map(\.identifier)
                if let unknown = applied.subtracting(known).sorted().first {
                    throw LedgerError.newerSchema(path: path, unknownMigration: unknown)
                }
                for migration in PostgresLedgerSchema.migrations where !applied.contains(migration.identifier) {
                    try db.execute(sql: "BEGIN")
                    do {
                        for statement in PostgresDialect.statements(migration.sql) {
                            try db.execute(sql: statement)
                        }
                        if migration.identifier != "v4" {
                            try db.execute(
                                sql: "INSERT INTO ledger_migrations (identifier, applied_at) VALUES ('"
                                    + migration.identifier + "', backfill_now_ms())")
                        }
                        try db.execute(sql: "COMMIT")
                    } catch {
                        _ = try? db.execute(sql: "ROLLBACK")
                        throw error
                    }
                }
                return true
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw database.mapError(error, connecting: false)
        }
    }
}
