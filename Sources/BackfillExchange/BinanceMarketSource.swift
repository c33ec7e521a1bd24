import BackfillModel
import Logging

/// The real exchange as a ``MarketSource``: `/time`, exchangeInfo, and (spot only) the first candle.
package struct BinanceMarketSource: MarketSource {
    package let client: BinanceClient
    package var frozenNowMs: Int64?
    private let transport: AsyncHTTPClientTransport?

    /// A source on its own connection pool, closed by ``close()``.
    package init(
        plan: PlanFile, frozenNowMs: Int64?, apiKey: String?, connections: Int = 2, logger: Logger = .silent
    ) {
        self.init(
            market: plan.market, baseURL: plan.baseURL, frozenNowMs: frozenNowMs, apiKey: apiKey,
            connections: connections, logger: logger)
    }

    /// - Parameter baseURL: `nil` for the market's production URL.
    package init(
        market: MarketKind, baseURL: String?, frozenNowMs: Int64?, apiKey: String?, connections: Int = 2,
        logger: Logger = .silent
    ) {
        let transport = AsyncHTTPClientTransport(connections: connections)
        let governor = RateGovernor(limit: market == .spot ? 6000 : 2400, time: SystemTimeSource())
        var client = BinanceClient(
            transport: transport, market: market, baseURL: baseURL ?? PlanFile.productionBaseURL(market),
            governor: governor, apiKey: apiKey)
        client.logger = logger
        self.client = client
        self.frozenNowMs = frozenNowMs
        self.transport = transport
    }

    package init(client: BinanceClient, frozenNowMs: Int64? = nil) {
        self.client = client
        self.frozenNowMs = frozenNowMs
        transport = nil
    }

    package func serverTime() async throws -> Int64 {
        if let frozenNowMs { return frozenNowMs }
        return try await client.serverTime()
    }

    package func markets() async throws -> [Market] { try await client.exchangeInfo().markets }

    package func firstCandle(of market: Market) async throws -> Int64? {
        if let listed = market.listedAtMs { return listed }
        return try await client.firstCandle(symbolId: market.symbolId)
    }

    /// Closes the connection pool, waiting at most a few seconds: a pool that does not wind down (seen once after a
    /// 418) must not keep a finished command from exiting; the process's exit releases the sockets anyway.
    package func close() async {
        guard let transport else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await transport.shutdown() }
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            await group.next()
            group.cancelAll()
        }
    }

    package var usesMarketCache: Bool { true }
}
