/// Where `apply` gets a task's candles: the simulated exchange in process, or Binance through the client.
package protocol CandleSource: Sendable {
    /// Every candle the exchange returns with open time in `task.range` (possibly including the open one).
    func fetch(_ task: PlanTask, market: MarketKind) async throws -> [Kline]
    /// What the source's HTTP client counted (requests, retries, 429s, weight); `nil` where nothing goes over the
    /// network (the simulated exchange), and then those figures are not printed.
    var counters: RequestCounters? { get }
    /// A task's closed candles and where they came from (the archive source overrides it; REST sources use
    /// ``closedCandles(_:market:serverNowMs:)``).
    func sourced(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async throws -> SourcedCandles
    /// Told in plan order, before a task starts, and again when it is done (whatever happened): the archive keeps
    /// the periods of running tasks in memory and lets the others go.
    func announce(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async
    func finished(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async
}

/// What a source answered for one task.
package enum SourcedCandles: Sendable {
    /// Closed candles inside the task, fetched over REST (or the simulated exchange).
    case rest([Kline])
    /// Closed candles inside the task, read from these verified archive files.
    case archive([Kline], files: [ArchiveFileRef])
    /// The source cannot serve the task now (`archive: only` outside the published archive): left for a later run.
    case unavailable(String)
}

extension CandleSource {
    package var counters: RequestCounters? { nil }
}

extension CandleSource {
    package func announce(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async {}
    package func finished(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async {}

    package func sourced(_ task: PlanTask, market: MarketKind, serverNowMs: Int64) async throws -> SourcedCandles {
        .rest(try await closedCandles(task, market: market, serverNowMs: serverNowMs))
    }

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
