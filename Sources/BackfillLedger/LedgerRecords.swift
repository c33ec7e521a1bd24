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

extension Row {
    /// A column holding one of the ledger's enums; a value outside it (a ledger edited by hand past its CHECK
    /// constraints) is a ledger error, never a crash.
    func decoded<T: RawRepresentable>(_ index: Int, path: String) throws -> T where T.RawValue == String {
        let raw: String = try decode(atIndex: index)
        guard let value = T(rawValue: raw) else {
            throw LedgerError.cannotOpen(path: path, reason: "unexpected value '\(raw.prefix(40))' in the ledger")
        }
        return value
    }
}
