/// Where `apply` gets a task's candles: the simulated exchange in process, or Binance through the client.
package protocol CandleSource: Sendable {
    /// Every candle the exchange returns with open time in `task.range` (possibly including the open one).
    func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline]
    /// What the source's HTTP client counted (requests, retries, 429s, weight); `nil` where nothing goes over the
    /// network (the simulated exchange), and then those figures are not printed.
    var counters: RequestCounters? { get }
}

extension CandleSource {
    package var counters: RequestCounters? { nil }
}

extension CandleSource {
    /// The task's candles that are closed at `serverNowMs` (`closeTime < now`) and open inside its range: what a
    /// landing file holds (§4.2).
    package func closedCandles(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async throws -> [Kline] {
        try await fetch(task, market: market).filter {
            $0.closeTime < serverNowMs && task.range.contains($0.openTime)
        }
    }
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
