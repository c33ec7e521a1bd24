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
    package var requests = 0
    package var retries = 0
    package var rateLimited = 0
    package var elapsedMs: Int64 = 0
    /// Stopped by SIGINT/SIGTERM before every task ran.
    package var interrupted = false
    /// Tasks not started because of the interruption.
    package var remaining = 0

    package init() {}

    package var candlesPerSecond: Double {
        elapsedMs > 0 ? (Double(candles) * 1000 / Double(elapsedMs)).rounded() : 0
    }

    package var text: String {
        let seconds = Double(elapsedMs) / 1000
        var line = interrupted ? "Apply interrupted: " : "Apply complete: "
        line += "\(filesWritten) files written (\(candles) candles), "
        if adopted > 0 { line += "\(adopted) files adopted, " }
        line += "\(duplicatesDeleted) duplicates deleted, \(gapsConfirmed) gaps confirmed, "
        if deferred > 0 { line += "\(deferred) chunks deferred to the next run, " }
        line += "\(requests) requests, \(retries) retries, \(rateLimited) × 429, "
        line += "\((seconds * 100).rounded() / 100) s, \(Int(candlesPerSecond)) candles/s."
        if interrupted { line += " \(remaining) chunks left: run apply again to continue." }
        return line
    }

    private enum CodingKeys: String, CodingKey {
        case candles, deferred, requests, retries, interrupted, remaining, adopted
        case filesWritten = "files_written"
        case duplicatesDeleted = "duplicates_deleted"
        case gapsConfirmed = "gaps_confirmed"
        case rateLimited = "rate_limited"
        case elapsedMs = "elapsed_ms"
    }
}
