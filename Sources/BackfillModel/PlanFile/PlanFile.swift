/// A plan file (YAML, version 1), typed and validated, with the location of every value that a later step may
/// need to blame (symbols, timeframes, bounds).
package struct PlanFile: Sendable, Equatable {
    /// The path as the user gave it; errors print it unchanged.
    package var path: String
    package var version: Int
    package var exchange: ExchangeKind
    package var market: MarketKind
    /// The REST base URL; `nil` means the market's production default.
    package var baseURL: String?
    package var landing: String
    package var ledger: String
    package var columns: ColumnSet
    package var defaults: PlanDefaults
    package var targets: [PlanTarget]
    /// `archive:` (§12); `nil`: the default (see ``ArchiveSetting``).
    package var archive: ArchiveMode? = nil
    /// `archive_url:`; `nil`: data.binance.vision.
    package var archiveURL: String? = nil

    /// Every `{symbol, timeframe}` pair with its effective bounds and batch size, in file order.
    package var pairs: [PlanPair] {
        targets.flatMap { target in
            target.symbols.flatMap { symbol in
                target.timeframes.map { timeframe in
                    PlanPair(
                        symbol: symbol,
                        timeframe: timeframe.value,
                        start: target.start ?? defaults.start ?? Located(.earliest, at: target.location),
                        end: target.end ?? defaults.end ?? Located(.now, at: target.location),
                        batchLimit: target.batchLimit?.value ?? defaults.batchLimit?.value ?? market.defaultBatchLimit
                    )
                }
            }
        }
    }

    /// The production REST base URL for the plan's market.
    package var effectiveBaseURL: String { baseURL ?? Self.productionBaseURL(market) }

    /// Binance's REST base URL for a market family.
    package static func productionBaseURL(_ market: MarketKind) -> String {
        switch market {
        case .spot: "https://api.binance.com"
        case .usdm: "https://fapi.binance.com"
        case .coinm: "https://dapi.binance.com"
        }
    }
    package init(
        path: String, version: Int, exchange: ExchangeKind, market: MarketKind, baseURL: String?, landing: String,
        ledger: String, columns: ColumnSet, defaults: PlanDefaults, targets: [PlanTarget]
    ) {
        self.path = path
        self.version = version
        self.exchange = exchange
        self.market = market
        self.baseURL = baseURL
        self.landing = landing
        self.ledger = ledger
        self.columns = columns
        self.defaults = defaults
        self.targets = targets
    }
}

/// The `defaults:` block.
package struct PlanDefaults: Sendable, Equatable {
    package var start: Located<Bound>?
    package var end: Located<Bound>?
    package var batchLimit: Located<Int>?
    package var sleepMs: Int

    package init(
        start: Located<Bound>? = nil, end: Located<Bound>? = nil, batchLimit: Located<Int>? = nil,
        sleepMs: Int = 0
    ) {
        self.start = start
        self.end = end
        self.batchLimit = batchLimit
        self.sleepMs = sleepMs
    }
}

/// One entry of `targets:`.
package struct PlanTarget: Sendable, Equatable {
    package var location: SourceLocation
    package var symbols: [Located<String>]
    package var timeframes: [Located<Timeframe>]
    package var start: Located<Bound>?
    package var end: Located<Bound>?
    package var batchLimit: Located<Int>?
    package init(
        location: SourceLocation, symbols: [Located<String>], timeframes: [Located<Timeframe>],
        start: Located<Bound>? = nil, end: Located<Bound>? = nil, batchLimit: Located<Int>? = nil
    ) {
        self.location = location
        self.symbols = symbols
        self.timeframes = timeframes
        self.start = start
        self.end = end
        self.batchLimit = batchLimit
    }
}

/// One `{symbol, timeframe}` pair of a plan with everything needed to compute its desired range.
package struct PlanPair: Sendable, Equatable {
    package var symbol: Located<String>
    package var timeframe: Timeframe
    package var start: Located<Bound>
    package var end: Located<Bound>
    package var batchLimit: Int

    package var pair: Pair { Pair(symbol: symbol.value, timeframe: timeframe) }
}

/// The keys a plan file may contain, per block. The loader rejects anything else, and a test checks that
/// `schema/plan.schema.json` lists exactly these.
package enum PlanKeys {
    package static let root = [
        "version", "exchange", "market", "base_url", "archive", "archive_url", "landing", "ledger", "columns",
        "defaults", "targets",
    ]
    package static let rootRequired = ["version", "targets"]
    package static let defaults = ["start", "end", "batch_limit", "sleep_ms"]
    package static let target = ["symbols", "timeframes", "start", "end", "batch_limit"]
    package static let targetRequired = ["symbols", "timeframes"]
    /// The default landing directory and ledger when the plan names none (relative to the current directory).
    package static let defaultLanding = "data/incoming"
    package static let defaultLedger = "data/manifest.sqlite"
    package static let maxSleepMs = 600_000
}
