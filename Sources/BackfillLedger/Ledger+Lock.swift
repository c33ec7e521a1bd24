import BackfillModel
import Foundation

/// Who holds the `apply` lock.
package struct LockHolder: Sendable, Equatable, CustomStringConvertible {
    package var owner: String
    package var pid: Int32
    package var host: String
    package var heartbeatAt: Int64

    package var description: String {
        "\(owner) (pid \(pid) on \(host), last heartbeat \(ISO8601Instant.format(heartbeatAt)))"
    }
}

extension Ledger {
    /// The lock name `apply` takes.
    package static let applyLock = "apply"
    /// A holder whose heartbeat is older than this is considered dead (heartbeats come every 5 s).
    package static let lockStaleMs: Int64 = 60_000

    /// Takes the lock if it is free or its holder is dead (a process of this host that no longer exists, or a
    /// heartbeat older than ``lockStaleMs``); otherwise returns the holder.
    package func tryLock(
        name: String = Ledger.applyLock, owner: String, now: Int64 = Ledger.nowMs()
    ) throws
        -> LockHolder?
    {
        let host = ProcessInfo.processInfo.hostName
        let pid = ProcessInfo.processInfo.processIdentifier
        return try write { db in
            if let row = try db.fetchOne(
                sql: "SELECT owner, pid, host, heartbeat_at FROM locks WHERE name = ?", arguments: [name])
            {
                let holder = LockHolder(
                    owner: try row.decode(atIndex: 0), pid: try row.decode(atIndex: 1),
                    host: try row.decode(atIndex: 2), heartbeatAt: try row.decode(atIndex: 3))
                let deadHere = holder.host == host && holder.pid != pid && kill(holder.pid, 0) != 0 && errno == ESRCH
                let stale = now - holder.heartbeatAt > Self.lockStaleMs
                guard deadHere || stale || holder.owner == owner else { return holder }
                try db.execute(sql: "DELETE FROM locks WHERE name = ?", arguments: [name])
            }
            try db.execute(
                sql: "INSERT INTO locks (name, owner, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [name, owner, pid, host, now])
            return nil
        }
    }

    /// Refreshes the holder's heartbeat.
    package func heartbeat(name: String = Ledger.applyLock, owner: String, now: Int64 = Ledger.nowMs()) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE locks SET heartbeat_at = ? WHERE name = ? AND owner = ?", arguments: [now, name, owner])
        }
    }

    /// Releases the lock if `owner` holds it.
    package func unlock(name: String = Ledger.applyLock, owner: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM locks WHERE name = ? AND owner = ?", arguments: [name, owner])
        }
    }

    /// Breaks the lock whoever holds it (`ledger unlock`); returns the holder it removed.
    @discardableResult
    package func breakLock(
        name: String = Ledger.applyLock, force: Bool = false, now: Int64 = Ledger.nowMs()
    ) throws -> LockHolder? {
        try write { db in
            guard
                let row = try db.fetchOne(
                    sql: "SELECT owner, pid, host, heartbeat_at FROM locks WHERE name = ?", arguments: [name])
            else { return nil }
            let holder = LockHolder(
                owner: try row.decode(atIndex: 0), pid: try row.decode(atIndex: 1), host: try row.decode(atIndex: 2),
                heartbeatAt: try row.decode(atIndex: 3))
            if !force {
                let host = ProcessInfo.processInfo.hostName
                if holder.host == host {
                    // kill(pid, 0): 0 or EPERM means a process with that id exists.
                    if kill(holder.pid, 0) == 0 || errno == EPERM {
                        throw LockStillHeld(holder: holder, reason: "its process \(holder.pid) is alive on this host")
                    }
                } else if now - holder.heartbeatAt <= Self.lockStaleMs {
                    let seconds = max(0, now - holder.heartbeatAt) / 1000
                    throw LockStillHeld(
                        holder: holder,
                        reason: "it sent a heartbeat \(seconds) s ago from \(holder.host); a dead holder stops within "
                            + "\(Self.lockStaleMs / 1000) s")
                }
            }
            try db.execute(sql: "DELETE FROM locks WHERE name = ?", arguments: [name])
            return holder
        }
    }
}

/// `ledger unlock` refused to break a lock whose holder looks alive (exit 1; `--force` breaks it anyway).
package struct LockStillHeld: Error, Equatable, CustomStringConvertible {
    package var holder: LockHolder
    package var reason: String

    package var description: String {
        "not unlocking: the lock is held by \(holder) and \(reason); --force breaks it anyway (two applies would then run at once)"
    }
}

/// `apply` could not get the ledger lock in time (exit 75).
package struct LockBusy: Error, Equatable, CustomStringConvertible {
    package var path: String
    package var holder: LockHolder

    package var description: String {
        "ledger \(path) is locked by \(holder); try again later, or run 'backfill-tool ledger unlock' if that process is gone"
    }
    package init(path: String, holder: LockHolder) {
        self.path = path
        self.holder = holder
    }
}
