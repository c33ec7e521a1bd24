import Foundation

/// Everything `audit` does around the ``Auditor``: plan against the exchange's clock and the ledger (without
/// writing even the markets cache), then compare. It never creates a ledger or a landing directory.
package struct AuditSession: Sendable {
    package var loaded: LoadedPlan
    package var frozenNowMs: Int64?
    package var apiKey: String?
    package var deep = false
    package var verifyRemote = 0

    package init(loaded: LoadedPlan, frozenNowMs: Int64?, apiKey: String?) {
        self.loaded = loaded
        self.frozenNowMs = frozenNowMs
        self.apiKey = apiKey
    }

    package func run() async throws -> AuditReport {
        let file = loaded.file
        let source: any MarketSource
        let remote: (Int64) -> any CandleSource
        switch file.exchange {
        case .simulated:
            source = SimulatedMarketSource(market: file.market, frozenNowMs: frozenNowMs)
            remote = { now in SimulatedCandleSource(nowMs: now) }
        case .binance:
            let binance = BinanceMarketSource(plan: file, frozenNowMs: frozenNowMs, apiKey: apiKey)
            source = binance
            remote = { _ in BinanceCandleSource(client: binance.client) }
        }
        do {
            var session = PlanningSession(plan: file, planSHA256: loaded.sha256, source: source)
            session.cachesMarkets = false
            let (plan, snapshot) = try await session.runWithSnapshot()
            var auditor = Auditor(
                plan: plan, snapshot: snapshot, ledger: try Ledger.open(path: file.ledger, create: false),
                landing: LandingArea(path: file.landing), columns: file.columns)
            auditor.deep = deep
            auditor.verifyRemote = verifyRemote
            auditor.remote = remote(plan.nowMs)
            let report = try await auditor.run()
            await source.close()
            return report
        } catch {
            await source.close()
            throw error
        }
    }
}
