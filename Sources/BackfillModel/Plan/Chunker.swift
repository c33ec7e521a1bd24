/// Cuts missing ranges on the fixed chunk grid: consecutive blocks of `batchLimit` candles counted from the
/// pair's grid origin (§3). A task is a chunk ∩ a hole, so the same holes always give the same tasks.
package struct Chunker: Sendable {
    package var grid: CandleGrid
    package var batchLimit: Int

    package init(grid: CandleGrid, batchLimit: Int) {
        precondition(batchLimit > 0)
        self.grid = grid
        self.batchLimit = batchLimit
    }

    /// The chunk (as a time range) that contains open time `t`.
    package func chunk(containing t: Int64) -> TimeRange {
        let limit = Int64(batchLimit)
        let chunk = floorDiv(grid.index(containing: t), limit)
        return TimeRange(
            uncheckedLower: grid.openTime(ofIndex: chunk * limit),
            upper: grid.openTime(ofIndex: (chunk + 1) * limit))
    }

    /// The tasks covering `missing`; pieces without a single grid open time are skipped (nothing to fetch).
    package func tasks(for missing: RangeSet, exchange: ExchangeKind, market: Market) -> [PlanTask] {
        var tasks: [PlanTask] = []
        for run in missing.runs {
            var cursor = run.lowerBound
            while cursor < run.upperBound {
                let chunk = chunk(containing: cursor)
                let piece = TimeRange(uncheckedLower: cursor, upper: min(chunk.upperBound, run.upperBound))
                let candles = grid.candleCount(in: piece)
                if candles > 0 {
                    tasks.append(
                        PlanTask(
                            symbol: market.symbol, symbolId: market.symbolId, grid: grid, range: piece,
                            candles: candles,
                            path: LandingPath.relativePath(
                                exchange: exchange, market: market.market, symbolId: market.symbolId,
                                timeframe: grid.timeframe, range: piece)))
                }
                cursor = piece.upperBound
            }
        }
        return tasks
    }
}
