import BackfillLedger
import BackfillModel
import Foundation

/// `ledger status`: per registered series, what is covered (files that do not fill their range count only for
/// the candles they hold), the holes between its first and last candle, confirmed exchange gaps, the watermark and
/// the files by status. Read-only: expired leases are counted here and returned by the next claim.
package struct LedgerStatusReport: Sendable, Equatable, Encodable {
    package struct Series: Sendable, Equatable, Encodable {
        package var exchange: String
        package var market: String
        package var symbol: String
        package var symbolId: String
        package var timeframe: Timeframe
        package var files: Int
        package var byStatus: [String: Int]
        package var candles: Int64
        /// `[start, end)` of the coverage (files ∪ gaps), or nil when nothing is covered.
        package var coveredFrom: Int64?
        package var coveredTo: Int64?
        /// Ranges between the first and the last covered candle that nothing covers.
        package var holes: [TimeRange]
        package var holeCandles: Int64
        package var exchangeGaps: Int
        package var exchangeGapCandles: Int64
        package var watermark: Int64?
        package var expiredLeases: Int

        private enum CodingKeys: String, CodingKey {
            case exchange, market, symbol, timeframe, files, candles, holes, watermark
            case symbolId = "symbol_id"
            case byStatus = "by_status"
            case coveredFrom = "covered_from"
            case coveredTo = "covered_to"
            case holeCandles = "hole_candles"
            case exchangeGaps = "exchange_gaps"
            case exchangeGapCandles = "exchange_gap_candles"
            case expiredLeases = "expired_leases"
        }
    }

    package var series: [Series]

    /// Reads the report from `ledger`, resolving external files against `landing` (nil: their ranges as registered).
    package static func make(
        ledger: Ledger, landing: LandingArea?, at now: Int64 = Ledger.nowMs()
    ) throws
        -> LedgerStatusReport
    {
        let counts = try ledger.seriesCounts(at: now)
        let watermarks = try ledger.watermarks()
        var result: [Series] = []
        var byFamily: [String: [SeriesCounts]] = [:]
        var families: [String] = []
        for entry in counts {
            let key = entry.exchange + "/" + entry.market.rawValue
            if byFamily[key] == nil { families.append(key) }
            byFamily[key, default: []].append(entry)
        }
        for key in families {
            guard let entries = byFamily[key], let first = entries.first,
                let exchange = ExchangeKind(rawValue: first.exchange)
            else {
                // A series of an exchange this build does not know: counted, not resolved.
                for entry in byFamily[key] ?? [] { result.append(series(entry, coverage: nil, grid: nil)) }
                continue
            }
            let pairs = entries.map { Pair(symbol: $0.symbol, timeframe: $0.timeframe) }
            var snapshot = try ledger.snapshot(exchange: exchange, market: first.market, pairs: pairs)
            if let landing {
                try ExternalCoverage(ledger: ledger, landing: landing, exchange: exchange, market: first.market)
                    .resolve(&snapshot, grids: [:])
            }
            for (entry, pair) in zip(entries, pairs) {
                var coverage = snapshot.coverage(of: pair)
                coverage.watermark =
                    watermarks[WatermarkName.make(exchange: exchange, market: first.market, pair: pair)]
                let grid = CandleGrid(pair.timeframe, listedAtMs: snapshot.listings[pair.symbol])
                result.append(series(entry, coverage: coverage, grid: grid))
            }
        }
        return LedgerStatusReport(series: result)
    }

    static func series(_ entry: SeriesCounts, coverage: PairCoverage?, grid: CandleGrid?) -> Series {
        var byStatus: [String: Int] = [:]
        for status in FileStatus.allCases { byStatus[status.rawValue] = entry.byStatus[status] ?? 0 }
        var series = Series(
            exchange: entry.exchange, market: entry.market.rawValue, symbol: entry.symbol, symbolId: entry.symbolId,
            timeframe: entry.timeframe, files: entry.byStatus.values.reduce(0, +), byStatus: byStatus,
            candles: entry.candles, coveredFrom: nil, coveredTo: nil, holes: [], holeCandles: 0, exchangeGaps: 0,
            exchangeGapCandles: 0, watermark: coverage?.watermark, expiredLeases: entry.expiredLeases)
        guard let coverage, let grid else { return series }
        let covered = coverage.covered
        if let first = covered.runs.first, let last = covered.runs.last,
            let span = TimeRange(first.lowerBound, last.upperBound)
        {
            series.coveredFrom = span.lowerBound
            series.coveredTo = span.upperBound
            series.holes = RangeSet(sortedRanges: [span]).subtracting(covered).runs
            series.holeCandles = series.holes.reduce(0) { $0 + grid.candleCount(in: $1) }
        }
        series.exchangeGaps = coverage.gaps.runs.count
        series.exchangeGapCandles = coverage.gaps.runs.reduce(0) { $0 + grid.candleCount(in: $1) }
        return series
    }
}
