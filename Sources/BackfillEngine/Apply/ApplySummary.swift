import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec

/// What one `apply` did (§1): the final summary in text and JSON.
package struct ApplySummary: Sendable, Equatable, Codable {
    package var filesWritten = 0
    package var candles = 0
    package var duplicatesDeleted = 0
    /// Valid unregistered files found under a task's name and registered without a request.
    package var adopted = 0
    package var gapsConfirmed = 0
    /// Tasks left for the next run because the exchange's newest candles were not there yet.
    package var deferred = 0
    /// Klines requests sent for data (every attempt; listing probes, `/time` and exchangeInfo not included).
    package var requests = 0
    /// Counted by the HTTP client: `nil` on the simulated exchange, where there is nothing to count (not printed).
    package var retries: Int?
    package var rateLimited: Int?
    /// The weight of every request the run sent (client's count; `nil` on the simulated exchange).
    package var weightUsed: Int?
    package var elapsedMs: Int64 = 0
    /// The tasks run at once (given, or chosen from the rate budget).
    package var parallelism = 0
    /// Stopped by SIGINT/SIGTERM before every task ran.
    package var interrupted = false
    /// Tasks not started because of the interruption.
    package var remaining = 0
    /// Pairs stopped by a permanent exchange error (unknown symbol, bad interval, 403/451, invalid data): their
    /// remaining tasks were skipped; the other pairs ran to the end.
    package var failedPairs: [PairFailure] = []
    /// Tasks not run because their pair had failed.
    package var skipped = 0
    /// Drift repaired before fetching (§7): partials and duplicates deleted, orphans adopted, files restored,
    /// watermarks moved forward.
    package var driftRepaired = 0
    /// Repairs that could not be made, with the reason.
    package var notRepaired: [String] = []
    /// Tasks written from archive files (`nil` when the archive is off: not printed).
    package var archiveTasks: Int?
    /// Archive zips read and verified, and archive files that could not be used (each warned about once).
    package var archiveFiles: Int?
    package var archiveFallbacks: Int?
    /// With `archive: only`: tasks the archive could not serve, left for a later run.
    package var unavailable: Int?
    /// Files the ledger knows were made from an archive file since re-uploaded (`remote_changed`, reported only).
    package var remoteChanged: Int?
    /// Cooperating workers (PostgreSQL ledger): chunks another worker registered, and chunks whose lease this
    /// worker took over from one that stopped (`nil` on SQLite: not printed).
    package var tasksDoneElsewhere: Int?
    package var tasksTakenOver: Int?

    package init() {}

    /// Takes the archive path's counts (the archive is on).
    package mutating func count(archive files: Int, fallbacks: Int) {
        archiveTasks = archiveTasks ?? 0
        archiveFiles = files
        archiveFallbacks = fallbacks
    }

    /// Takes the counted figures from the run's HTTP client.
    package mutating func count(_ counters: RequestCounters.Snapshot) {
        requests = counters.dataRequests
        retries = counters.retries
        rateLimited = counters.rateLimited
        weightUsed = counters.weightSent
    }

    package var candlesPerSecond: Double {
        elapsedMs > 0 ? (Double(candles) * 1000 / Double(elapsedMs)).rounded() : 0
    }

    package var text: String {
        let seconds = Double(elapsedMs) / 1000
        var line = interrupted ? "Apply interrupted: " : "Apply complete: "
        line += "\(filesWritten) files written (\(candles) candles), "
        if adopted > 0 { line += "\(adopted) files adopted, " }
        line += "\(duplicatesDeleted) duplicates deleted, \(gapsConfirmed) gaps confirmed, "
        if driftRepaired > 0 { line += "\(driftRepaired) drift repaired, " }
        if !notRepaired.isEmpty { line += "\(notRepaired.count) drift not repairable (see audit), " }
        if deferred > 0 { line += "\(deferred) chunks deferred to the next run, " }
        if let archiveTasks, let archiveFiles, let archiveFallbacks {
            line += "\(archiveTasks) chunks from \(archiveFiles) archive files"
            line += archiveFallbacks > 0 ? " (\(archiveFallbacks) archive files not usable), " : ", "
        }
        if let remoteChanged, remoteChanged > 0 {
            line += "\(remoteChanged) files remote_changed (archive re-uploaded; reported only, see audit), "
        }
        if let unavailable, unavailable > 0 {
            line += "\(unavailable) chunks not in the archive left for a later run, "
        }
        if let tasksDoneElsewhere, tasksDoneElsewhere > 0 {
            line += "\(tasksDoneElsewhere) chunks done by other workers, "
        }
        if let tasksTakenOver, tasksTakenOver > 0 { line += "\(tasksTakenOver) leases taken over, " }
        line += "\(requests) requests, "
        if let retries, let rateLimited, let weightUsed {
            line += "\(retries) retries, \(rateLimited) × 429, weight \(weightUsed), "
        }
        line += "\((seconds * 100).rounded() / 100) s, \(Int(candlesPerSecond)) candles/s."
        if interrupted { line += " \(remaining) chunks left: run apply again to continue." }
        if !failedPairs.isEmpty {
            line += " \(failedPairs.count) pairs stopped by an exchange error (\(skipped) chunks skipped)."
        }
        return line
    }

    private enum CodingKeys: String, CodingKey {
        case candles, deferred, requests, retries, interrupted, remaining, adopted, skipped, parallelism
        case failedPairs = "failed_pairs"
        case driftRepaired = "drift_repaired"
        case notRepaired = "not_repaired"
        case filesWritten = "files_written"
        case duplicatesDeleted = "duplicates_deleted"
        case gapsConfirmed = "gaps_confirmed"
        case rateLimited = "rate_limited"
        case weightUsed = "weight_used"
        case elapsedMs = "elapsed_ms"
        case archiveTasks = "archive_chunks"
        case archiveFiles = "archive_files"
        case archiveFallbacks = "archive_fallbacks"
        case unavailable = "archive_unavailable"
        case remoteChanged = "remote_changed"
        case tasksDoneElsewhere = "chunks_done_elsewhere"
        case tasksTakenOver = "leases_taken_over"
    }
}

/// A pair that `apply` stopped because the exchange refused it for good.
package struct PairFailure: Sendable, Equatable, Codable {
    /// `BTC/USDT 1m`.
    package var pair: String
    package var error: String

    package init(pair: String, error: String) {
        self.pair = pair
        self.error = error
    }
}
