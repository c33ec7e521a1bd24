import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import Logging

/// Builds the ``MarketSource`` a plan file names.
package enum MarketSources {
    /// - Parameters:
    ///   - frozenNowMs: `--now-ms`: the exchange clock is not asked.
    ///   - apiKey: `API_KEY`, sent as a header and never printed.
    package static func make(
        for plan: PlanFile, frozenNowMs: Int64?, apiKey: String? = nil, logger: Logger = .silent
    ) -> any MarketSource {
        switch plan.exchange {
        case .simulated: SimulatedMarketSource(market: plan.market, frozenNowMs: frozenNowMs)
        case .binance: BinanceMarketSource(plan: plan, frozenNowMs: frozenNowMs, apiKey: apiKey, logger: logger)
        }
    }
}
