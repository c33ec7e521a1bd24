/// Builds the ``MarketSource`` a plan file names.
package enum MarketSources {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case unavailable(String)
        package var description: String {
            switch self {
            case .unavailable(let reason): reason
            }
        }
    }

    /// - Parameters:
    ///   - frozenNowMs: `--now-ms`: the exchange clock is not asked.
    package static func make(for plan: PlanFile, frozenNowMs: Int64?) throws -> any MarketSource {
        switch plan.exchange {
        case .simulated:
            return SimulatedMarketSource(market: plan.market, frozenNowMs: frozenNowMs)
        case .binance:
            throw Failure.unavailable(
                "exchange: binance is not reachable from this build yet; use exchange: simulated")
        }
    }
}
