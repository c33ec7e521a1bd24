import BackfillLedger
import BackfillModel
import Foundation

/// Checks the files other programs registered (`source = external`) before the planner trusts their ranges: a file
/// whose row count fills its range (every grid slot but the confirmed exchange gaps) counts for its range, as the
/// tool's own files do; any other is read, and counts only for the candles it holds, so a sparse file never hides
/// missing candles from `plan`, `apply` or `audit`. An unreadable or missing file counts for nothing.
package struct ExternalCoverage: Sendable {
    package var ledger: Ledger
    package var landing: LandingArea
    package var exchange: ExchangeKind
    package var market: MarketKind

    package init(ledger: Ledger, landing: LandingArea, exchange: ExchangeKind, market: MarketKind) {
        self.ledger = ledger
        self.landing = landing
        self.exchange = exchange
        self.market = market
    }

    /// Replaces, in `snapshot`, the ranges of sparse external files by the candles they hold.
    /// - Parameter grids: each pair's candle grid (the `3d` origin is the pair's).
    package func resolve(_ snapshot: inout LedgerSnapshot, grids: [Pair: CandleGrid]) throws {
        for (pair, coverage) in snapshot.pairs where !coverage.external.isEmpty {
            let grid = grids[pair] ?? CandleGrid(pair.timeframe, listedAtMs: snapshot.listings[pair.symbol])
            let sparse = coverage.external.filter { file in
                let gapSlots = coverage.gaps.clamped(to: file.range).runs.reduce(Int64(0)) {
                    $0 + grid.candleCount(in: $1)
                }
                return file.rows != grid.candleCount(in: file.range) - gapSlots
            }
            guard !sparse.isEmpty else { continue }
            var resolved = coverage
            resolved.files = try ledger.fileRanges(
                exchange: exchange, market: market, pair: pair, excluding: Set(sparse.map(\.id)))
            for file in sparse {
                let held = heldCandles(file, grid: grid)
                resolved.held[file.id] = held
                resolved.files.formUnion(held)
            }
            snapshot.pairs[pair] = resolved
        }
    }

    /// The candles a file holds inside its registered range (none when it cannot be read as a candle CSV).
    func heldCandles(_ file: ExternalFileRange, grid: CandleGrid) -> RangeSet {
        guard let bytes = try? landing.read(file.path), case .success(let times) = ExternalCSV.openTimes(in: bytes)
        else { return RangeSet() }
        return ExternalCSV.coverage(of: times, grid: grid, within: file.range)
    }
}
