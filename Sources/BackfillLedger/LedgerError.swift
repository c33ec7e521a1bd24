import BackfillModel
import Foundation

/// A ledger that cannot be used as asked: corrupt, newer than this build, unwritable, or a refused change.
package enum LedgerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case notADatabase(path: String)
    case newerSchema(path: String, unknownMigration: String)
    case cannotOpen(path: String, reason: String)
    case readOnly(path: String)
    case busy(path: String, waitedMs: Int64)
    case foreign(path: String, reason: String)
    case transitionRefused(fileId: Int64, from: FileStatus, to: FileStatus)
    case unknownFile(id: Int64)
    case leaseNotHeld(fileId: Int64, owner: String, status: FileStatus, holder: String?)
    case damaged(path: String)
    case cannotWrite(path: String, reason: String)
    case sqlite(String)

    package var description: String {
        switch self {
        case .notADatabase(let path):
            "ledger \(path) is not a SQLite database (corrupt or another kind of file)"
        case .newerSchema(let path, let migration):
            "ledger \(path) was written by a newer backfill-tool (migration '\(migration)'); upgrade backfill-tool"
        case .cannotOpen(let path, let reason):
            "cannot open ledger \(path): \(reason)"
        case .readOnly(let path):
            "ledger \(path) is read-only"
        case .foreign(let path, let reason):
            "\(path) is not a backfill-tool ledger: \(reason); refusing to change it"
        case .busy(let path, let waited):
            "ledger \(path) is busy: another program holds a write transaction"
                + " (gave up after \(Double(waited) / 1000) s); try again later"
        case .transitionRefused(let id, let from, let to):
            "file \(id): status \(from.rawValue) → \(to.rawValue) is not allowed"
        case .unknownFile(let id):
            "no file with id \(id) in the ledger"
        case .leaseNotHeld(let id, let owner, let status, let holder):
            if status == .processing, let holder {
                "file \(id) is leased to \(holder), not \(owner) (its lease may have expired and been claimed again)"
            } else {
                "file \(id) is \(status.rawValue), not processing under a lease of \(owner)"
            }
        case .damaged(let path):
            "ledger \(path) is damaged: a row holds a value its column cannot hold (check it with sqlite3 and "
                + "'PRAGMA integrity_check'; restore it from a backup)"
        case .cannotWrite(let path, let reason):
            "cannot write ledger \(path): \(reason)"
        case .sqlite(let message):
            "ledger error: \(message)"
        }
    }

    package var errorDescription: String? { description }
}

/// The life cycle of a registered file (§6.2).
package enum FileStatus: String, CaseIterable, Sendable, Codable, Hashable {
    case downloaded
    case processing
    case processed
    case deleted

    /// Whether a file may move from `self` to `next` (the same rule the schema's trigger enforces).
    package func canTransition(to next: FileStatus) -> Bool {
        switch (self, next) {
        case (.downloaded, .processing), (.processing, .processed), (.processing, .downloaded): true
        case (.downloaded, .deleted), (.processing, .deleted), (.processed, .deleted): true
        default: false
        }
    }
}

/// How a file came to be registered.
package enum FileSource: String, CaseIterable, Sendable, Codable, Hashable {
    case rest
    case archive
    case adopted
    case external
}
