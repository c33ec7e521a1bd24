import BackfillTestSupport
import Foundation

/// Training schedulers as another program writes them (`Fixtures/scheduler.py`, running Documentation/Ledger.md's
/// SQL), started beside a test's commands, and what their logs show once they stopped.
struct Schedulers {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    let directory: TemporaryDirectory
    let owners: [String]
    private let processes: [Process]

    /// Starts one scheduler per owner on `manifest.sqlite` of `directory`: leases of 300 ms, every 9th claim
    /// abandoned (a crashed trainer), until ``stop()``.
    init(in directory: TemporaryDirectory, owners: [String] = ["trainer-1", "trainer-2"]) throws {
        self.directory = directory
        self.owners = owners
        var processes: [Process] = []
        for owner in owners {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", Self.root.appendingPathComponent("Tests/BackfillToolTests/Fixtures/scheduler.py").path,
                Self.root.appendingPathComponent("Documentation/Ledger.md").path, directory.path("manifest.sqlite"),
                owner, "--stop-file", directory.path("stop"), "--out", directory.path("\(owner).json"), "--lease-ms",
                "300", "--abandon-every", "9",
            ]
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append(process)
        }
        self.processes = processes
    }

    /// What the schedulers' logs say.
    struct Outcome {
        var claims: [[String: Any]] = []
        /// Errors the schedulers met (a `database is locked` would be one), by owner.
        var errors: [String: [String]] = [:]
        /// Completions per file id.
        var completed: [Int64: Int] = [:]
        /// Claims abandoned, or whose lease ran out before the trainer finished (both expire and are claimed again).
        var abandoned = 0
        /// Pairs of claims of one file that held it at the same time.
        var overlapping = 0
    }

    /// Tells the schedulers to finish (they stop once nothing is left to claim or processing) and reads their logs.
    func stop() throws -> Outcome {
        FileManager.default.createFile(atPath: directory.path("stop"), contents: Data())
        for process in processes { process.waitUntilExit() }
        var outcome = Outcome()
        for owner in owners {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory.path("\(owner).json")))
            let log = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            outcome.errors[owner] = log["errors"] as? [String] ?? ["no errors list in the log"]
            outcome.claims += log["claims"] as? [[String: Any]] ?? []
        }
        var spans: [Int64: [(Int64, Int64)]] = [:]
        for claim in outcome.claims {
            let id = (claim["id"] as? NSNumber)?.int64Value ?? -1
            let outcomeName = claim["outcome"] as? String
            if outcomeName == "completed" { outcome.completed[id, default: 0] += 1 }
            if outcomeName == "abandoned" || outcomeName == "lease lost" { outcome.abandoned += 1 }
            // A claim holds the file until it ended or its lease ran out, whichever came first.
            let leaseUntil = (claim["lease_until"] as? NSNumber)?.int64Value ?? 0
            let to = min((claim["ended_at"] as? NSNumber)?.int64Value ?? leaseUntil, leaseUntil)
            spans[id, default: []].append(((claim["claimed_at"] as? NSNumber)?.int64Value ?? 0, to))
        }
        for list in spans.values {
            let sorted = list.sorted { $0.0 < $1.0 }
            for (earlier, later) in zip(sorted, sorted.dropFirst()) where later.0 < earlier.1 {
                outcome.overlapping += 1
            }
        }
        return outcome
    }
}
