import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec

extension PlanTask {
    /// The task that would write a registered file again.
    /// - Parameter listings: first candles by unified symbol (the `3d` grid is the pair's).
    init(_ file: RegisteredFile, listings: [String: Int64]) {
        let grid = file.timeframe.grid(listedAtMs: listings[file.symbol])
        self.init(
            symbol: file.symbol, symbolId: file.symbolId, grid: grid, range: file.range,
            candles: grid.candleCount(in: file.range), path: file.path)
    }
}
