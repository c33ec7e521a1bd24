import BackfillTestSupport
import FakeBinance
import Foundation
import Testing

@testable import BackfillModel

/// Issue 13 point 1: another program holding a write transaction on the ledger (`BEGIN IMMEDIATE` or `EXCLUSIVE`
/// from Python's sqlite3) never holds the tool long: readers finish (their markets-cache write is skipped), every
/// wait is bounded, and a busy ledger is exit 75 naming it.
@Suite(.serialized)
struct BusyLedgerTests {
    static let now = CivilDate(year: 2024, month: 3, day: 1).epochMs

    /// A Python process holding `mode` on `path` until it is terminated; returns once the lock is held.
    static func hold(_ path: String, mode: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            # An empty WAL file, as after a checkpoint: the case where opening a pool wants to write.
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("BEGIN \(mode)")
            db.execute("UPDATE meta SET value = value WHERE key = 'generation'")
            print("held", flush=True)
            time.sleep(120)
            """, path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = pipe.fileHandleForReading.availableDataOrWait()
        #expect(line.hasPrefix("held"), "the holder did not take the lock: \(line)")
        return process
    }

    @Test(arguments: ["IMMEDIATE", "EXCLUSIVE"])
    func readersFinishAndWritersGiveUpInTime(mode: String) async throws {
        try await withFakeBinance(FakeBinanceConfig(clock: .init(frozenMs: Self.now))) { server in
            let dir = try TemporaryDirectory("busy")
            func plan(_ symbols: String) throws {
                try dir.write(
                    """
                    version: 1
                    exchange: binance
                    base_url: \(server.baseURL)
                    landing: incoming
                    ledger: manifest.sqlite
                    defaults: {start: 2024-02-20, end: 2024-02-25}
                    targets:
                      - symbols: [\(symbols)]
                        timeframes: [1h]
                    """, to: "plan.yaml")
            }
            try plan("BTC/USDT")
            let first = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(first.exitCode == 0, "\(first.stderr)")
            // ETH is not in the markets cache: plan asks exchangeInfo and would cache it.
            try plan("BTC/USDT, ETH/USDT")
            let holder = try Self.hold(dir.path("manifest.sqlite"), mode: mode)
            defer { kill(holder.processIdentifier, SIGKILL) }

            var started = Date()
            let planned = try await ToolRunner().run(["plan", "plan.yaml"], in: dir.path)
            #expect(planned.exitCode == 0, "\(planned.stderr)")
            #expect(planned.stdout.contains("+ fetch ETH/USDT 1h"), "\(planned.stdout)")
            #expect(Date().timeIntervalSince(started) < 20, "a reader waits a few seconds at most")

            started = Date()
            let audit = try await ToolRunner().run(["audit", "plan.yaml"], in: dir.path)
            #expect(audit.exitCode == 2, "findings: ETH's gap. \(audit.stderr)")
            #expect(Date().timeIntervalSince(started) < 20)

            started = Date()
            let apply = try await ToolRunner().run(["apply", "plan.yaml", "--lock-timeout", "2s"], in: dir.path)
            #expect(apply.exitCode == 75, "\(apply.stdout)\(apply.stderr)")
            #expect(
                apply.stderr.contains(
                    "error: ledger manifest.sqlite is busy: another program holds a write transaction"),
                "\(apply.stderr)")
            #expect(Date().timeIntervalSince(started) < 15, "--lock-timeout 2s bounds every wait")
            let status = try await ToolRunner().run(["ledger", "status", "--ledger", "manifest.sqlite"], in: dir.path)
            #expect(status.exitCode == 0, "\(status.stderr)")

            // SIGKILL: the test process may run with SIGTERM ignored, which a child inherits.
            kill(holder.processIdentifier, SIGKILL)
            holder.waitUntilExit()
            let after = try await ToolRunner().run(["apply", "plan.yaml"], in: dir.path)
            #expect(after.exitCode == 0, "\(after.stderr)")
        }
    }
}

extension FileHandle {
    /// The first chunk the other side writes (blocking until it comes or the pipe closes), as text.
    fileprivate func availableDataOrWait() -> String {
        String(decoding: availableData, as: UTF8.self)
    }
}
