/// What planning needs from an exchange: its clock, its market list, and (once per pair, ever) a listing time.
///
/// `plan` asks nothing else of the network; `SimulatedMarketSource` answers in-process, the Binance client answers
/// over HTTP.
package protocol MarketSource: Sendable {
    /// The exchange's clock in epoch ms (Binance: `/api/v3/time`).
    func serverTime() async throws -> Int64
    /// The markets of the plan's family (Binance: exchangeInfo).
    func markets() async throws -> [Market]
    /// The open time of the market's first candle, or `nil` when it has none.
    func firstCandle(of market: Market) async throws -> Int64?
    /// Releases connections; called once when planning is done.
    func close() async
    /// Whether markets may come from the ledger's cache instead of the network (a remote exchange).
    var usesMarketCache: Bool { get }
}

extension MarketSource {
    package func close() async {}
    package var usesMarketCache: Bool { false }
}

/// The simulated exchange as a ``MarketSource``; its clock is the wall clock unless frozen.
package struct SimulatedMarketSource: MarketSource {
    package var market: MarketKind
    package var frozenNowMs: Int64?
    package let exchange = SimulatedExchange()

    package init(market: MarketKind, frozenNowMs: Int64? = nil) {
        self.market = market
        self.frozenNowMs = frozenNowMs
    }

    package func serverTime() async throws -> Int64 { frozenNowMs ?? WallClock.nowMs() }

    package func markets() async throws -> [Market] { exchange.markets(market) }

    package func firstCandle(of market: Market) async throws -> Int64? {
        exchange.instrument(market.market, symbolId: market.symbolId)?.listedAtMs
    }
}
