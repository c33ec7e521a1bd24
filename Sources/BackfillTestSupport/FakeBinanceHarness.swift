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

extension FakeBinanceServer {
    /// A server on a port below Linux's ephemeral range (32768 and up), for a test that stops it and starts another on
    /// the same port: no client connection of another test can take the port as its local one in between.
    package static func startOnStablePort(
        config: FakeBinanceConfig, port: Int? = nil
    ) async throws
        -> FakeBinanceServer
    {
        var lastError: (any Error)?
        for attempt in 0..<50 {
            do {
                return try await start(config: config, port: port ?? Int.random(in: 20_000..<32_000))
            } catch {
                lastError = error
                // The same port: give the previous server's socket a moment; a random one: try another.
                if port != nil { try await Task.sleep(for: .milliseconds(100 * (attempt + 1))) }
            }
        }
        throw lastError ?? CancellationError()
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
