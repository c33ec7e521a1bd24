import BackfillModel

/// Binance (or the fake) as a ``CandleSource``: one klines request per task, `limit` = the task's candles.
package struct BinanceCandleSource: CandleSource {
    package let client: BinanceClient

    package init(client: BinanceClient) {
        self.client = client
    }

    package var counters: RequestCounters? { client.counters }

    package func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline] {
        let limit = Int(min(Int64(market.maxBatchLimit), max(task.candles, 1)))
        return try await client.klines(
            symbolId: task.symbolId, grid: task.grid, range: task.range, limit: limit)
    }
}
