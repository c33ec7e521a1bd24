import BackfillTestSupport
import Foundation
import Testing

@testable import BackfillEngine
@testable import BackfillExchange
@testable import BackfillLedger
@testable import BackfillModel
@testable import BackfillSpec

struct LedgerLockTests {
    @Test(arguments: LedgerBackend.allCases)
    func oneHolderAtATime(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        #expect(try ledger.tryLock(owner: "a") == nil)
        #expect(try ledger.tryLock(owner: "a") == nil, "re-entrant for its owner")
        let holder = try #require(try ledger.tryLock(owner: "b"))
        #expect(holder.owner == "a")
        #expect(holder.pid == ProcessInfo.processInfo.processIdentifier)
        try ledger.unlock(owner: "b")
        #expect(try ledger.tryLock(owner: "b")?.owner == "a", "only the owner releases")
        try ledger.unlock(owner: "a")
        #expect(try ledger.tryLock(owner: "b") == nil)
    }

    @Test(arguments: LedgerBackend.allCases)
    func deadOrSilentHoldersAreReplaced(_ backend: LedgerBackend) throws {
        let test = try TestLedger(backend)
        let ledger = test.ledger
        let host = ProcessInfo.processInfo.hostName
        let now = Ledger.nowMs()
        // A process of this host that no longer exists.
        try ledger.database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO locks (name, owner, pid, host, heartbeat_at) VALUES ('apply', 'gone', 2147483646, ?, ?)",
                arguments: [host, now])
        }
        #expect(try ledger.tryLock(owner: "me") == nil)
        // Another host's holder whose heartbeat stopped a while ago.
        try ledger.breakLock(force: true)
        try ledger.database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO locks (name, owner, pid, host, heartbeat_at) VALUES ('apply', 'far', 1, 'elsewhere', ?)",
                arguments: [now - Ledger.lockStaleMs - 1])
        }
        #expect(try ledger.tryLock(owner: "me") == nil)
        // A live one on another host is respected.
        try ledger.breakLock(force: true)
        try ledger.database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO locks (name, owner, pid, host, heartbeat_at) VALUES ('apply', 'busy', 1, 'elsewhere', ?)",
                arguments: [now])
        }
        #expect(try ledger.tryLock(owner: "me")?.owner == "busy")
        // ledger unlock: a live holder elsewhere is not broken unless forced; a live one here neither.
        #expect(throws: LockStillHeld.self) { try ledger.breakLock() }
        #expect(try ledger.breakLock(force: true)?.owner == "busy")
        #expect(try ledger.breakLock() == nil)
        #expect(try ledger.tryLock(owner: "me") == nil)
        #expect(throws: LockStillHeld.self) { try ledger.breakLock() }
        #expect(try ledger.breakLock(force: true)?.owner == "me")
    }
}
