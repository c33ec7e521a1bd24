import BackfillModel
import GRDB

/// The ledger's enums, decoded at the ledger boundary: every value the schema's CHECK constraints allow has a case,
/// so nothing above the ledger parses a status, timeframe, source or outcome string again.
extension Timeframe: DatabaseValueConvertible {}
extension FileStatus: DatabaseValueConvertible {}
extension FileSource: DatabaseValueConvertible {}

/// How a run recorded in `runs` ended.
package enum RunOutcome: String, CaseIterable, Sendable, Codable, DatabaseValueConvertible {
    case running
    case succeeded
    case failed
    case interrupted
}
