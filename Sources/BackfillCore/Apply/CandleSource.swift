/// Where `apply` gets a task's candles: the simulated exchange in process, or Binance through the client.
package protocol CandleSource: Sendable {
    /// Every candle the exchange returns with open time in `task.range` (possibly including the open one).
    func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline]
}

/// The simulated exchange as a ``CandleSource``.
package struct SimulatedCandleSource: CandleSource {
    package let exchange: SimulatedExchange
    package let nowMs: Int64

    package init(exchange: SimulatedExchange = SimulatedExchange(), nowMs: Int64) {
        self.exchange = exchange
        self.nowMs = nowMs
    }

    package func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline] {
        guard let instrument = exchange.instrument(market, symbolId: task.symbolId) else { return [] }
        var rows: [Kline] = []
        var cursor = task.range.lowerBound
        let limit = Int(min(Int64(market.maxBatchLimit), max(task.candles, 1)))
        while cursor < task.range.upperBound {
            let page = exchange.klines(
                instrument, task.timeframe, startTime: cursor, endTime: task.range.upperBound - 1, limit: limit,
                serverTime: nowMs)
            rows += page
            guard page.count == limit, let last = page.last else { break }
            cursor = last.openTime + 1
        }
        return rows
    }
}

/// Binance (or the fake) as a ``CandleSource``: one klines request per task, `limit` = the task's candles.
package struct BinanceCandleSource: CandleSource {
    package let client: BinanceClient

    package init(client: BinanceClient) {
        self.client = client
    }

    package func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline] {
        let limit = Int(min(Int64(market.maxBatchLimit), max(task.candles, 1)))
        return try await client.klines(
            symbolId: task.symbolId, timeframe: task.timeframe, range: task.range, limit: limit)
    }
}
