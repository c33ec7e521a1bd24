import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Foundation
import Logging

/// What `apply` repairs before it fetches (§7's table), from a quick audit of the landing area: deletes stray
/// partials and byte-identical duplicates, adopts valid orphans over uncovered time, rewrites missing or modified
/// `downloaded` files from the exchange (only when the exchange still answers the registered bytes), and moves
/// watermarks forward. Files a consumer has claimed, processed or deleted are never touched.
package struct Repairer: Sendable {
    package var report: AuditReport
    package var ledger: Ledger
    package var landing: LandingArea
    package var exchange: ExchangeKind
    package var market: MarketKind
    package var columns: ColumnSet
    package var source: any CandleSource
    /// The exchange's clock of the plan: only closed candles are rendered.
    package var serverNowMs: Int64
    package var actor: String

    package struct Outcome: Sendable, Equatable {
        /// Findings repaired.
        package var repaired = 0
        /// Files adopted (coverage changed: the plan is made again).
        package var adopted = 0
        /// Klines requests made to restore files.
        package var requests = 0
        /// Repairs that could not be made, with the reason (reported, not fatal).
        package var notRepaired: [String] = []
    }

    /// Each pair's files ∪ gaps before the repairs (adoptions move watermarks contiguously).
    package var coverage: [Pair: RangeSet] = [:]
    /// First candles by unified symbol (the `3d` grid is the pair's).
    package var listings: [String: Int64] = [:]
    /// `info`: each repair made or refused.
    package var logger: Logger = .silent

    package func run() async throws -> Outcome {
        var outcome = Outcome()
        var coverage = coverage
        for repair in report.repairs {
            switch repair {
            case .delete(let path):
                logger.info("repair: deleting \(path)")
                try landing.remove(path)
                outcome.repaired += 1
            case .adopt(let path, let symbol, let symbolId, let timeframe, let range):
                let grid = timeframe.grid(listedAtMs: listings[symbol])
                let task = PlanTask(
                    symbol: symbol, symbolId: symbolId, grid: grid, range: range,
                    candles: grid.candleCount(in: range), path: path)
                guard
                    let file = Applier.adoptable(
                        task, landing: landing, columns: columns, exchange: exchange, market: market)
                else {
                    outcome.notRepaired.append("\(path): no longer valid for its name")
                    continue
                }
                try landing.syncDirectories(of: [path])
                let pair = Pair(symbol: symbol, timeframe: timeframe)
                let (results, after) = try await ledger.commit(
                    [PendingCommit(.file(file), pair: pair)], coverage: coverage, exchange: exchange, market: market,
                    actor: actor)
                coverage = after
                if case .registered = results.first {
                    logger.info("repair: adopted \(path)")
                    outcome.adopted += 1
                    outcome.repaired += 1
                } else {
                    outcome.notRepaired.append("\(path): its content is registered already")
                }
            case .restore(let file):
                let task = PlanTask(file, listings: listings)
                let rows = try await source.closedCandles(task, market: market, serverNowMs: serverNowMs)
                outcome.requests += 1
                let bytes = CSVFormat.render(rows, columns: columns)
                guard SHA256Hex.digest(bytes) == file.sha256 else {
                    outcome.notRepaired.append(
                        "\(file.path): the exchange no longer answers the registered bytes (remote_changed); left as is"
                    )
                    continue
                }
                try landing.write(bytes, to: file.path)
                // The rewritten file's stat, so the next run does not hash it again.
                if let entry = try landing.entry(file.path) { try ledger.recordStat([(id: file.id, stat: entry.stat)]) }
                logger.info("repair: restored \(file.path) from the exchange")
                outcome.repaired += 1
            case .watermark(let pair, let value):
                let name = WatermarkName.make(exchange: exchange, market: market, pair: pair)
                logger.info("repair: watermark \(name) moved to \(value)")
                _ = try ledger.advanceWatermark(name, to: value, actor: actor)
                outcome.repaired += 1
            }
        }
        return outcome
    }
}
