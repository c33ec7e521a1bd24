/// The pure planner (§3): `(plan file, ledger snapshot, market metadata, now) → Plan`.
///
/// No I/O and no clock: everything it needs comes in as values, so the same inputs always give the same tasks and
/// file names, which is what makes a re-run after a crash produce byte-identical files.
package struct Planner: Sendable {
    package var plan: PlanFile
    /// The plan's markets by unified symbol.
    package var markets: [String: Market]
    package var snapshot: LedgerSnapshot
    /// The exchange's clock, epoch ms.
    package var nowMs: Int64

    package init(plan: PlanFile, markets: [String: Market], snapshot: LedgerSnapshot, nowMs: Int64) {
        self.plan = plan
        self.markets = markets
        self.snapshot = snapshot
        self.nowMs = nowMs
    }

    /// Computes the plan.
    /// - Throws: ``PlanFileError`` for a symbol the exchange does not list (naming the nearest known ones), and
    ///   ``PlanningError`` when a listing the plan needs is unknown.
    package func makePlan() throws -> Plan {
        var pairs: [PairPlan] = []
        for planPair in plan.pairs {
            pairs.append(try pairPlan(planPair))
        }
        return Plan(
            exchange: plan.exchange, market: plan.market, nowMs: nowMs, ledgerGeneration: snapshot.generation,
            pairs: pairs)
    }

    /// Resolves the market of a plan symbol or fails with the nearest known symbols.
    package static func resolve(
        _ symbol: Located<String>, in markets: [String: Market]
    ) throws(PlanFileError)
        -> Market
    {
        if let market = markets[symbol.value] { return market }
        let suggestions = EditDistance.nearest(to: symbol.value, in: Array(markets.keys), limit: 3, maxDistance: 4)
        let hint = suggestions.isEmpty ? "" : " (nearest: \(suggestions.joined(separator: ", ")))"
        throw PlanFileError(at: symbol.location, "unknown symbol '\(symbol.value)' on this exchange\(hint)")
    }

    /// The open time of `market`'s first candle as known (the ledger's cache, else the market metadata).
    package func listedAt(_ market: Market) -> Int64? { snapshot.listings[market.symbol] ?? market.listedAtMs }

    /// The first candle of `market` on `timeframe`, from the ledger's cache or the market metadata.
    package func listing(of market: Market, timeframe: Timeframe) -> Int64? {
        listedAt(market).map { timeframe.grid(listedAtMs: $0).floor($0) }
    }

    func pairPlan(_ planPair: PlanPair) throws -> PairPlan {
        let market = try Self.resolve(planPair.symbol, in: markets)
        let timeframe = planPair.timeframe
        let pair = planPair.pair
        let coverage = snapshot.coverage(of: pair)
        guard let listedAt = listedAt(market) else {
            throw PlanningError.listingUnknown(symbol: market.symbol)
        }
        let grid = timeframe.grid(listedAtMs: listedAt)
        let listing = grid.floor(listedAt)
        let start: Int64
        switch planPair.start.value {
        case .earliest: start = listing
        case .watermark: start = coverage.watermark ?? listing
        case .now: start = grid.floor(nowMs)
        case .absolute(let ms): start = grid.ceil(ms)
        case .relative(let delta): start = grid.ceil(max(0, nowMs + delta))
        }
        let end: Int64
        switch planPair.end.value {
        case .earliest, .watermark, .now: end = grid.floor(nowMs)
        case .absolute(let ms): end = grid.floor(ms)
        case .relative(let delta): end = grid.floor(max(0, nowMs + delta))
        }
        // Nothing before the first candle exists, and the candle open at `now` is never planned.
        let desired = TimeRange(max(start, listing), min(end, grid.floor(nowMs)))
        let trading = market.isTrading
        var result = PairPlan(
            symbol: market.symbol, symbolId: market.symbolId, grid: grid, batchLimit: planPair.batchLimit,
            desired: desired, coveredCandles: 0, desiredCandles: 0, watermarkMs: coverage.watermark, trading: trading,
            tasks: [])
        guard let desired else { return result }
        let wanted = RangeSet(sortedRanges: [desired])
        var covered = coverage.covered
        if !trading, let tail = Self.delistingTail(coverage) { covered.insert(tail) }
        let missing = wanted.subtracting(covered)
        result.desiredCandles = grid.candleCount(in: desired)
        result.tasks = Chunker(grid: grid, batchLimit: planPair.batchLimit).tasks(
            for: missing, exchange: plan.exchange, market: market)
        result.coveredCandles = result.desiredCandles - result.tasks.reduce(0) { $0 + $1.candles }
        return result
    }

    /// For a market that is not trading: when its coverage ends in a confirmed exchange gap (`apply` records the
    /// time after the last candle of such a market as one), everything after that gap is part of it for as long as
    /// the exchange says the market is not trading. Once it trades again, the time after the gap is planned.
    static func delistingTail(_ coverage: PairCoverage) -> TimeRange? {
        guard let gap = coverage.gaps.runs.last, let last = coverage.covered.runs.last,
            gap.upperBound == last.upperBound
        else { return nil }
        return TimeRange(gap.upperBound, Int64.max)
    }
}

/// Planning failures that are not the plan file's fault.
package enum PlanningError: Error, Equatable, CustomStringConvertible {
    case listingUnknown(symbol: String)

    package var description: String {
        switch self {
        case .listingUnknown(let symbol): "the listing time of \(symbol) is unknown"
        }
    }
}
