/// What the ledger knows about the pairs of one plan, read in one transaction: the planner's only view of it.
package struct LedgerSnapshot: Sendable, Equatable {
    /// The generation the snapshot was read at (saved plans remember it).
    package var generation: Int64
    package var pairs: [Pair: PairCoverage]
    /// Cached listing times by unified symbol (first candle, epoch ms).
    package var listings: [String: Int64]
    /// Whether a ledger existed at all (a missing ledger is an empty snapshot).
    package var exists: Bool

    package init(
        generation: Int64 = 0, pairs: [Pair: PairCoverage] = [:], listings: [String: Int64] = [:],
        exists: Bool = false
    ) {
        self.generation = generation
        self.pairs = pairs
        self.listings = listings
        self.exists = exists
    }

    /// The snapshot of a ledger that does not exist yet: nothing covered.
    package static let empty = LedgerSnapshot()

    package func coverage(of pair: Pair) -> PairCoverage { pairs[pair] ?? PairCoverage() }
}

/// One pair's coverage: registered files of any status, confirmed exchange gaps, and its watermark.
package struct PairCoverage: Sendable, Equatable {
    package var files: RangeSet
    package var gaps: RangeSet
    package var fileCount: Int
    package var watermark: Int64?
    /// Files registered by other programs (`source = external`): their ranges are in `files` until the engine has
    /// checked them; a file whose rows do not fill its range counts only for the candles it holds.
    package var external: [ExternalFileRange] = []
    /// The candles that files which do not fill their range actually hold, by file id (set by the engine).
    package var held: [Int64: RangeSet] = [:]

    package init(
        files: RangeSet = RangeSet(), gaps: RangeSet = RangeSet(), fileCount: Int = 0,
        watermark: Int64? = nil
    ) {
        self.files = files
        self.gaps = gaps
        self.fileCount = fileCount
        self.watermark = watermark
    }

    /// Files ∪ gaps: what the planner never fetches again.
    package var covered: RangeSet { files.union(gaps) }
}

/// The watermark name shared with the live ingester: `ingest:<exchange>:<unified symbol>:<timeframe>`, where the
/// exchange is ccxt's id (`binance`, `binanceusdm`, `binancecoinm`) or `simulated`.
package enum WatermarkName {
    package static func make(exchange: ExchangeKind, market: MarketKind, pair: Pair) -> String {
        let prefix = exchange == .simulated ? "simulated" : market.ccxtExchangeId
        return "ingest:\(prefix):\(pair.symbol):\(pair.timeframe.rawValue)"
    }
}

/// A file another program registered: where it is, the range its row claims and how many rows it says it has.
package struct ExternalFileRange: Sendable, Equatable {
    package var id: Int64
    package var path: String
    package var range: TimeRange
    package var rows: Int64

    package init(id: Int64, path: String, range: TimeRange, rows: Int64) {
        self.id = id
        self.path = path
        self.range = range
        self.rows = rows
    }
}
