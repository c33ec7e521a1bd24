import BackfillModel
import Foundation

/// What claiming one chunk task found (§13 cooperating workers).
package enum TaskClaim: Sendable, Equatable {
    /// This worker holds the lease now; `takeover`: another worker's lease had expired.
    case claimed(takeover: Bool)
    /// Another worker registered it.
    case done
    /// Another worker holds a lease that has not expired.
    case leased(owner: String, expiresAt: Int64)
}

extension Ledger {
    /// Whether this ledger coordinates several apply workers through task leases (PostgreSQL); a SQLite ledger
    /// has the single-apply lock instead.
    package var coordinatesWorkers: Bool { backend == .postgresql }

    /// A chunk task's identity, the same on every worker: the series and the chunk-grid range.
    package static func taskKey(
        exchange: ExchangeKind, market: MarketKind, symbol: String, timeframe: Timeframe, range: TimeRange
    ) -> String {
        "\(exchange.rawValue):\(market.rawValue):\(symbol):\(timeframe.rawValue):\(range.lowerBound):\(range.upperBound)"
    }

    /// Claims `key` for `owner` for `leaseMs`: a task no one has claimed, one whose lease expired (a worker that
    /// died or stalled), or one released. Rows other workers are claiming at that moment are skipped, never waited
    /// for (`FOR UPDATE SKIP LOCKED`).
    package func claimTask(
        _ key: String, owner: String, leaseMs: Int64, at now: Int64 = Ledger.nowMs()
    ) throws -> TaskClaim {
        guard let database = database as? PostgresLedgerDatabase else { return .claimed(takeover: false) }
        let expires = now + leaseMs
        return try database.claimWrite { db in
            if try db.fetchOne(
                String.self,
                sql: """
                    INSERT INTO task_leases (task_key, state, owner, lease_expires_at, attempts, updated_at)
                    VALUES (?, 'leased', ?, ?, 1, ?)
                    ON CONFLICT (task_key) DO NOTHING
                    RETURNING task_key
                    """, arguments: [key, owner, expires, now]) != nil
            {
                return .claimed(takeover: false)
            }
            if let previous = try db.fetchOne(
                sql: """
                    WITH free AS (
                        SELECT task_key, state FROM task_leases
                        WHERE task_key = ? AND (state = 'open' OR (state = 'leased' AND lease_expires_at <= ?))
                        FOR UPDATE SKIP LOCKED
                    )
                    UPDATE task_leases SET state = 'leased', owner = ?, lease_expires_at = ?, attempts = attempts + 1,
                                           updated_at = ?
                    FROM free WHERE task_leases.task_key = free.task_key
                    RETURNING free.state
                    """, arguments: [key, now, owner, expires, now])
            {
                let state: String = try previous.decode(atIndex: 0)
                return .claimed(takeover: state == "leased")
            }
            guard
                let row = try db.fetchOne(
                    sql: "SELECT state, owner, lease_expires_at FROM task_leases WHERE task_key = ?", arguments: [key])
            else { return .leased(owner: "another worker", expiresAt: now) }
            let state: String = try row.decode(atIndex: 0)
            if state == "done" { return .done }
            let holder: String? = try row.decode(atIndex: 1)
            let until: Int64? = try row.decode(atIndex: 2)
            return .leased(owner: holder ?? "another worker", expiresAt: until ?? now)
        }
    }

    /// Extends every lease `owner` holds by `leaseMs` from `now`; returns how many.
    @discardableResult
    package func heartbeatTasks(owner: String, leaseMs: Int64, at now: Int64 = Ledger.nowMs()) throws -> Int {
        guard let database = database as? PostgresLedgerDatabase else { return 0 }
        return try database.claimWrite { db in
            try db.execute(
                sql: """
                    UPDATE task_leases SET lease_expires_at = ?, updated_at = ?
                    WHERE owner = ? AND state = 'leased'
                    """, arguments: [now + leaseMs, now, owner])
        }
    }

    /// Gives back the leases `owner` still holds (a stopped run): other workers take them at once.
    @discardableResult
    package func releaseTasks(owner: String, at now: Int64 = Ledger.nowMs()) throws -> Int {
        guard let database = database as? PostgresLedgerDatabase else { return 0 }
        return try database.claimWrite { db in
            try db.execute(
                sql: """
                    UPDATE task_leases SET state = 'open', owner = NULL, lease_expires_at = NULL, updated_at = ?
                    WHERE owner = ? AND state = 'leased'
                    """, arguments: [now, owner])
        }
    }

    /// Inside a commit: marks `key` done when `owner` still holds it; false when its lease was lost (taken over
    /// after it expired), and then nothing of the task is registered.
    static func finishTask(_ key: String, owner: String, at now: Int64, db: any LedgerConnection) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE task_leases SET state = 'done', owner = NULL, lease_expires_at = NULL, updated_at = ?
                WHERE task_key = ? AND owner = ? AND state = 'leased'
                """, arguments: [now, key, owner]) == 1
    }
}
