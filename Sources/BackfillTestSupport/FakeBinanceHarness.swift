import BackfillEngine
import BackfillExchange
import BackfillLedger
import BackfillModel
import BackfillSpec
import FakeBinance
import Foundation

/// Starts the fake Binance on a free port of `host` (loopback, or a test's own hosts' gateway) for the duration of
/// `body`.
package func withFakeBinance<T>(
    _ config: FakeBinanceConfig = FakeBinanceConfig(), host: String = "127.0.0.1",
    _ body: (FakeBinanceServer) async throws -> T
) async throws -> T {
    let server = try await FakeBinanceServer.start(config: config, host: host)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// A client on the production transport pointed at `server`; shut the transport down when done.
package func makeClient(
    _ server: FakeBinanceServer, market: MarketKind = .spot, connections: Int = 4, retry: RetryPolicy = RetryPolicy(),
    time: any TimeSource = SystemTimeSource(), limit: Int = 6000
) -> (BinanceClient, AsyncHTTPClientTransport) {
    let transport = AsyncHTTPClientTransport(connections: connections, readTimeoutSeconds: 5)
    let governor = RateGovernor(limit: limit, time: time)
    let client = BinanceClient(
        transport: transport, market: market, baseURL: server.baseURL, governor: governor, retry: retry, time: time)
    return (client, transport)
}
