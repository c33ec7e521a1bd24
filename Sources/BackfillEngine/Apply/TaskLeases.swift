import BackfillLedger
import BackfillModel
import Foundation

/// One apply worker's leases on a PostgreSQL ledger (§13): several workers, on one host or many, share a plan and
/// never run a chunk twice. Each task is claimed before it runs (``Ledger/claimTask(_:owner:leaseMs:at:)``, `FOR
/// UPDATE SKIP LOCKED`), its lease extended every third of `leaseMs` while the worker lives, and marked done in the
/// transaction that registers its file; a worker killed mid-run stops extending its leases, and the others take its
/// tasks over once they expire.
package struct TaskLeases: Sendable {
    package var ledger: Ledger
    /// Who holds the leases: host, process and a random suffix.
    package var owner: String
    /// How long a lease lasts without a heartbeat (`BACKFILL_TASK_LEASE_MS`, default 60 s).
    package var leaseMs: Int64

    package static let defaultLeaseMs: Int64 = 60_000

    package init(ledger: Ledger, owner: String, leaseMs: Int64 = TaskLeases.defaultLeaseMs) {
        self.ledger = ledger
        self.owner = owner
        self.leaseMs = max(100, leaseMs)
    }

    /// A worker's owner name: `host pid N id`.
    package static func owner() -> String {
        let info = ProcessInfo.processInfo
        return "\(info.hostName) pid \(info.processIdentifier) \(UUID().uuidString.prefix(8).lowercased())"
    }

    func claim(_ task: PlanTask, exchange: ExchangeKind, market: MarketKind) throws -> TaskClaim {
        try ledger.claimTask(
            Ledger.taskKey(
                exchange: exchange, market: market, symbol: task.symbol, timeframe: task.timeframe, range: task.range),
            owner: owner, leaseMs: leaseMs)
    }
}
