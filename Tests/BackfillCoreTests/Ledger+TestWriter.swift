import GRDB
import Testing

@testable import BackfillLedger

extension Ledger {
    /// A SQLite ledger's GRDB writer, for the tests that check the file itself (a PostgreSQL ledger has none).
    var writer: any DatabaseWriter {
        get throws { try #require(sqliteWriter, "a SQLite ledger") }
    }
}
